"""Our parser on the Microsoft Learn JSON examples, which come without any expected output.

Expected numbers are counted from the files with the json module (``corpus.raw_tuples``), not
copied from what the parser returns. The only hard-coded numbers are the facts SOURCES.md
documents about each file (e.g. 2 records / 9 tuples for the v1 nested-records quirk), so that
a silently changed corpus file is noticed as well.
"""

from collections import Counter
from pathlib import Path
from typing import Any

from flowcdr.formats import ParseResult, parse_blob

from .corpus import (
    STATE_LETTERS,
    RawTuple,
    Row,
    envelope_records,
    identities,
    is_vnet,
    load_json,
    raw_tuples,
    rows,
)

DECISION_LETTERS = {"A": "allow", "D": "deny"}
DIRECTION_LETTERS = {"I": "inbound", "O": "outbound"}


def parse(corpus_dir: Path, name: str) -> tuple[Any, ParseResult]:
    """The file's JSON and our parse of its bytes (source named as in the corpus)."""
    path = corpus_dir / "msdocs" / name
    return load_json(path), parse_blob(path.read_bytes(), source=f"msdocs/{name}")


def all_tuples(records: list[Any]) -> list[RawTuple]:
    """Every tuple of ``records`` in file order."""
    return [t for record in records for t in raw_tuples(record)]


def assert_rows_follow_file(ours: list[Row], expected: list[RawTuple]) -> None:
    """One row per tuple, in file order, with its time, names, addresses and ports."""
    assert identities(ours) == [t.identity() for t in expected]
    assert [r["direction"] for r in ours] == [DIRECTION_LETTERS[t.fields[6]] for t in expected]


def states(expected: list[RawTuple]) -> list[str | None]:
    """Our state vocabulary for each tuple's letter (None for v1)."""
    return [None if t.state_letter is None else STATE_LETTERS[t.state_letter] for t in expected]


def test_nsg_v1_nested_records_quirk(corpus_dir: Path) -> None:
    """The nested ``{"records": [...]}`` element is skipped once, not parsed recursively.

    SOURCES.md: 2 real records (9 tuples), then an element holding 3 more records (12 tuples,
    2 repeating the first two); a recursive parser double-counts.
    """
    document, result = parse(corpus_dir, "nsg-flow-logs-overview_v1-example.json")
    elements = document["records"]
    real = [e for e in elements if "category" in e]
    nested = [e for e in elements if "records" in e]
    assert (len(real), len(nested)) == (2, 1)
    assert len(all_tuples(nested[0]["records"])) == 12, "the quirk this test is about is gone"
    expected = all_tuples(real)
    assert len(expected) == 9
    report = result.report
    assert (report.records, report.flows, report.skipped, report.rejected) == (2, 9, 1, 0)
    assert len(report.warnings()) == 1
    ours = rows(result)
    assert_rows_follow_file(ours, expected)
    assert [r["decision"] for r in ours] == [DECISION_LETTERS[t.fields[7]] for t in expected]
    v1_nulls = ("state", "encryption", "src_packets", "src_bytes", "dst_packets", "dst_bytes")
    assert {(r["log_type"], r["log_version"]) for r in ours} == {("nsg", 1)}
    assert {r[c] for r in ours for c in v1_nulls} == {None}


def test_nsg_v2_states_and_counters(corpus_dir: Path) -> None:
    """B/C/E map to begin/continue/end; B counters are empty in the file and NULL in ours."""
    document, result = parse(corpus_dir, "nsg-flow-logs-overview_v2-example.json")
    records = envelope_records(document)
    expected = all_tuples(records)
    assert (len(records), len(expected)) == (2, 11)
    report = result.report
    assert (report.records, report.flows, report.skipped, report.rejected) == (2, 11, 0, 0)
    ours = rows(result)
    assert_rows_follow_file(ours, expected)
    assert [r["state"] for r in ours] == states(expected)
    assert Counter(r["state"] for r in ours) == {"begin": 8, "continue": 1, "end": 2}
    assert [r["decision"] for r in ours] == [DECISION_LETTERS[t.fields[7]] for t in expected]
    counters = [[r["src_packets"], r["src_bytes"], r["dst_packets"], r["dst_bytes"]] for r in ours]
    assert counters == [t.counters for t in expected]
    assert all(
        c == [None] * 4 for c, r in zip(counters, ours, strict=True) if r["state"] == "begin"
    )
    assert {(r["log_type"], r["log_version"]) for r in ours} == {("nsg", 2)}


def test_vnet_v4_example(corpus_dir: Path) -> None:
    """VNet v4: state D is a denial, encryption kept verbatim, ACL ids from the file."""
    document, result = parse(corpus_dir, "vnet-flow-logs-overview_v4-example.json")
    records = envelope_records(document)
    expected = all_tuples(records)
    assert (len(records), len(expected)) == (1, 19)
    report = result.report
    assert (report.records, report.flows, report.skipped, report.rejected) == (1, 19, 0, 0)
    ours = rows(result)
    assert_rows_follow_file(ours, expected)
    assert [r["state"] for r in ours] == states(expected)
    assert Counter(r["state"] for r in ours) == {"begin": 5, "end": 5, "deny": 9}
    assert [r["decision"] for r in ours] == [
        "deny" if r["state"] == "deny" else "allow" for r in ours
    ]
    encryption = [t.fields[8] for t in expected]
    assert set(encryption) == {"NX"}
    assert [r["encryption"] for r in ours] == encryption
    assert [r["acl_id"] for r in ours] == [t.acl_id for t in expected]
    assert len({r["acl_id"] for r in ours}) == 2
    assert [r["protocol"] for r in ours] == [int(t.fields[5]) for t in expected]
    assert {(r["log_type"], r["log_version"]) for r in ours} == {("vnet", 4)}


def test_nsg_v1_blob_with_empty_rules(corpus_dir: Path) -> None:
    """Rules whose ``flows`` list is empty contribute no rows and are not an error."""
    document, result = parse(corpus_dir, "flow-logs-read_nsg-v1-blob.json")
    records = envelope_records(document)
    expected = all_tuples(records)
    rules = [rule for record in records for rule in record["properties"]["flows"]]
    empty = {rule["rule"] for rule in rules if not rule["flows"]}
    assert (len(records), len(expected), len(rules), len(empty)) == (1, 40, 4, 2)
    report = result.report
    assert (report.records, report.flows, report.skipped, report.rejected) == (1, 40, 0, 0)
    ours = rows(result)
    assert_rows_follow_file(ours, expected)
    assert {r["rule"] for r in ours} == {rule["rule"] for rule in rules} - empty
    assert {(r["log_version"], r["state"]) for r in ours} == {(1, None)}


def test_vnet_single_record_without_envelope(corpus_dir: Path) -> None:
    """A bare record (what one record block holds) parses like a one-record blob."""
    document, result = parse(corpus_dir, "flow-logs-read_vnet-single-record.json")
    assert "records" not in document
    assert is_vnet(document)
    expected = raw_tuples(document)
    assert len(expected) == 10
    assert {(t.fields[6], t.fields[7]) for t in expected} == {("I", "D")}
    report = result.report
    assert (report.records, report.flows, report.skipped, report.rejected) == (1, 10, 0, 0)
    ours = rows(result)
    assert_rows_follow_file(ours, expected)
    assert {(r["direction"], r["decision"], r["state"]) for r in ours} == {
        ("inbound", "deny", "deny")
    }
