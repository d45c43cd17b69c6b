"""``flowcdr parse`` as a user runs it: a real process, real files, stdout, stderr and status."""

import json
import subprocess
import sys
from pathlib import Path

import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest

from flowcdr.formats import FLOW_SCHEMA

from ..formats.builders import blob, nsg_record, vnet_record

GOOD = "1542110379,10.5.16.4,13.67.143.117,59932,443,T,O,A,E,1,66,1,66"
BAD = "1542110379,10.5.16.4,13.67.143.117,59932,99999,T,O,A,E,1,66,1,66"
VNET = "1663146003599,10.0.0.6,52.239.184.180,23956,443,6,O,B,NX,0,0,0,0"


def run(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "flowcdr", "parse", *args],
        input=stdin,
        capture_output=True,
        check=False,
        timeout=120,
    )


@pytest.fixture
def container(tmp_path: Path) -> Path:
    """A downloaded container: nested hour folders of PT1H.json blobs."""
    root = tmp_path / "insights-logs-networksecuritygroupflowevent"
    first = root / "resourceId=/X/y=2026/m=11/d=27/h=10/m=00/macAddress=000D3AF87856"
    second = root / "resourceId=/X/y=2026/m=11/d=27/h=11/m=00/macAddress=000D3AF87856"
    for folder in (first, second):
        folder.mkdir(parents=True)
    (first / "PT1H.json").write_bytes(blob([nsg_record({"r": {"000D3AF87856": [GOOD, BAD]}})]))
    (second / "PT1H.json").write_bytes(blob([vnet_record({"a": {"r": [VNET]}})]))
    (second / "notes.txt").write_text("not a blob")
    return root


def test_directory_to_ndjson_on_stdout(container: Path) -> None:
    done = run(str(container))
    assert done.returncode == 0
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [row["log_type"] for row in lines] == ["nsg", "vnet"]
    assert list(lines[0]) == list(FLOW_SCHEMA.names)
    assert lines[0]["time"] == "2018-11-13T11:59:39.000000Z"
    assert lines[1]["time"] == "2022-09-14T09:00:03.599000Z"
    stderr = done.stderr.decode().splitlines()
    assert "dst_port '99999' rejected" in stderr[0]
    assert stderr[-1] == (
        "parsed 2 flows from 2 records in 2 files; rejected 1 tuples; skipped 0 records"
    )


def test_format_from_extension_csv_and_parquet(container: Path, tmp_path: Path) -> None:
    csv_out, parquet_out = tmp_path / "flows.csv", tmp_path / "flows.parquet"
    assert run(str(container), "-o", str(csv_out)).returncode == 0
    table = pcsv.read_csv(csv_out)
    assert table.column_names == list(FLOW_SCHEMA.names)
    assert table.column("dst_port").to_pylist() == [443, 443]
    assert table.column("time").to_pylist()[0].isoformat() == "2018-11-13T11:59:39+00:00"
    assert run(str(container), "-o", str(parquet_out)).returncode == 0
    stored = pq.read_table(parquet_out)
    assert stored.schema.equals(FLOW_SCHEMA)
    assert stored.num_rows == 2


def test_explicit_format_wins_and_unknown_extension_is_a_usage_error(tmp_path: Path) -> None:
    data = blob([nsg_record({"r": {"000D3AF87856": [GOOD]}})])
    out = tmp_path / "flows.out"
    assert run("-", "-o", str(out), "--format", "csv", stdin=data).returncode == 0
    assert out.read_text().startswith('"time","log_type"')
    refused = run("-", "-o", str(tmp_path / "flows.xyz"), stdin=data)
    assert refused.returncode == 2
    assert b"--format" in refused.stderr
    assert b"Traceback" not in refused.stderr


def test_bad_inputs_exit_2_but_good_ones_are_written(tmp_path: Path, container: Path) -> None:
    other = tmp_path / "other.json"
    other.write_text('{"records": [{"category": "NetworkSecurityGroupEvent"}]}')
    done = run(str(tmp_path / "missing.json"), str(other), str(container))
    assert done.returncode == 2
    stderr = done.stderr.decode()
    assert f"{tmp_path / 'missing.json'}: cannot read: No such file or directory" in stderr
    assert f"{other}: not a flow log" in stderr
    assert "Traceback" not in stderr
    assert len(done.stdout.splitlines()) == 2
    assert stderr.splitlines()[-1].startswith("parsed 2 flows from 2 records in 2 files")


def test_cut_input_from_stdin_warns_and_succeeds() -> None:
    whole = blob([nsg_record({"r": {"000D3AF87856": [GOOD]}})] * 2)
    done = run("-", stdin=whole[:-30])
    assert done.returncode == 0
    assert len(done.stdout.splitlines()) == 1
    assert b"<stdin>: input ends inside a record (cut)" in done.stderr
