"""A gateway with ``flows_backend = clickhouse`` (chDB in the data dir, no server URL): ingest,
replays, queries, exports, data health and detection's resume go through the ClickHouse store."""

from pathlib import Path

import pytest

from flowcdr.config import Settings
from flowcdr.store.clickhouse_flows import ClickFlowStore

from ..formats.builders import blob, nsg_record
from .conftest import Gateway
from .test_ingest import DENY, GOOD, send

pytestmark = pytest.mark.integration

DAY = {"start": "2018-11-13T00:00:00Z", "end": "2018-11-14T00:00:00Z"}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # Test flows date from 2018: a long retention keeps them (TTL drops older flows on insert).
    return Settings(data_dir=tmp_path / "data", retention_days=3650, flows_backend="clickhouse")


def test_the_gateway_stores_and_answers_from_clickhouse(gateway: Gateway) -> None:
    services = gateway.client.app.state.services  # type: ignore[attr-defined]
    assert isinstance(services.flows, ClickFlowStore)
    assert (gateway.settings.data_dir / "flows.chdb").is_dir()
    token = gateway.subscription_token("alice")
    body = blob([nsg_record({"r": {"000D3AF87856": [GOOD, DENY]}})])
    first = send(gateway, token, body, "k1")
    assert first.status_code == 202, first.text
    replay = send(gateway, token, body, "k1")
    assert replay.status_code == 200  # as on DuckDB: the answer of the admitted batch
    assert replay.json() == first.json()
    headers = gateway.bearer("amy")
    page = gateway.client.get("/cdr/v1/flows", params=DAY, headers=headers).json()
    assert [(f["time"], f["src_ip"], f["decision"]) for f in page["items"]] == [
        ("2018-11-13T12:00:02.000000Z", "94.102.49.190", "deny"),
        ("2018-11-13T11:59:39.000000Z", "10.5.16.4", "allow"),
    ]
    denied = gateway.client.get(
        "/cdr/v1/insights/top/denied-sources", params=DAY, headers=headers
    ).json()
    assert denied["items"] == [{"value": "94.102.49.190", "flows": 1, "bytes": 0}]
    exported = gateway.client.get(
        "/cdr/v1/flows", params=DAY, headers={**headers, "Accept": "text/csv"}
    )
    assert exported.status_code == 200
    assert exported.text.count("\n") == 3  # a header and the two flows
    health = gateway.client.get("/cdr/v1/health/sources", headers=headers).json()
    assert [(c["batches"], c["flows"], c["replays"]) for c in health["connectors"]] == [(1, 2, 1)]
    other = gateway.client.get("/cdr/v1/flows", params=DAY, headers=gateway.bearer("bob"))
    assert other.json() == {"items": [], "next": None}
