"""Hits become findings: a run of windows with the same key is one finding that grows."""

import datetime as dt
from dataclasses import replace

import pytest

import flowcdr.detections
from flowcdr.detect.catalogue import load_rules
from flowcdr.detect.export import export_line, to_ecs, to_ocsf
from flowcdr.detect.finding import FindingBook, Hit, extend

RULE = load_rules(flowcdr.detections)["vertical_port_scan"]
T0 = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)
MINUTE = dt.timedelta(minutes=1)


def hit(minute: int, src: str = "11.1.1.1", flows: int = 30, severity: str = "low") -> Hit:
    start = T0 + minute * MINUTE
    return Hit(
        rule_id=RULE.id, bucket=start, bucket_end=start + MINUTE, key=(src, "10.0.0.4"),
        src_ip=src, dst_ip="10.0.0.4", dst_port=None, protocol=6, resource_id="r",
        subscription_id="s", first_seen=start, last_seen=start + 50 * dt.timedelta(seconds=1),
        flow_count=flows, bytes=None, severity=severity,  # type: ignore[arg-type]
        evidence={"probed_ports": flows},
    )  # fmt: skip


def test_consecutive_windows_extend_one_finding_and_a_gap_opens_another() -> None:
    book = FindingBook({RULE.id: RULE}, "t1")
    book.add([hit(0), hit(1), hit(2, severity="medium"), hit(200)])
    first, second = book.findings()
    assert (first.windows, first.flow_count, first.severity) == (3, 90, "medium")
    assert first.last_seen == T0 + 2 * MINUTE + dt.timedelta(seconds=50)
    assert second.first_seen == T0 + 200 * MINUTE
    assert first.id != second.id
    assert first.dedup_key == second.dedup_key


def test_a_window_added_again_replaces_its_hit_and_order_does_not_matter() -> None:
    one = FindingBook({RULE.id: RULE}, "t1")
    one.add([hit(0, flows=30), hit(1)])
    one.add([hit(0, flows=45)])
    other = FindingBook({RULE.id: RULE}, "t1")
    other.add([hit(1), hit(0, flows=45)])
    assert list(one.findings()) == list(other.findings())
    assert next(one.findings()).flow_count == 75


def test_ids_are_stable_and_differ_by_tenant() -> None:
    ids = set()
    for tenant in ("t1", "t1", "t2"):
        book = FindingBook({RULE.id: RULE}, tenant)
        book.add([hit(0)])
        ids.add(next(book.findings()).id)
    assert len(ids) == 2


def test_extend_folds_a_refiring_finding_into_the_open_one() -> None:
    book = FindingBook({RULE.id: RULE}, "t1")
    book.add([hit(0)])
    older = replace(next(book.findings()), status="acknowledged")
    later = FindingBook({RULE.id: RULE}, "t1")
    later.add([hit(500, severity="high")])
    newer = next(later.findings())
    merged = extend(older, newer)
    assert (merged.id, merged.status, merged.severity) == (older.id, "acknowledged", "high")
    assert (merged.first_seen, merged.last_seen) == (older.first_seen, newer.last_seen)
    assert merged.flow_count == 60
    other = FindingBook({RULE.id: RULE}, "t1")
    other.add([hit(0, src="11.9.9.9")])
    with pytest.raises(ValueError, match="same dedup key"):
        extend(older, next(other.findings()))


def test_exports_carry_the_contract_fields() -> None:
    book = FindingBook({RULE.id: RULE}, "t1")
    book.add([hit(0)])
    finding = next(book.findings())
    line = export_line(finding, "ndjson")
    assert '"first_seen":"2026-01-05T00:00:00.000000Z"' in line
    ocsf = to_ocsf(finding)
    assert ocsf["finding_info"]["attacks"][0] == {"tactic": {"uid": "TA0043"}}
    assert ocsf["severity_id"] == 2
    ecs = to_ecs(finding)
    assert ecs["threat"]["technique"]["id"] == ["T1595.001", "T1046"]
    assert ecs["source"]["ip"] == "11.1.1.1"
