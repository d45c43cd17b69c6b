"""``flowcdr simulate`` as a user runs it: files written, and bad input refused by option name."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from flowcdr.cli.main import main
from flowcdr.formats import parse_blob

SMALL = ["--hours", "1", "--vms", "5", "--start", "2026-11-19T10:00:00Z"]


def simulate(*args: str):
    return CliRunner().invoke(main, ["simulate", *args], catch_exceptions=False)


def test_a_small_run_writes_blobs_labels_and_feed(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = simulate("--out", str(out), *SMALL, "--format", "nsg", "--scenarios", "tor,dos")
    assert result.exit_code == 0, result.output
    assert "simulated" in result.output
    assert [p.name for p in out.iterdir() if p.is_dir()] == [
        "insights-logs-networksecuritygroupflowevent"
    ]
    blobs = list(out.rglob("PT1H.json"))
    assert blobs
    assert all(parse_blob(p.read_bytes()).report.rejected == 0 for p in blobs)
    labels = [json.loads(line) for line in (out / "labels.jsonl").read_text().splitlines()]
    assert [label["scenario"] for label in labels] == ["tor", "dos"]
    relays = (out / "tor-labels-intel.txt").read_text()  # Tor's relays: a list of their own
    assert all(relay in relays for relay in labels[0]["attackers"])


def test_labels_elsewhere_take_the_feed_with_them(tmp_path: Path) -> None:
    labels = tmp_path / "truth" / "run1.jsonl"
    args = ("--out", str(tmp_path / "out"), *SMALL, "--scenarios", "none", "--labels", str(labels))
    result = simulate(*args)
    assert result.exit_code == 0, result.output
    assert labels.read_text() == ""
    assert (tmp_path / "truth" / "run1-intel.txt").exists()


def test_live_mode_into_a_folder_leaves_whole_blobs(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = simulate("--out", str(out), *SMALL, "--scenarios", "none", "--live", "--speed", "1e6")
    assert result.exit_code == 0, result.output
    blobs = list(out.rglob("PT1H.json"))
    assert len(blobs) == 2 * 5  # two formats, one hour, 5 NICs
    for path in blobs:
        assert json.loads(path.read_bytes())["records"]


@pytest.mark.parametrize(
    ("args", "option", "says"),
    [
        (["--scenarios", "tor,nope"], "--scenarios", "unknown scenario 'nope'"),
        (["--scenarios", ","], "--scenarios", "use all, none, or names from"),
        (["--start", "yesterday"], "--start", "not an ISO 8601 time"),
        (["--start", "1970-01-01T00:00:00Z"], "--start", "outside 2000..2099"),
        (["--speed", "2"], "--speed", "only applies with --live"),
        (["--live", "--speed", "0"], "--speed", "0"),
        (["--vms", "2"], "--vms", "5<=x<=5000"),
        (["--hours", "0"], "--hours", "1<=x<=744"),
        (["--format", "v1"], "--format", "'v1' is not one of"),
        (["--azure", "garbage"], "--azure", "not a storage connection string"),
    ],
)
def test_bad_input_is_refused_naming_the_option(
    tmp_path: Path, args: list[str], option: str, says: str
) -> None:
    result = simulate("--out", str(tmp_path / "out"), *args)
    assert result.exit_code == 2
    assert option in result.output
    assert says in result.output
    assert not (tmp_path / "out").exists()
