"""The text writers: exact ISO times and JSON that round-trips any string."""

import datetime as dt
import io
import json

import pyarrow as pa

from flowcdr.cli.flowfile import NdjsonFlowWriter, iso_times
from flowcdr.formats import parse_blob

from ..formats.builders import blob, nsg_record

TUPLE = "1542110379,10.5.16.4,13.67.143.117,59932,443,T,O,A,E,1,66,1,66"


def test_iso_times_fast_and_general_paths_agree() -> None:
    moments = [
        dt.datetime(2018, 11, 13, 11, 59, 39, tzinfo=dt.UTC),
        dt.datetime(2026, 2, 28, 23, 59, 59, 999999, tzinfo=dt.UTC),
    ]
    times = pa.array(moments, pa.timestamp("us", tz="UTC"))
    expected = ["2018-11-13T11:59:39.000000Z", "2026-02-28T23:59:59.999999Z"]
    assert iso_times(times).to_pylist() == expected
    assert iso_times(times, quote='"').to_pylist() == [f'"{e}"' for e in expected]
    with_null = pa.array([*moments, None], pa.timestamp("us", tz="UTC"))
    assert iso_times(with_null).to_pylist() == [*expected, None]


def test_ndjson_round_trips_strings_that_need_escaping() -> None:
    rules = {'Allow "web"': [TUPLE], "back\\slash\ttab\u00e9": [TUPLE], "plain": [TUPLE]}
    record = nsg_record({})
    record["properties"]["flows"] = [
        {"rule": rule, "flows": [{"mac": "000D3AF87856", "flowTuples": tuples}]}
        for rule, tuples in rules.items()
    ]
    table = parse_blob(blob([record])).table
    out = io.BytesIO()
    NdjsonFlowWriter(out).write(table)
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [row["rule"] for row in rows] == list(rules)
    assert rows[0]["time"] == "2018-11-13T11:59:39.000000Z"
    assert rows[0]["src_bytes"] == 66
    assert rows[0]["acl_id"] is None
