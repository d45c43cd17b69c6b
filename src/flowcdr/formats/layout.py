"""Tuple layouts: which field of a flow tuple means what, per flow-log version.

NSG v1 tuples have 8 comma-separated fields, NSG v2 and VNet v4 have 13 but in a different
order and with different codes (see research/formats.md). Both tuple parsers (the per-tuple
reference and the columnar fast path) read their field names and letter codes from here.
"""

import enum

from flowcdr.formats.schema import DECISIONS, DIRECTIONS, STATES


class Layout(enum.IntEnum):
    NSG_V1 = 1
    NSG_V2 = 2
    VNET_V4 = 4

    @property
    def log_type(self) -> str:
        return "vnet" if self is Layout.VNET_V4 else "nsg"

    @property
    def fields(self) -> tuple[str, ...]:
        return _FIELDS[self]


_COUNTERS = ("src_packets", "src_bytes", "dst_packets", "dst_bytes")
_ADDRESSES = ("time", "src_ip", "dst_ip", "src_port", "dst_port", "protocol", "direction")
_NSG_V1 = (*_ADDRESSES, "decision")
_FIELDS = {
    Layout.NSG_V1: _NSG_V1,
    Layout.NSG_V2: (*_NSG_V1, "state", *_COUNTERS),
    Layout.VNET_V4: (*_ADDRESSES, "state", "encryption", *_COUNTERS),
}

# Letter codes -> index into the schema's value lists (schema.DIRECTIONS, ...).
NSG_PROTOCOLS = {"T": 6, "U": 17}
DIRECTION_CODES = {"I": DIRECTIONS.index("inbound"), "O": DIRECTIONS.index("outbound")}
DECISION_CODES = {"A": DECISIONS.index("allow"), "D": DECISIONS.index("deny")}
NSG_STATE_CODES = {
    "B": STATES.index("begin"),
    "C": STATES.index("continue"),
    "E": STATES.index("end"),
}
VNET_STATE_CODES = {**NSG_STATE_CODES, "D": STATES.index("deny")}
ALLOW = DECISIONS.index("allow")
DENY = DECISIONS.index("deny")
VNET_DENY_STATE = VNET_STATE_CODES["D"]
