"""The normalized flow schema: every column once, with its Arrow type.

One row per flow tuple, whatever the source format (NSG v1/v2, VNet v4). Every other stage
(store, detections, API, portal) takes column names from here.

Repeated strings are dictionary-encoded (``dictionary<int32, string>``): a blob repeats its
resource id, rule and MAC on every tuple, and a plain string column would be several times the
size of the blob itself. Columns whose values are a closed set of a few words use int8 indices.
Logically they are strings; DuckDB, Parquet and the writers treat them so.
"""

import pyarrow as pa

STRING = pa.dictionary(pa.int32(), pa.string())
CODE = pa.dictionary(pa.int8(), pa.string())
"""A string from a closed set of a few values (log_type, direction, decision, state)."""
TIME = pa.timestamp("us", tz="UTC")

FLOW_SCHEMA = pa.schema(
    [
        pa.field("time", TIME, nullable=False),
        pa.field("log_type", CODE, nullable=False),
        pa.field("log_version", pa.int8(), nullable=False),
        pa.field("subscription_id", STRING, nullable=False),
        pa.field("resource_group", STRING, nullable=False),
        pa.field("resource_id", STRING, nullable=False),
        pa.field("acl_id", STRING),
        pa.field("rule", STRING),
        pa.field("mac", STRING),
        pa.field("src_ip", STRING, nullable=False),
        pa.field("dst_ip", STRING, nullable=False),
        pa.field("src_port", pa.uint16(), nullable=False),
        pa.field("dst_port", pa.uint16(), nullable=False),
        pa.field("protocol", pa.uint8(), nullable=False),
        pa.field("direction", CODE, nullable=False),
        pa.field("decision", CODE, nullable=False),
        pa.field("state", CODE),
        pa.field("encryption", STRING),
        pa.field("src_packets", pa.uint64()),
        pa.field("src_bytes", pa.uint64()),
        pa.field("dst_packets", pa.uint64()),
        pa.field("dst_bytes", pa.uint64()),
    ]
)

COLUMNS: tuple[str, ...] = tuple(FLOW_SCHEMA.names)

# Added at ingest by flowcdr.enrich (design.md section 2): where each end is, what kind of flow
# it is, and a threat-intel match (the list's name) when there is one.
ENRICHMENT_FIELDS = (
    pa.field("src_scope", CODE, nullable=False),
    pa.field("dst_scope", CODE, nullable=False),
    pa.field("src_country", STRING),
    pa.field("dst_country", STRING),
    pa.field("flow_type", CODE, nullable=False),
    pa.field("intel_match", STRING),
)
ENRICHED_SCHEMA = pa.schema([*FLOW_SCHEMA, *ENRICHMENT_FIELDS])

# Stamped by the gateway when it admits a batch.
STAMP_FIELDS = (
    pa.field("tenant_id", STRING, nullable=False),
    pa.field("connector_id", STRING),
    pa.field("ingested_at", TIME, nullable=False),
)
STORED_SCHEMA = pa.schema([*ENRICHED_SCHEMA, *STAMP_FIELDS])

LOG_TYPES = ("nsg", "vnet")
DIRECTIONS = ("inbound", "outbound")
DECISIONS = ("allow", "deny")
STATES = ("begin", "continue", "end", "deny")
SCOPES = ("private", "public", "azure_platform", "loopback", "link_local", "multicast", "reserved")
FLOW_TYPES = ("intra_vnet", "azure_public", "external_public", "malicious", "unknown")

CLOSED_VALUES: dict[str, tuple[str, ...]] = {
    "log_type": LOG_TYPES,
    "direction": DIRECTIONS,
    "decision": DECISIONS,
    "state": STATES,
    "src_scope": SCOPES,
    "dst_scope": SCOPES,
    "flow_type": FLOW_TYPES,
}
"""Columns whose values are a closed set (int8 dictionaries in Arrow, ENUMs in DuckDB)."""
