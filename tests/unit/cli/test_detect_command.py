"""``flowcdr detect`` and ``flowcdr intel`` as a user runs them: real files, stdout, stderr
and exit status; one test runs a real process, the rest run the command in-process (an
interpreter start per call would cost more than the detection itself)."""

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from flowcdr.cli.main import main

from ..formats.builders import blob, nsg_record

SCANNER, HOST = "11.22.33.44", "10.0.1.4"
START = 1_767_571_200  # 2026-01-05T00:00:00Z


class Done:
    def __init__(self, returncode: int, stdout: str, stderr: str) -> None:
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


def flowcdr(*args: str) -> Done:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return Done(result.exit_code, result.stdout, result.stderr)


def process(*args: str) -> Done:
    done = subprocess.run(
        [sys.executable, "-m", "flowcdr", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    return Done(done.returncode, done.stdout, done.stderr)


@pytest.fixture
def scan_blob(tmp_path: Path) -> Path:
    """A scanner probing 40 ports of one VM in 20 seconds, all denied (NSG v2)."""
    tuples = [
        f"{START + i // 2},{SCANNER},{HOST},5{i:04d},{1000 + i},T,I,D,B,,,," for i in range(40)
    ]
    path = tmp_path / "PT1H.json"
    path.write_bytes(blob([nsg_record({"DefaultRule_DenyAllInBound": {"000D3AF87856": tuples}})]))
    return path


def test_detect_writes_findings_and_a_summary(scan_blob: Path) -> None:
    done = process("detect", str(scan_blob))
    assert done.returncode == 0, done.stderr
    findings = [json.loads(line) for line in done.stdout.splitlines()]
    scans = [f for f in findings if f["rule_id"] == "vertical_port_scan"]
    assert len(scans) == 1
    assert scans[0]["src_ip"] == SCANNER
    assert scans[0]["first_seen"] == "2026-01-05T00:00:00.000000Z"
    assert scans[0]["status"] == "open"
    assert done.stderr.splitlines()[-1].startswith(f"detected {len(findings)} findings")


def test_unusable_input_is_named_and_exits_2(scan_blob: Path, tmp_path: Path) -> None:
    junk = tmp_path / "junk.json"
    junk.write_text('{"hello": 1}')
    done = flowcdr("detect", str(scan_blob), str(junk), "-o", str(tmp_path / "out.ndjson"))
    assert done.returncode == 2
    assert str(junk) in done.stderr
    assert "vertical_port_scan" in (tmp_path / "out.ndjson").read_text()


def test_suppression_and_ocsf(scan_blob: Path, tmp_path: Path) -> None:
    config = tmp_path / "detect.toml"
    config.write_text(f'[[suppressions]]\ncidr = "{SCANNER}/32"\nrule = "vertical_port_scan"\n')
    done = flowcdr("detect", str(scan_blob), "--config", str(config), "--format", "ocsf")
    assert done.returncode == 0, done.stderr
    assert "vertical_port_scan" not in done.stdout
    assert "suppressed" in done.stderr.splitlines()[-1]
    shown = flowcdr("detect", str(scan_blob), "--format", "ocsf")
    finding = json.loads(shown.stdout.splitlines()[0])
    assert finding["class_uid"] == 2004
    assert finding["finding_info"]["analytic"]["uid"]


def test_bad_config_names_the_key(scan_blob: Path, tmp_path: Path) -> None:
    config = tmp_path / "detect.toml"
    config.write_text("[rules.vertical_port_scan]\nmin_ports = 'many'\n")
    done = flowcdr("detect", str(scan_blob), "--config", str(config))
    assert done.returncode == 1
    assert "min_ports" in done.stderr


def test_intel_check_and_update(tmp_path: Path) -> None:
    feed = tmp_path / "source.txt"
    feed.write_text("# a list\n11.9.9.9\n10.0.0.0/8\nnot-an-ip\n")
    checked = flowcdr("intel", "check", str(feed))
    assert checked.returncode == 0, checked.stderr
    assert "3 indicators -> 1 ranges" in checked.stdout
    assert "1 private or bogon" in checked.stdout
    target = tmp_path / "blocklist.txt"
    updated = flowcdr("intel", "update", feed.as_uri(), "-o", str(target))
    assert updated.returncode == 0, updated.stderr
    assert target.read_text() == feed.read_text()
    empty = tmp_path / "empty.txt"
    empty.write_text("10.0.0.0/8\n")
    refused = flowcdr("intel", "update", empty.as_uri(), "-o", str(target))
    assert refused.returncode == 1
    assert target.read_text() == feed.read_text()


def test_findings_carry_sample_flows(scan_blob: Path) -> None:
    done = flowcdr("detect", str(scan_blob))
    scan = next(
        json.loads(line) for line in done.stdout.splitlines() if "vertical_port_scan" in line
    )
    samples = scan["evidence"]["samples"]
    assert len(samples) == 3
    assert samples[0]["time"] == "2026-01-05T00:00:00.000000Z"
    assert {s["src_ip"] for s in samples} == {SCANNER}
    assert [s["dst_port"] for s in samples] == [1000, 1001, 1002]


def test_service_tags_make_azure_addresses_azure_public_and_a_bad_file_is_named(
    scan_blob: Path, tmp_path: Path
) -> None:
    tags = tmp_path / "ServiceTags_Public_20261123.json"
    prefixes = {"addressPrefixes": ["11.22.33.0/24", "2603:1000::/40"]}
    tags.write_text(json.dumps({"changeNumber": 9, "cloud": "Public", "values": [
        {"name": "AzureCloud.westeurope", "properties": prefixes},
    ]}))  # fmt: skip
    database = tmp_path / "flows.duckdb"
    done = flowcdr(
        "detect", str(scan_blob), "--service-tags", str(tags), "--database", str(database)
    )
    assert done.returncode == 0, done.stderr
    assert f"{tags}: Public cloud, change 9: 1 service tags, 2 prefixes in 2 ranges" in done.stderr
    with duckdb.connect(str(database), read_only=True) as db:
        assert db.execute("SELECT DISTINCT flow_type FROM flows").fetchall() == [("azure_public",)]
    bad = {"values": [{"name": "AzureCloud", "properties": {"addressPrefixes": ["x"]}}]}
    tags.write_text(json.dumps(bad))
    refused = flowcdr("detect", str(scan_blob), "--service-tags", str(tags))
    assert refused.returncode == 1
    assert f"{tags}: $.values[0].properties.addressPrefixes[0] (tag 'AzureCloud')" in refused.stderr
