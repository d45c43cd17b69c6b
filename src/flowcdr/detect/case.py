"""Test cases beside each rule: a few flows written as one line each, and what should fire.

Every rule carries at least one positive and one negative case (a benign look-alike, the
confounder the false-positive notes warn about); the test suite runs them all through the real
engine on DuckDB. Times are offsets in seconds from ``CASE_START``, so a case reads like a
timeline. Addresses: public peers are drawn from ranges that are public but obviously made up
(``11.0.0.0/8``, ``22.0.0.0/8``...). RFC 5737 documentation ranges would be classified as
``reserved`` by enrichment, and rules about the internet would rightly ignore them.
"""

import datetime as dt
import ipaddress
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

import pyarrow as pa

from flowcdr.formats import FLOW_SCHEMA

CASE_START = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)
CASE_SUBSCRIPTION = "00000000-0000-0000-0000-00000000c0de"
CASE_RESOURCE = (
    f"/subscriptions/{CASE_SUBSCRIPTION}/resourcegroups/rg-case"
    "/providers/microsoft.network/networksecuritygroups/nsg-case"
)
CASE_INTEL_LIST = "case-intel"


class CaseFlow(NamedTuple):
    """One flow tuple; ``direction`` defaults to inbound when the destination is private."""

    at: float
    src: str
    dst: str
    dst_port: int
    src_port: int = 50000
    protocol: int = 6
    decision: Literal["allow", "deny"] = "allow"
    state: Literal["begin", "continue", "end", "deny"] | None = "end"
    src_packets: int | None = 10
    src_bytes: int | None = 1200
    dst_packets: int | None = 8
    dst_bytes: int | None = 3000
    rule: str = "UserRule_Case"
    direction: Literal["inbound", "outbound"] | None = None
    encryption: str | None = None
    resource_id: str = CASE_RESOURCE


def denied(at: float, src: str, dst: str, dst_port: int, src_port: int = 50000) -> CaseFlow:
    """A flow the NSG dropped: state deny, no counters, as both formats log it."""
    return CaseFlow(
        at, src, dst, dst_port, src_port, decision="deny", state="deny", src_packets=None,
        src_bytes=None, dst_packets=None, dst_bytes=None, rule="DefaultRule_DenyAllInBound",
    )  # fmt: skip


@dataclass(frozen=True)
class Case:
    """Flows in, how many findings out; ``check`` holds fields the first finding must have.

    ``intel`` lists addresses loaded as a threat-intel list named ``intel_list``.
    """

    name: str
    flows: tuple[CaseFlow, ...]
    expect: int
    check: dict[str, object] = field(default_factory=dict)
    intel: tuple[str, ...] = ()
    intel_list: str = CASE_INTEL_LIST

    def table(self) -> pa.Table:
        """The flows as a ``FLOW_SCHEMA`` table, as the parser would have produced them."""
        rows = [_row(flow) for flow in self.flows]
        columns = {name: [row[name] for row in rows] for name in FLOW_SCHEMA.names}
        arrays = []
        for schema_field in FLOW_SCHEMA:
            values = columns[schema_field.name]
            kind = schema_field.type
            if pa.types.is_dictionary(kind):
                encoded = pa.array(values, pa.string()).dictionary_encode()
                indices = encoded.indices.cast(kind.index_type)
                arrays.append(pa.DictionaryArray.from_arrays(indices, encoded.dictionary))
            else:
                arrays.append(pa.array(values, kind))
        return pa.Table.from_arrays(arrays, schema=FLOW_SCHEMA)


def _row(flow: CaseFlow) -> dict[str, object]:
    direction = flow.direction
    if direction is None:
        direction = "inbound" if ipaddress.ip_address(flow.dst).is_private else "outbound"
    return {
        "time": CASE_START + dt.timedelta(seconds=flow.at),
        "log_type": "vnet" if flow.encryption else "nsg",
        "log_version": 4 if flow.encryption else 2,
        "subscription_id": CASE_SUBSCRIPTION,
        "resource_group": "rg-case",
        "resource_id": flow.resource_id,
        "acl_id": None,
        "rule": flow.rule,
        "mac": "000D3A000001",
        "src_ip": flow.src,
        "dst_ip": flow.dst,
        "src_port": flow.src_port,
        "dst_port": flow.dst_port,
        "protocol": flow.protocol,
        "direction": direction,
        "decision": flow.decision,
        "state": flow.state,
        "encryption": flow.encryption,
        "src_packets": flow.src_packets,
        "src_bytes": flow.src_bytes,
        "dst_packets": flow.dst_packets,
        "dst_bytes": flow.dst_bytes,
    }
