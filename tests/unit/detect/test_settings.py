"""Detection settings: tunables checked against their types, suppressions as data."""

import datetime as dt
from pathlib import Path

import pytest

import flowcdr.detections
from flowcdr.detect.catalogue import load_rules
from flowcdr.detect.finding import FindingBook
from flowcdr.detect.settings import DetectSettings, SettingsError, Suppression

from .test_finding import RULE, hit

RULES = load_rules(flowcdr.detections)
NOW = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "detect.toml"
    path.write_text(text)
    return path


def test_tunables_and_switches(tmp_path: Path) -> None:
    settings = DetectSettings.read(
        write(tmp_path, "[rules.vertical_port_scan]\nmin_ports = 40\nsensitive_ports = [22]\n")
    )
    enabled = settings.enabled(RULES)
    assert enabled["vertical_port_scan"]["min_ports"] == 40
    assert enabled["vertical_port_scan"]["sensitive_ports"] == (22,)
    off = DetectSettings.read(write(tmp_path, "[rules.vertical_port_scan]\nenabled = false\n"))
    assert "vertical_port_scan" not in off.enabled(RULES)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[rules.nope]\nenabled = true\n", "unknown rules: nope"),
        ("[rules.vertical_port_scan]\nmin_portz = 3\n", "no tunable 'min_portz'"),
        ("[rules.vertical_port_scan]\nmin_ports = 2.5\n", "expected an integer"),
        ("[[suppressions]]\ncidr = 'ten'\n", "suppressions.0.cidr"),
        ("surprise = 1\n", "surprise"),
    ],
)
def test_bad_settings_name_what_is_wrong(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        DetectSettings.read(write(tmp_path, text)).enabled(RULES)


def test_suppression_matches_every_given_field_until_it_expires() -> None:
    book = FindingBook({RULE.id: RULE}, "t1")
    book.add([hit(0)])
    finding = next(book.findings())
    assert Suppression(cidr="11.1.0.0/16", rule=RULE.id).covers(finding, NOW)
    assert Suppression(cidr="10.0.0.0/24").covers(finding, NOW)  # either end
    assert not Suppression(cidr="11.1.0.0/16", rule="other").covers(finding, NOW)
    assert not Suppression(port=22).covers(finding, NOW)
    expired = Suppression(cidr="11.1.1.1/32", expires=NOW - dt.timedelta(days=1))
    assert not expired.covers(finding, NOW)
    assert DetectSettings(suppressions=(expired,)).suppression_for(finding, NOW) is None
