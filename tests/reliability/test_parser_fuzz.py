"""Hostile flow-log input to the parser: structure-aware (hypothesis) and coverage-guided bytes.

``tests/unit/formats/test_properties.py`` already feeds arbitrary and lightly mutated bytes.
Here the generator knows the shape of a record and breaks it where a parser tends to trust it:
any field replaced by any JSON value, removed, or nested; tuples with the right number of
commas but hostile fields. Then atheris (libFuzzer) mutates bytes, guided by the branches of
``flowcdr.formats`` it reaches, from seeds that are valid blobs. Either way the only allowed
outcomes are a result whose report agrees with its table, or ``FormatError``.
"""

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowcdr.formats import FLOW_SCHEMA, FormatError, parse_blob

from ..unit.formats.builders import blob, fragment, nsg_record, pretty, vnet_record

# Bounds of the coverage-guided run in CI: whichever comes first.
FUZZ_RUNS = 40_000
FUZZ_SECONDS = 60
FUZZ_TIMEOUT_SECONDS = 5  # one input taking longer is a hang, reported as a crash
FUZZ_RSS_MB = 2048  # libFuzzer's own memory bound: exceeding it is a crash too
CHILD_SECONDS = FUZZ_SECONDS + 120  # start-up and the final corpus merge on a busy machine

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False),
    st.text(max_size=20),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
