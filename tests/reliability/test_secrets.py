"""No secret in clear anywhere a realistic run writes, and secrets survive a key rotation.

A gateway process is driven as an operator and a collector would: sign in, a storage account's
connection string with its account key, a connector registered with its client secret, flows
ingested until a finding opens, every read-back, a refused request that carries the key, and
``flowcdr config dump`` with keys in the environment. Then every byte the run wrote (server
log, control database, flow store and journal, the answers it got) is searched for each secret;
only the answers whose job is to hand one out (the sign-in and subscription tokens) and the key
files themselves may hold them. ``flowcdr keys rotate`` then re-encrypts everything with a new
key, and every secret still reads back.
"""

import base64
import gzip
import json
import secrets
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from cryptography.fernet import Fernet
from pydantic import SecretStr

from flowcdr.config import Settings
from flowcdr.store.control import Bucket, ControlStore

from ..integration.server import COMMAND_SECONDS, DIRECT, Gateway, call, clean_env
from ..unit.formats.builders import blob, nsg_record
from .conftest import launched, sign_in, subscription

FINDING_SECONDS = 60.0  # detection runs every second here; the window must first close
SUBSCRIPTION = "aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e"


def connection_string(account: str, key: str) -> str:
    return (
        f"DefaultEndpointsProtocol=https;AccountName={account};AccountKey={key};"
        "EndpointSuffix=core.windows.net"
    )


def ingest_scan(gateway: Gateway, token: str) -> int:
    """40 denied probes of one VM from an internet address within a minute: a port scan."""
    now = int(time.time()) - 30
    tuples = [f"{now},11.22.33.44,10.0.1.4,50000,{1000 + i},T,I,D,B,,,," for i in range(40)]
    request = urllib.request.Request(
        gateway.base_url + "/cdr/v1/ingest",
        method="POST",
        data=gzip.compress(blob([nsg_record({"deny-all": {"000D3AF87856": tuples}})])),
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Encoding": "gzip",
            "Idempotency-Key": "scan-1",
        },
    )
    with DIRECT.open(request, timeout=COMMAND_SECONDS) as response:
        status: int = response.status
        return status


def flowcdr(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flowcdr", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=COMMAND_SECONDS,
        check=False,
    )


