"""Two ``flowcdr serve`` processes on different ports sharing one PostgreSQL control database,
each with its own embedded DuckDB flow store, as docs/postgresql.md describes them.

What must hold across the two: a sign-in token of one is accepted by the other, a
subscription token issued at one delivers flows at the other, a finding that one detected is
listed and triaged at the other, and each detects over its own flows under a lease of its own,
released when it stops. What does not hold, and is documented: an idempotency key lives in the
flow store that took the batch, so a replay sent to the other gateway is stored there again.
"""

import gzip
import secrets
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from flowcdr.store.control import connect

from ..postgres import Postgres
from ..unit.formats.builders import fragment, nsg_record
from .server import COMMAND_SECONDS, DIRECT, Gateway, add_admin, call, clean_env, start

pytestmark = pytest.mark.integration

SCANNER, VM = "11.22.33.44", "10.0.1.4"  # the vertical_port_scan rule's own case
FINDING_SECONDS = 30.0


@pytest.fixture
def database(postgres: Postgres) -> str:
    return postgres.new_database()


@pytest.fixture
def pair(tmp_path: Path, database: str) -> Iterator[list[Gateway]]:
    home = tmp_path / "home"
    home.mkdir()
    env = clean_env(home) | {
        "FLOWCDR_DATABASE_URL": database,
        # Every gateway of one control database needs the same keys (docs/postgresql.md).
        "FLOWCDR_JWT_KEY": secrets.token_urlsafe(40),
        "FLOWCDR_ENCRYPTION_KEY": "Vx2bJ0lQpG0wH3o6b3m4z1V7h9Fh1e0YQ3Y8bU3cJ5s=",
        "FLOWCDR_DETECT_INTERVAL_SECONDS": "1",
        "FLOWCDR_INGEST_MERGE_SECONDS": "0.2",
    }
    password = "pw-" + secrets.token_hex(16)
    add_admin(tmp_path / "a", password, env)
    running: list[Gateway] = []
    try:
        for name in ("a", "b"):
            running.append(start(tmp_path / name, tmp_path / f"{name}.log", password, env))
        yield running
    finally:
        for gateway in running:
            gateway.stop()


def sign_in(gateway: Gateway) -> str:
    request = urllib.request.Request(
        gateway.base_url + "/auth",
        method="POST",
        data=f"username=alice&password={gateway.password}&token=true".encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    with DIRECT.open(request, timeout=COMMAND_SECONDS) as response:
        return str(response.read().decode())


def ingest(gateway: Gateway, token: str, body: bytes, key: str) -> tuple[int, Any]:
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
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.read()


def port_scan() -> bytes:
    """40 denied probes of one VM from the internet, a minute ago (within retention)."""
    now = int(time.time()) - 60
    tuples = [f"{now},{SCANNER},{VM},40000,{1000 + i},T,I,D,B,,,," for i in range(40)]
    return fragment([nsg_record({"DefaultRule_DenyAllInBound": {"000D3AF87856": tuples}})])


def detection_leases(url: str) -> dict[str, str]:
    engine = connect(url)
    try:
        with engine.connect() as c:
            rows = c.execute(sa.text("SELECT name, holder FROM leases")).all()
    finally:
        engine.dispose()
    return {str(name): str(holder) for name, holder in rows if name.startswith("detection")}


def test_two_gateways_act_as_one_service(pair: list[Gateway], database: str) -> None:
    a, b = pair
    token = sign_in(a)
    status, tokens = call(b, "GET", "/cdr/v1/subscription-tokens", token)
    assert (status, tokens) == (200, [])  # a's signature is b's: one key

    status, issued = call(b, "POST", "/qas/subscription-token", token, {"expiry": 60})
    assert status == 200, issued
    subscription = issued["subscriptionToken"]
    status, answer = ingest(a, subscription, port_scan(), "scan-1")  # issued at b, used at a
    assert status == 202, answer

    # a merges and detects over its own flows; the finding is in the shared ledger.
    deadline = time.monotonic() + FINDING_SECONDS
    items: list[dict[str, Any]] = []
    while not items and time.monotonic() < deadline:
        status, page = call(b, "GET", "/cdr/v1/findings?rule=vertical_port_scan", token)
        assert status == 200, page
        items = page["items"]
        time.sleep(0.2)
    assert items, f"no finding within {FINDING_SECONDS} s; a's log:\n{a.log()}"
    (finding,) = items
    assert (finding["src_ip"], finding["dst_ip"]) == (SCANNER, VM)
    status, changed = call(
        b, "PATCH", f"/cdr/v1/findings/{finding['id']}", token, {"status": "acknowledged"}
    )
    assert status == 200, changed
    status, seen = call(a, "GET", f"/cdr/v1/findings/{finding['id']}", token)
    assert (status, seen["status"]) == (200, "acknowledged")

    # Idempotency keys live in the flow store that took the batch: a replay to the same
    # gateway is answered from it (200); sent to the other gateway it is a new batch there.
    assert ingest(a, subscription, port_scan(), "scan-1")[0] == 200
    assert ingest(b, subscription, port_scan(), "scan-1")[0] == 202

    # Each embedded store has its own detection lease, held by its own gateway.
    held = detection_leases(database)
    assert len(held) == 2, held
    assert len(set(held.values())) == 2, held
    assert {str(g.data_dir.resolve()) for g in pair} == {n.rsplit(":", 1)[1] for n in held}
    a.stop()
    left = detection_leases(database)  # a handed its lease back as it stopped
    assert len(left) == 1, left
    assert str(b.data_dir.resolve()) in next(iter(left))
