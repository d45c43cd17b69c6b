"""Storage and process faults: SIGKILL mid-pass, concurrent collectors, a rewritten blob, a blob
deleted mid-pass, Azurite restarted. After each, the store holds exactly the blobs' flows."""

import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from .azurite import Azurite, Hour, blob_flows, stored_flows
from .server import COMMAND_SECONDS, Gateway, clean_env
from .test_collect_faults import Answer, FaultProxy, Hang, Seen, collector_for

pytestmark = pytest.mark.integration


def command(gateway_url: str, state: Path) -> list[str]:
    """The collect command without the gateway's imports (test_collect_azurite runs the full one):
    these tests start it seven times."""
    return [sys.executable, "-m", "flowcdr.cli.collect", "--gateway", gateway_url,
            "--state", str(state / "checkpoints.sqlite"), "--timeout", "2"]  # fmt: skip


def environment(azurite: Azurite, gateway: Gateway, token: str) -> dict[str, str]:
    return {
        **gateway.env,
        "FLOWCDR_SUBSCRIPTION_TOKEN": token,
        "FLOWCDR_STORAGE_CONNECTION_STRING": azurite.connection_string,
    }


def run_once(argv: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(
        [*argv, "--once"], env=env, capture_output=True, text=True, timeout=COMMAND_SECONDS,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


def test_sigkill_mid_pass_then_restart(
    azurite: Azurite, gateway: Gateway, subscription_token: str, tmp_path: Path
) -> None:
    hour = Hour(azurite)
    for _ in range(6):
        hour.write()
    in_flight = threading.Event()

    def hold_the_fourth(seen: Seen) -> Hang | None:
        if seen.number == 4:
            in_flight.set()
            return Hang(3.0)  # stored by the gateway; the collector dies before the answer
        return None

    env = environment(azurite, gateway, subscription_token)
    with FaultProxy(gateway.base_url, hold_the_fourth) as proxy:
        collector = subprocess.Popen(
            [*command(proxy.url, tmp_path), "--once"], env=env, stderr=subprocess.DEVNULL
        )
        assert in_flight.wait(COMMAND_SECONDS)
        collector.kill()
        collector.wait(COMMAND_SECONDS)
        run_once(command(proxy.url, tmp_path), env)
        killed_key = proxy.seen[3].key
        assert [s.status for s in proxy.seen[4:] if s.key == killed_key] == [200]
        assert len({s.key for s in proxy.seen}) == 12  # resends (in flight at the kill) reuse keys
    gateway.stop()
    assert stored_flows(gateway.data_dir) == hour.flows()


def test_concurrent_collectors(
    azurite: Azurite, gateway: Gateway, subscription_token: str, tmp_path: Path
) -> None:
    """Two share a checkpoint file (compare-and-set), a third has its own (keys dedupe)."""
    hour = Hour(azurite)
    hour.write()
    env = environment(azurite, gateway, subscription_token)
    shared, alone = tmp_path / "shared", tmp_path / "alone"
    argvs = [command(gateway.base_url, state) for state in (shared, shared, alone)]
    logs = [tmp_path / f"collector{number}.log" for number in range(len(argvs))]
    running = []
    for argv, log in zip(argvs, logs, strict=True):
        with log.open("wb") as stderr:
            running.append(subprocess.Popen([*argv, "--interval", "1"], env=env, stderr=stderr))
    try:
        deadline = time.monotonic() + COMMAND_SECONDS
        while not all("passes 1" in log.read_text() for log in logs):  # all up and polling
            assert time.monotonic() < deadline, [log.read_text() for log in logs]
            time.sleep(0.1)
        for _ in range(8):
            hour.write(records=2)
            time.sleep(0.25)
    finally:
        for process in running:
            process.send_signal(signal.SIGTERM)
        assert [process.wait(COMMAND_SECONDS) for process in running] == [0, 0, 0]
    run_once(argvs[0], env)  # what was written after the last passes
    gateway.stop()
    assert stored_flows(gateway.data_dir) == hour.flows()


def test_rewritten_blob_and_blob_deleted_mid_pass(
    azurite: Azurite, gateway: Gateway, subscription_token: str, tmp_path: Path
) -> None:
    hour = Hour(azurite)
    for _ in range(4):
        hour.write()
    deleted = threading.Event()

    def delete_the_vnet_blob(seen: Seen) -> None:
        if not deleted.is_set():  # the NSG container is read first: the VNet blob is next
            hour.vnet.blob.delete_blob()
            deleted.set()

    with collector_for(azurite, gateway.base_url, subscription_token, tmp_path) as collector:
        collector.run_pass()
        vnet_collected = hour.vnet.content()
        before = hour.nsg.content()
        hour.nsg.rewrite(keep=2)
        kept = hour.nsg.content()
        hour.write()  # new blocks after the rewrite, on both blobs
        with (
            FaultProxy(gateway.base_url, delete_the_vnet_blob) as proxy,
            collector_for(azurite, proxy.url, subscription_token, tmp_path) as second,
        ):
            second.run_pass()
            second.run_pass()
        assert deleted.is_set()
        assert second.metrics.rewritten_blobs == 1
    expected = blob_flows(before, hour.nsg.content(), vnet_collected) - blob_flows(kept)
    gateway.stop()
    assert stored_flows(gateway.data_dir) == expected


def test_azurite_restart(
    azurite: Azurite, gateway: Gateway, subscription_token: str, tmp_path: Path
) -> None:
    hour = Hour(azurite)
    with collector_for(azurite, gateway.base_url, subscription_token, tmp_path) as collector:
        hour.write()
        collector.run_pass()
        hour.write()
        azurite.stop()
        collector.run_pass()  # storage down: logged and counted, nothing lost
        assert collector.metrics.source_errors >= 1
        azurite.start()
        hour.write()
        collector.run_pass()
    gateway.stop()
    assert stored_flows(gateway.data_dir) == hour.flows()


def test_sigterm_during_a_gateway_outage_exits_promptly(azurite: Azurite, tmp_path: Path) -> None:
    hour = Hour(azurite)
    hour.write()
    env = {
        **clean_env(tmp_path),
        "FLOWCDR_SUBSCRIPTION_TOKEN": "token",
        "FLOWCDR_STORAGE_CONNECTION_STRING": azurite.connection_string,
    }
    with FaultProxy("http://127.0.0.1:9", lambda seen: Answer(503, retry_after="30")) as proxy:
        log = tmp_path / "collect.log"
        with log.open("wb") as stderr:
            collector = subprocess.Popen(
                [*command(proxy.url, tmp_path), "--interval", "1"], env=env, stderr=stderr
            )
        deadline = time.monotonic() + COMMAND_SECONDS
        while not proxy.seen and time.monotonic() < deadline:
            time.sleep(0.05)
        assert proxy.seen, "the collector never reached the gateway"
        collector.send_signal(signal.SIGTERM)
        assert collector.wait(5) == 0  # not after the 30 s Retry-After
        assert "stopped:" in log.read_text()
        assert len(proxy.seen) == 1
