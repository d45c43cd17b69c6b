"""Faults of the running gateway (loopback only, bounded): what is acknowledged is never lost.

- Killed (SIGKILL) while detection runs: after a restart the scan has exactly one finding.
- Disk full (the data dir on a small tmpfs, or the gateway's file-size limit lowered where a
  tmpfs cannot be mounted): ingest answers 507, never 500, a merge that finds no room is one
  line of log naming the file, and after space is freed and the gateway restarted every
  acknowledged batch is present once.
- The DuckDB file locked by another process: ``flowcdr serve`` exits with a message naming the
  file, not a traceback.
- Late data: flows two hours old, arriving after current ones, still open a finding.

The kill during ingest is ``tests/integration/test_ingest_crash.py``.
"""

import contextlib
import gzip
import resource
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from ..integration.server import COMMAND_SECONDS, DIRECT, Gateway, call, start
from ..unit.formats.builders import blob, nsg_record
from .conftest import launched, sign_in, subscription

DETECT = {"detect_interval_seconds": "1"}
FINDING_SECONDS = 60.0
SCANNER = "11.22.33.44"
BATCH = 20_000  # flows per batch in the disk-full test
# Where tmpfs cannot be mounted: no file of the gateway may grow past this, which a batch's
# journal file (about 2 MiB) and a merge's write-ahead log exceed, and the log does not.
FSIZE_LIMIT = 1 << 20


def scan(at: int, scanner: str = SCANNER, host: str = "10.0.1.4") -> bytes:
    """40 denied probes of one VM from an internet address within 20 s: a vertical port scan.

    They start on the minute before ``at``: the rule counts ports per minute, and a scan
    straddling two minutes could count too few in each."""
    at -= at % 60
    tuples = [f"{at + i // 2},{scanner},{host},50000,{1000 + i},T,I,D,B,,,," for i in range(40)]
    return blob([nsg_record({"deny-all": {"000D3AF87856": tuples}})])


def ingest(gateway: Gateway, token: str, key: str, body: bytes) -> int:
    request = urllib.request.Request(
        gateway.base_url + "/cdr/v1/ingest",
        method="POST",
        data=gzip.compress(body),
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Encoding": "gzip",
            "Idempotency-Key": key,
        },
    )
    try:
        with DIRECT.open(request, timeout=COMMAND_SECONDS) as response:
            status: int = response.status
    except urllib.error.HTTPError as error:
        with error:
            status = error.code
    return status


def findings(
    gateway: Gateway, token: str, rule: str = "vertical_port_scan"
) -> list[dict[str, Any]]:
    status, body = call(gateway, "GET", f"/cdr/v1/findings?rule={rule}", token)
    assert status == 200, body
    items: list[dict[str, Any]] = body["items"]
    return items


def wait_for_findings(gateway: Gateway, token: str, count: int = 1) -> list[dict[str, Any]]:
    deadline = time.monotonic() + FINDING_SECONDS
    while time.monotonic() < deadline:
        found = findings(gateway, token)
        if len(found) >= count:
            return found
        time.sleep(0.5)
    pytest.fail(f"fewer than {count} findings after {FINDING_SECONDS} s:\n{gateway.log()[-3000:]}")


@contextlib.contextmanager
def restarted(gateway: Gateway, tmp_path: Path, **settings: str) -> Iterator[Gateway]:
    env = {**gateway.env, **{f"FLOWCDR_{k.upper()}": v for k, v in settings.items()}}
    again = start(gateway.data_dir, tmp_path / "server.log", gateway.password, env)
    try:
        yield again
    finally:
        again.stop()


@pytest.mark.parametrize("delay", [0.3, 1.2])
def test_killed_during_detection_the_finding_is_not_duplicated(
    tmp_path: Path, delay: float
) -> None:
    with launched(tmp_path, detect_interval_seconds="1") as first:
        auth = sign_in(first)
        token = subscription(first, auth)
        assert ingest(first, token, "scan", scan(int(time.time()) - 60)) == 202
        time.sleep(delay)  # detection passes run every second: the kill lands in or near one
        first.process.kill()
        first.process.wait(COMMAND_SECONDS)
    with restarted(first, tmp_path, **DETECT) as second:
        found = wait_for_findings(second, auth)
        assert ingest(second, token, "scan", scan(int(time.time()) - 60)) == 200  # a replay
        time.sleep(3)  # several more passes over the same window
        again = findings(second, auth)
    assert len(found) == 1
    assert [(f["id"], f["src_ip"]) for f in again] == [(found[0]["id"], SCANNER)]


def bulk_tuple(now: int, batch: int, n: int) -> str:
    """A distinct outbound flow (address, port and counters vary: little to compress)."""
    src = f"10.{batch}.{n // 250}.{n % 250}"
    return f"{now - n % 50},{src},10.0.1.4,{40000 + n},443,T,O,A,E,1,{n},1,{batch}"


