"""A gateway killed between batches neither loses an acknowledged batch nor admits one twice.

The collector's contract is at-least-once delivery with an idempotency key; exactly-once effect
is the store's job: a batch's flows and its key are committed together. Here the server process
is killed (SIGKILL, no shutdown) after acknowledging batches that still wait in the ingest
journal (the merge interval is set far beyond the test), restarted over the same data dir, and
every batch is sent again: the replays must be answered from the store and the flow count must be
exactly the sum of the distinct batches.
"""

import gzip
import secrets
import time
import urllib.request
from pathlib import Path

import duckdb

from ..unit.formats.builders import blob, nsg_record
from .server import COMMAND_SECONDS, DIRECT, Gateway, add_admin, call, clean_env, start

# Recent flows: the restarted gateway applies retention, which must not be what removes them.
TUPLE = f"{int(time.time()) - 60},10.5.16.4,13.67.143.{{}},59932,443,T,O,A,E,1,66,1,66"


def batch(tuples: int) -> bytes:
    return blob([nsg_record({"r": {"000D3AF87856": [TUPLE.format(i) for i in range(tuples)]}})])


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
    with DIRECT.open(request, timeout=COMMAND_SECONDS) as response:
        status: int = response.status
        return status


def sign_in(gateway: Gateway) -> str:
    request = urllib.request.Request(
        gateway.base_url + "/auth",
        method="POST",
        data=f"username=alice&password={gateway.password}&token=true".encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    with DIRECT.open(request, timeout=COMMAND_SECONDS) as response:
        token: str = response.read().decode()
        return token


def test_killed_between_batches(tmp_path: Path) -> None:
    data_dir, home = tmp_path / "data", tmp_path / "home"
    home.mkdir()
    env = clean_env(home)
    password = "pw-" + secrets.token_hex(16)
    add_admin(data_dir, password, env)
    sizes = [3, 5, 7, 11]
    # Acknowledged batches stay in the journal: the kill lands before any merge into DuckDB.
    first = start(
        data_dir, tmp_path / "server.log", password, {**env, "FLOWCDR_INGEST_MERGE_SECONDS": "300"}
    )
    try:
        status, body = call(
            first, "POST", "/qas/subscription-token", sign_in(first), {"expiry": 60}
        )
        assert status == 200, body
        token = body["subscriptionToken"]
        assert [ingest(first, token, f"b{i}", batch(n)) for i, n in enumerate(sizes[:2])] == [
            202,
            202,
        ]
        assert len(list((data_dir / "flows.journal").glob("*.arrow"))) == 2
        first.process.kill()  # no shutdown, no merge
        first.process.wait(COMMAND_SECONDS)
    finally:
        first.stop()
    second = start(data_dir, tmp_path / "server.log", password, env)
    try:
        statuses = [ingest(second, token, f"b{i}", batch(n)) for i, n in enumerate(sizes)]
        assert statuses == [200, 200, 202, 202]
    finally:
        second.stop()
    with duckdb.connect(str(data_dir / "flows.duckdb"), read_only=True) as db:
        (count,) = db.execute("SELECT count(*) FROM flows").fetchone() or (0,)
        (batches,) = db.execute("SELECT count(*) FROM ingest_batches").fetchone() or (0,)
    assert count == sum(sizes)
    assert batches == len(sizes)
