"""``flowcdr demo`` (what ``make run`` starts): the whole product on one machine, end to end.

Run as a user runs it, a subprocess, accelerated: the backfill and the live simulation reach the
real gateway through the real collector, findings appear for the injected attacks, Ctrl-C
(SIGINT) stops every part cleanly, and no flow was stored twice or made up on the way.
"""

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

import duckdb

from .azurite import FLOW_KEY, blob_flows
from .server import DIRECT, clean_env, free_port

DEADLINE_SECONDS = 240.0


def get(base: str, path: str, jwt: str) -> Any:
    request = urllib.request.Request(base + path, headers={"Authorization": f"Bearer {jwt}"})
    with DIRECT.open(request, timeout=30) as response:
        return json.loads(response.read())


def sign_in(base: str, login: Path) -> str:
    username, password = login.read_text().split()
    form = f"username={username}&password={password}&token=true".encode()
    request = urllib.request.Request(base + "/auth", data=form, method="POST")
    with DIRECT.open(request, timeout=30) as response:
        return str(response.read().decode())


def caught(findings: list[dict[str, Any]], labels: Path) -> bool:
    """Whether a finding names an injected attack: its technique and one of its addresses."""
    attacks = [json.loads(line) for line in labels.read_text().splitlines()]
    return any(
        set(finding["techniques"]) & set(attack["techniques"])
        and {finding["src_ip"], finding["dst_ip"]} & {*attack["attackers"], *attack["victims"]}
        for finding in findings
        for attack in attacks
    )


def test_demo_runs_end_to_end_and_stops_cleanly(tmp_path: Path) -> None:
    home, data_dir = tmp_path / "home", tmp_path / "demo"
    home.mkdir()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = (tmp_path / "demo.log").open("wb")
    demo = subprocess.Popen(
        [sys.executable, "-m", "flowcdr", "demo", "--data-dir", str(data_dir), "--port",
         str(port), "--vms", "5", "--backfill-hours", "1", "--speed", "3",
         "--duration", str(DEADLINE_SECONDS)],
        stdout=log, stderr=subprocess.STDOUT, env=clean_env(home),
    )  # fmt: skip
    try:
        deadline = time.monotonic() + DEADLINE_SECONDS - 30
        jwt = None
        while time.monotonic() < deadline:
            assert demo.poll() is None, (tmp_path / "demo.log").read_text()
            login = data_dir / "demo-login.txt"
            if jwt is None and login.exists():
                with contextlib.suppress(OSError):  # the gateway is still starting
                    jwt = sign_in(base, login)
            if jwt is not None:
                findings = get(base, "/cdr/v1/findings?limit=500", jwt)["items"]
                health = get(base, "/cdr/v1/health/sources", jwt)
                flows = sum(c["flows"] for c in health["connectors"])
                if flows > 100_000 and caught(findings, data_dir / "labels" / "backfill.jsonl"):
                    break
            time.sleep(2)
        else:
            output = (tmp_path / "demo.log").read_text()
            raise AssertionError(f"no flows and attack findings in time: {output}")
        os.kill(demo.pid, signal.SIGINT)
        assert demo.wait(60) == 0, (tmp_path / "demo.log").read_text()
    finally:
        if demo.poll() is None:  # a failed check: stop it as a user would, then for sure
            os.kill(demo.pid, signal.SIGINT)
            try:
                demo.wait(60)
            except subprocess.TimeoutExpired:
                demo.kill()
                demo.wait()
        log.close()

    with duckdb.connect(str(data_dir / "flows.duckdb"), read_only=True) as db:
        stored = Counter(db.execute(f"SELECT {FLOW_KEY} FROM flows").fetchall())
    blobs = blob_flows(*(path.read_bytes() for path in (data_dir / "storage").rglob("*.json")))
    assert sum(stored.values()) > 100_000
    assert max(stored.values()) <= max(blobs.values())  # nothing stored twice...
    assert not stored - blobs  # ...nor anything that is not in the blobs