class SmallDisk:
    """Where the gateway's data dir lives, and how to run it out of room and give room back.

    On a 48 MiB tmpfs (needs the right to mount) the disk is really filled, leaving the
    gateway a few MiB. Where mounting is not allowed the gateway's own file-size limit is
    lowered instead (the soft ``RLIMIT_FSIZE``, through ``prlimit`` on the running process,
    which needs no privilege beyond owning it): every write past ``FSIZE_LIMIT`` into any of
    its files then fails with EFBIG, as writes to a full disk fail with ENOSPC. Python ignores
    SIGXFSZ, so the write fails rather than the process.
    """

    def __init__(self, root: Path, use_tmpfs: bool) -> None:
        self.mount: Path | None = None
        self.data_dir = root / "data"
        self._pid: int | None = None
        self.how = "a file-size limit (RLIMIT_FSIZE)"
        if use_tmpfs:
            mount = root / "disk"
            mount.mkdir()
            done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", str(mount)],
                                  capture_output=True, text=True, check=False)  # fmt: skip
            if done.returncode == 0:
                self.mount, self.data_dir, self.how = mount, mount / "data", "a full tmpfs"
            else:
                print(f"cannot mount a tmpfs ({done.stderr.strip()}): a file-size limit instead")

    def fill(self, gateway: Gateway) -> None:
        if self.mount is None:
            self._pid = gateway.process.pid
            hard = resource.prlimit(self._pid, resource.RLIMIT_FSIZE)[1]  # kept: to raise back
            resource.prlimit(self._pid, resource.RLIMIT_FSIZE, (FSIZE_LIMIT, hard))
            return
        with (self.mount / "filler").open("wb") as fill:  # leave the gateway a few MiB
            while shutil.disk_usage(self.mount).free > 3 << 20:
                fill.write(bytes(1 << 20))

    def free(self) -> None:
        if self.mount is None:
            assert self._pid is not None
            hard = resource.prlimit(self._pid, resource.RLIMIT_FSIZE)[1]
            resource.prlimit(self._pid, resource.RLIMIT_FSIZE, (hard, hard))
        else:
            (self.mount / "filler").unlink()

    def unmount(self) -> None:
        if self.mount is not None:
            subprocess.run(["umount", "-l", str(self.mount)], check=False)


@pytest.fixture(params=["tmpfs", "fsize"])
def small_disk(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SmallDisk]:
    """Both ways where a tmpfs can be mounted; the file-size limit twice where it cannot, so
    the disk-full test never skips."""
    disk = SmallDisk(tmp_path, use_tmpfs=request.param == "tmpfs")
    try:
        yield disk
    finally:
        disk.unmount()


def test_a_full_disk_answers_507_and_loses_nothing_acknowledged(
    tmp_path: Path, small_disk: SmallDisk
) -> None:
    # Acknowledged batches wait in the journal a while, so the disk fills under some of them.
    with launched(tmp_path, small_disk.data_dir, ingest_merge_seconds="3") as gateway:
        token = subscription(gateway, sign_in(gateway))
        now = int(time.time()) - 60
        accepted: dict[int, bytes] = {}
        statuses: list[int] = []
        for i in range(200):
            if i == 3:
                small_disk.fill(gateway)
            tuples = [bulk_tuple(now, i, j) for j in range(BATCH)]
            body = blob([nsg_record({"r": {"000D3AF87856": tuples}})])
            status = ingest(gateway, token, f"b{i}", body)
            statuses.append(status)
            if status == 202:
                accepted[i] = body
            refused = statuses.count(507)
            if refused >= 20 or (refused >= 3 and "cannot merge" in gateway.log()):
                break
            if status == 507:
                time.sleep(1)  # as a collector waits (Retry-After), while merges are retried
        small_disk.free()
        gateway.stop()
    log = gateway.log()
    print(f"{small_disk.how}: {statuses}")
    assert accepted, statuses
    assert 507 in statuses, statuses
    assert set(statuses) <= {202, 503, 507}, statuses
    assert "unexpected error" not in log  # no 500: each refusal was a 507
    # The merge that found no room says so in one line naming the file and the cause.
    failed = [line for line in log.splitlines() if "cannot merge" in line]
    assert failed, log[-3000:]
    assert str(small_disk.data_dir / "flows.duckdb") in failed[0]
    assert "No space left on device" in failed[0] or "File too large" in failed[0], failed[0]
    assert "Traceback" not in log, log[-3000:]
    with restarted(gateway, tmp_path) as again:
        for i, body in accepted.items():  # acknowledged batches again: answered from the store
            assert ingest(again, token, f"b{i}", body) == 200
    with duckdb.connect(str(small_disk.data_dir / "flows.duckdb"), read_only=True) as db:
        (count,) = db.execute("SELECT count(*) FROM flows").fetchone() or (0,)
    assert count == BATCH * len(accepted)


def test_a_locked_flow_store_is_named_not_a_traceback(tmp_path: Path) -> None:
    with launched(tmp_path) as gateway:
        data_dir, env = gateway.data_dir, gateway.env
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]);"
         " print('locked', flush=True); time.sleep(60)", str(data_dir / "flows.duckdb")],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "locked"
        served = subprocess.run(
            [sys.executable, "-m", "flowcdr", "serve", "--port", "0", "--data-dir", str(data_dir)],
            capture_output=True, text=True, env=env, timeout=COMMAND_SECONDS, check=False,
        )  # fmt: skip
    finally:
        holder.kill()
        holder.communicate(timeout=COMMAND_SECONDS)  # also closes its stdout
    assert served.returncode != 0
    assert "Traceback" not in served.stderr
    assert str(data_dir / "flows.duckdb") in served.stderr
    assert "lock" in served.stderr


def test_flows_two_hours_late_still_open_a_finding(tmp_path: Path) -> None:
    with launched(tmp_path, detect_interval_seconds="1") as gateway:
        auth = sign_in(gateway)
        token = subscription(gateway, auth)
        now = int(time.time())
        assert ingest(gateway, token, "current", scan(now - 30, scanner="11.22.33.55")) == 202
        wait_for_findings(gateway, auth, 1)
        late = now - 2 * 3600 + 60  # two hours late, after the current scan was detected
        assert ingest(gateway, token, "late", scan(late, scanner=SCANNER)) == 202
        found = wait_for_findings(gateway, auth, 2)
    assert {f["src_ip"] for f in found} == {SCANNER, "11.22.33.55"}
