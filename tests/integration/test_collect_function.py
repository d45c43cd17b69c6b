"""The Azure Function's handlers, called directly (no Functions host) against Azurite blob and
table storage and the real gateway: timer passes and blob events, concurrent invocations,
Table checkpoints with ETag-conditional updates, dead letters in a container."""

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from azure.data.tables import TableServiceClient
from azure.functions.blob import InputStream
from azure.functions.timer import TimerRequest

from flowcdr.collect.azure_blob import ContainerDeadLetters
from flowcdr.collect.checkpoint import Checkpoint
from flowcdr.collect.deadletter import DeadLetter
from flowcdr.collect.function import FunctionSettings, SettingError
from flowcdr.collect.functionapp import function_app
from flowcdr.collect.source import NSG_CONTAINER, VNET_CONTAINER, Block
from flowcdr.collect.table_checkpoints import TableCheckpoints

from .azurite import Azurite, Hour, stored_flows
from .server import Gateway

pytestmark = pytest.mark.integration


@pytest.fixture
def app_settings(
    azurite: Azurite, gateway: Gateway, subscription_token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLOWCDR_GATEWAY_URL", gateway.base_url)
    monkeypatch.setenv("FLOWCDR_SUBSCRIPTION_TOKEN", subscription_token)
    monkeypatch.setenv("FLOWLOG_STORAGE", azurite.connection_string)
    monkeypatch.setenv("AzureWebJobsStorage", azurite.connection_string)


def event(container: str, writer_name: str) -> InputStream:
    """What the Event Grid blob trigger hands over; the handler reads only its name."""
    return InputStream(data=b"", name=f"{container}/{writer_name}")


@pytest.mark.usefixtures("app_settings")
def test_timer_and_blob_events_deliver_every_flow_once(azurite: Azurite, gateway: Gateway) -> None:
    hour = Hour(azurite)
    hour.write()
    hour.write()
    function_app.collect_pass(TimerRequest(past_due=False))
    hour.write(records=2)
    function_app.collect_vnet_blob(event(VNET_CONTAINER, hour.vnet.blob.blob_name))
    function_app.collect_nsg_blob(event(NSG_CONTAINER, hour.nsg.blob.blob_name))
    for _ in range(3):
        hour.write()
    # The trigger fires once per commit, possibly in parallel: four invocations at once.
    vnet = event(VNET_CONTAINER, hour.vnet.blob.blob_name)
    nsg = event(NSG_CONTAINER, hour.nsg.blob.blob_name)
    with ThreadPoolExecutor(4) as pool:
        invocations = [
            pool.submit(function_app.collect_vnet_blob, vnet),
            pool.submit(function_app.collect_vnet_blob, vnet),
            pool.submit(function_app.collect_nsg_blob, nsg),
            pool.submit(function_app.collect_pass, TimerRequest(past_due=True)),
        ]
        for invocation in invocations:
            invocation.result()
    function_app.collect_pass(TimerRequest(past_due=False))
    gateway.stop()
    assert stored_flows(gateway.data_dir) == hour.flows()


def test_table_checkpoints_are_compare_and_set(azurite: Azurite) -> None:
    service = TableServiceClient.from_connection_string(azurite.connection_string)
    one, two = TableCheckpoints.open(service), TableCheckpoints.open(service)
    blob = "devstoreaccount1/insights-logs-flowlogflowevent/a/b/PT1H.json"
    assert one.load(blob) == Checkpoint()
    prefix = (Block("A0", 12), Block("B1", 100))
    first = one.save(blob, Checkpoint(112, prefix))
    assert first is not None
    assert two.save(blob, Checkpoint(112, prefix)) is None  # created meanwhile
    stale = two.load(blob)
    assert stale == Checkpoint(112, prefix, None, first)
    assert one.save(blob, Checkpoint(200, (*prefix, Block("B2", 88)), '"e"', first)) is not None
    assert two.save(blob, Checkpoint(150, prefix, None, stale.version)) is None
    assert two.load(blob).offset == 200
    assert two.load(blob).etag == '"e"'


def test_dead_letters_in_a_container(azurite: Azurite) -> None:
    letters = ContainerDeadLetters(azurite.blob_service())
    letter = DeadLetter("fc1-k", "a/c/b", "B1", 12, 100, "0", 422, "not a flow log", 1, b"\x1f")
    letters.put(letter)
    (name,) = letters.names()
    assert name.endswith("/fc1-k.json")
    assert letters.get(name) == letter
    letters.remove(name)
    assert list(letters.names()) == []


def test_the_host_sees_a_timer_and_event_grid_blob_triggers() -> None:
    bindings = {
        f.get_function_name(): json.loads(f.get_function_json())["bindings"][0]
        for f in function_app.app.get_functions()
    }
    assert bindings["collect_pass"]["schedule"] == "0 * * * * *"
    for name, container in (
        ("collect_vnet_blob", VNET_CONTAINER),
        ("collect_nsg_blob", NSG_CONTAINER),
    ):
        assert bindings[name]["source"] == "EventGrid"
        assert bindings[name]["path"] == container + "/{name}"
    folder = Path(function_app.__file__).parent
    assert json.loads((folder / "host.json").read_text())["version"] == "2.0"
    assert "azure-storage-blob" in (folder / "requirements.txt").read_text()


def test_missing_app_settings_are_named() -> None:
    with pytest.raises(SettingError, match="FLOWCDR_GATEWAY_URL"):
        FunctionSettings.from_environ({"FLOWLOG_STORAGE": "x", "AzureWebJobsStorage": "y"})
    with pytest.raises(SettingError, match="FLOWLOG_STORAGE"):
        FunctionSettings.from_environ({"FLOWCDR_GATEWAY_URL": "http://g"})