# Fields a tuple parser may trust: numbers at their limits, addresses, flags, text.
tuple_fields = st.one_of(
    st.sampled_from(["", "-1", "0", "65536", "18446744073709551616", "9" * 30, "1e9", "0x10"]),
    st.sampled_from(["10.0.0.1", "::1", "::ffff:1.2.3.4", "1.2.3.256", "fe80::1%eth0", "a.b.c.d"]),
    st.sampled_from([*"TUIOADBCEX", "NX", "6", "17", "\u00e9", "\x00"]),
    st.text(max_size=6).filter(lambda text: "," not in text),
    st.integers(0, 2**40).map(str),
)
tuples = st.lists(tuple_fields, min_size=1, max_size=16).map(",".join)
GOOD_NSG = "1542110379,10.5.16.4,13.67.143.117,59932,443,T,O,A,E,1,66,1,66"
GOOD_VNET = "1663146003599,10.0.0.6,52.239.184.180,23956,443,6,O,B,NX,0,0,0,0"


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value inside nested dicts and lists."""
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += paths(item, (*prefix, index))
    return found


def replace(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[head] = replace(value[head], rest, new)
    return copy


def remove(value: Any, path: tuple[Any, ...]) -> Any:
    head, rest = path[0], path[1:]
    copy = dict(value) if isinstance(value, dict) else list(value)
    if rest:
        copy[head] = remove(value[head], rest)
    elif isinstance(copy, dict):
        del copy[head]
    else:
        copy.pop(head)
    return copy


@st.composite
def broken_records(draw: st.DrawFn) -> dict[str, Any]:
    """A valid NSG or VNet record with a few of its parts replaced, removed or made hostile."""
    rows = draw(st.lists(st.one_of(tuples, st.just(GOOD_NSG), st.just(GOOD_VNET)), max_size=4))
    record: dict[str, Any] = draw(
        st.sampled_from(
            [
                nsg_record({"r": {"000D3AF87856": [GOOD_NSG, *rows]}}),
                nsg_record({"r": {"000D3AF87856": [GOOD_NSG, *rows]}}, version=1),
                vnet_record({"a": {"r": [GOOD_VNET, *rows]}}),
                vnet_record({"a": {"r": [GOOD_VNET, *rows]}}, target=None),
            ]
        )
    )
    for _ in range(draw(st.integers(0, 3))):
        where = draw(st.sampled_from(paths(record)[1:]))
        if draw(st.booleans()):
            record = replace(record, where, draw(json_values))
        else:
            record = remove(record, where)
    return record


def survives(data: bytes) -> None:
    try:
        result = parse_blob(data, source="hostile")
    except FormatError as error:
        message = str(error)
    else:
        message = ""
    if message:
        assert "hostile" in message  # the error names the input
        return
    assert result.table.schema.equals(FLOW_SCHEMA)
    assert result.report.flows == result.table.num_rows
    assert result.report.records >= 0
    assert result.report.rejected >= 0


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(broken_records(), min_size=1, max_size=3), st.sampled_from([blob, pretty, fragment])
)
def test_broken_records_parse_or_raise_format_error(
    records: list[dict[str, Any]], shape: Any
) -> None:
    survives(shape(records))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(json_values)
def test_any_json_document_parses_or_raises_format_error(document: Any) -> None:
    survives(json.dumps(document).encode())
    survives(json.dumps({"records": document}).encode())


def test_deeply_nested_json_is_a_format_error() -> None:
    for depth in (1_000, 100_000):
        for shape in (b"[" * depth + b"]" * depth, b'{"records":' + b"[" * depth):
            survives(shape)


def test_a_10_mb_tuple_string_is_rejected_not_fatal() -> None:
    huge = "1542110379," + "9" * (10 << 20)
    result = parse_blob(blob([nsg_record({"r": {"000D3AF87856": [GOOD_NSG, huge]}})]))
    assert (result.report.flows, result.report.rejected) == (1, 1)
    assert result.table.column("src_ip").to_pylist() == ["10.5.16.4"]


def seeds(folder: Path) -> None:
    """Valid blobs of each format, a fragment and a cut blob: where mutation starts."""
    nsg = nsg_record({"r": {"000D3AF87856": [GOOD_NSG, GOOD_NSG.replace(",T,", ",U,")]}})
    vnet = vnet_record({"a": {"r": [GOOD_VNET]}})
    samples = {
        "nsg2": blob([nsg]),
        "nsg1": blob([nsg_record({"r": {"m": [GOOD_NSG[:-12]]}}, version=1)]),
        "vnet": blob([vnet]),
        "mixed-pretty": pretty([nsg, vnet]),
        "fragment": fragment([nsg, vnet]),
        "cut": blob([nsg, vnet])[:-40],
    }
    folder.mkdir()
    for name, data in samples.items():
        (folder / name).write_bytes(data)


def test_coverage_guided_byte_fuzzing_finds_no_crash(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    seeds(corpus)
    tokens = ["records", "flowTuples", "flows", "flowGroups", "flowRecords", "properties",
              "Version", "category", "NetworkSecurityGroupFlowEvent", "FlowLogFlowEvent",
              "flowLogVersion", "macAddress", "rule", "aclID", "time", "resourceId"]  # fmt: skip
    dictionary = tmp_path / "json.dict"
    dictionary.write_text("".join(f'"\\"{token}\\""\n' for token in tokens) + '"],["\n"},{"\n')
    command = [
        sys.executable,
        str(Path(__file__).with_name("fuzz_parser.py")),
        f"-runs={FUZZ_RUNS}",
        f"-max_total_time={FUZZ_SECONDS}",
        f"-timeout={FUZZ_TIMEOUT_SECONDS}",
        f"-rss_limit_mb={FUZZ_RSS_MB}",
        "-max_len=16384",
        f"-dict={dictionary}",
        f"-artifact_prefix={tmp_path}/",
        str(corpus),
    ]
    run = subprocess.run(
        command, capture_output=True, text=True, timeout=CHILD_SECONDS, check=False
    )
    log = run.stdout + run.stderr
    assert run.returncode == 0, log[-4000:]
    done = re.search(r"Done (\d+) runs in (\d+) second", log)
    assert done, log[-2000:]
    coverage = re.findall(r"cov: (\d+)", log)
    print(f"atheris: {done.group(1)} inputs in {done.group(2)} s, {coverage[-1]} edges covered")
    assert int(done.group(1)) >= 1_000  # it really fuzzed, not just started
    assert not list(tmp_path.glob("crash-*"))
    assert not list(tmp_path.glob("timeout-*"))