def test_no_secret_in_clear_anywhere_and_rotation_keeps_them(tmp_path: Path) -> None:
    account_key = base64.b64encode(secrets.token_bytes(64)).decode()
    client_secret = "cs~" + secrets.token_urlsafe(24)
    answers: list[str] = []
    with launched(tmp_path, detect_interval_seconds="1") as gateway:
        auth = sign_in(gateway)
        collector = subscription(gateway, auth)
        bucket = {
            "storageAccount": "flowlogseast01",
            "region": "eastus",
            "connectionString": connection_string("flowlogseast01", account_key),
        }
        status, created = call(
            gateway,
            "POST",
            "/cdr/v1/azure/flowlogs",
            auth,
            {"deploymentName": "azure-prod", "subscriptionId": SUBSCRIPTION, "buckets": [bucket]},
        )
        assert status == 201, created
        answers.append(json.dumps(created))
        broken = {**bucket, "connectionString": f"AccountKey={account_key};Nonsense"}
        status, refused = call(
            gateway,
            "POST",
            "/cdr/v1/azure/flowlogs",
            auth,
            {"deploymentName": "azure-bad", "subscriptionId": SUBSCRIPTION, "buckets": [broken]},
        )
        assert status == 422, refused
        answers.append(json.dumps(refused))
        registration = {
            "tenantId": "72f988bf-86f1-41af-91ab-2d7cd011db47",
            "clientId": "0b1f6471-1bf0-4dda-aec3-cb9272f09590",
            "subscriptionId": SUBSCRIPTION,
            "regions": ["eastus"],
            "configId": created["id"],
            "clientSecret": client_secret,
        }
        status, registered = call(
            gateway, "POST", "/cdr/v1/azure/connectors/register", collector, registration
        )
        assert status == 201, registered
        answers.append(json.dumps(registered))
        assert ingest_scan(gateway, collector) == 202
        deadline = time.monotonic() + FINDING_SECONDS
        findings: list[object] = []
        while not findings and time.monotonic() < deadline:
            time.sleep(1)
            findings = call(gateway, "GET", "/cdr/v1/findings", auth)[1]["items"]
        assert findings, "no finding opened"
        for path in (
            "/cdr/v1/azure/flowlogs",
            f"/cdr/v1/azure/flowlogs/{created['id']}",
            "/cdr/v1/azure/connectors",
            "/cdr/v1/audit",
            "/cdr/v1/findings",
            "/cdr/v1/subscription-tokens",
            "/cdr/v1/health/sources",
        ):
            status, body = call(gateway, "GET", path, auth)
            assert status == 200, (path, body)
            answers.append(json.dumps(body))
        password, env = gateway.password, gateway.env
    jwt_key, encryption_key = secrets.token_urlsafe(40), secrets.token_urlsafe(40)
    dumped = flowcdr(
        {
            **env,
            "FLOWCDR_JWT_KEY": jwt_key,
            "FLOWCDR_DATABASE_URL": f"postgresql://u:{client_secret}@db/x",
        },
        "config",
        "dump",
        "--data-dir",
        str(gateway.data_dir),
    )
    assert dumped.returncode == 0, dumped.stderr
    answers.append(dumped.stdout + dumped.stderr)
    data = gateway.data_dir
    keys = [(data / name).read_text().strip() for name in ("jwt.key", "encryption.key")]
    wanted = {
        "account key": account_key,
        "client secret": client_secret,
        "password": password,
        "sign-in token": auth,
        "subscription token": collector,
        "jwt key file": keys[0],
        "encryption key file": keys[1],
        "jwt key setting": jwt_key,
    }
    written = [path for path in tmp_path.rglob("*") if path.is_file()]
    written = [path for path in written if path.name not in ("jwt.key", "encryption.key")]
    assert any(path.name == "control.db" for path in written)
    assert any(path.suffix == ".duckdb" for path in written)
    leaks = [
        f"{name} in {where}"
        for name, secret in wanted.items()
        for where, content in [(str(p), p.read_bytes()) for p in written]
        + [(f"answer {i}", a.encode()) for i, a in enumerate(answers)]
        if secret.encode() in content
    ]
    assert leaks == []
    assert encryption_key not in dumped.stdout

    rotated = flowcdr(env, "keys", "rotate", "--data-dir", str(data))
    assert rotated.returncode == 0, rotated.stderr
    assert "re-encrypted 2 secrets" in rotated.stdout
    new_key = (data / "encryption.key").read_text().strip()
    assert new_key != keys[1]
    assert new_key not in rotated.stdout + rotated.stderr
    store = ControlStore.open(Settings(data_dir=data))
    try:
        user = store.user("alice")
        assert user is not None
        tenant = user.tenant_id
        (config,) = store.configs(tenant)
        assert [b.connection_string for b in config.buckets] == [bucket["connectionString"]]
        assert store.connector_secret(tenant, registration["clientId"]) == client_secret
    finally:
        store.close()
    stale = flowcdr(
        {**clean_env(tmp_path / "home"), "FLOWCDR_ENCRYPTION_KEY": keys[1]},
        "keys",
        "rotate",
        "--data-dir",
        str(data),
    )
    assert stale.returncode != 0
    assert "encryption_key" in stale.stderr
    assert "Traceback" not in stale.stderr


def test_rotation_with_the_key_in_the_environment_prints_the_new_key(tmp_path: Path) -> None:
    data, old_key = tmp_path / "data", Fernet.generate_key().decode()
    store = ControlStore.open(Settings(data_dir=data, encryption_key=SecretStr(old_key)))
    tenant = store.add_user("alice", "contoso", "admin", "not-a-hash").tenant_id
    secret = connection_string("flowlogseast01", base64.b64encode(secrets.token_bytes(64)).decode())
    store.create_config(
        tenant, "azure-prod", SUBSCRIPTION, [Bucket("flowlogseast01", "eastus", secret)]
    )
    store.close()
    env = {**clean_env(tmp_path / "home"), "FLOWCDR_ENCRYPTION_KEY": old_key}
    rotated = flowcdr(env, "keys", "rotate", "--data-dir", str(data))
    assert rotated.returncode == 0, rotated.stderr
    new_key = rotated.stdout.strip()
    assert "FLOWCDR_ENCRYPTION_KEY" in rotated.stderr
    assert new_key != old_key
    assert not (data / "encryption.key").exists()  # the key stays where the operator keeps it
    store = ControlStore.open(Settings(data_dir=data, encryption_key=SecretStr(new_key)))
    try:
        (config,) = store.configs(tenant)
        assert config.buckets[0].connection_string == secret
    finally:
        store.close()
