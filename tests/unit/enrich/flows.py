"""Realistic enrich input: small blobs through the real parser."""

import pyarrow as pa

from flowcdr.formats import parse_blob
from tests.unit.formats.builders import blob, nsg_record, vnet_record

MAC = "000D3AF87856"


def nsg_tuple(src: str, dst: str, second: int = 1542110379) -> str:
    return f"{second},{src},{dst},59932,443,T,O,A,E,1,66,1,66"


def flows(pairs: list[tuple[str, str]]) -> pa.Table:
    """An NSG v2 table with one row per (src, dst) pair, in the order given."""
    tuples = [nsg_tuple(src, dst, 1542110379 + i) for i, (src, dst) in enumerate(pairs)]
    return parse_blob(blob([nsg_record({"rule": {MAC: tuples}})]), source="test").table


def vnet_flows(pairs: list[tuple[str, str]]) -> pa.Table:
    tuples = [f"1663146003599,{s},{d},23956,443,6,O,B,NX,0,0,0,0" for s, d in pairs]
    return parse_blob(blob([vnet_record({"acl": {"rule": tuples}})]), source="test").table
