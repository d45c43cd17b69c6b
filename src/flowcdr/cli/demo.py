"""``flowcdr demo``: the whole product on one machine, with a simulated Azure storage account.

What ``make run`` starts. Every part is the real one, run as its own process exactly as an
operator would run it: ``flowcdr serve`` (the gateway, SQLite + DuckDB in the data dir),
``flowcdr simulate`` writing NSG and VNet flow-log blobs into a folder laid out like the two
Azure containers (first a backfill of recent hours, then live, block by block, as Azure
writes them), and ``flowcdr collect`` reading those blobs incrementally and shipping them
through the ingest API with a subscription token. The demo itself only signs in, issues the
token, creates the flow-log configuration, hands the simulator's threat-intel feed to the
gateway, and shows what arrives: flows, lag and findings, until Ctrl-C (or ``--duration``).

The data dir is kept: a second run signs in with the same account, skips the backfill and
resumes the live simulation and collection where the checkpoints are.
"""

import contextlib
import ctypes
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import click
from rich.console import Console
from rich.live import Live
from rich.table import Table

from flowcdr.auth.passwords import hash_password
from flowcdr.config import Settings
from flowcdr.store.control import ControlStore

USERNAME, TENANT = "demo", "demo"
# The configuration names the simulated account with the key of Azurite's documented
# development account: public by design, it opens nothing real (the demo reads a folder).
DEMO_ACCOUNT = "devstoreaccount1"
DEMO_CONNECTION_STRING = (
    "DefaultEndpointsProtocol=https;AccountName=devstoreaccount1;"
    "AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/"
    "KBHBeksoGMGw==;EndpointSuffix=core.windows.net"
)
READY_SECONDS = 60.0
STOP_SECONDS = 20.0
REFRESH_SECONDS = 2.0
PR_SET_PDEATHSIG = 1  # prctl(2)
# urllib would honour http_proxy & co.; the demo's gateway is on loopback.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@click.command("demo")
@click.option("--port", type=click.IntRange(1, 65535), default=8080, show_default=True)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("build/demo"),
    show_default=True,
    help="Where the gateway, the simulated storage account and the collector keep their data.",
)
@click.option(
    "--speed",
    type=click.FloatRange(min=0, min_open=True),
    default=1.0,
    show_default=True,
    help="Simulated minutes per real second once live.",
)
@click.option("--vms", type=click.IntRange(5, 500), default=20, show_default=True)
@click.option(
    "--backfill-hours",
    type=click.IntRange(0, 24),
    default=2,
    show_default=True,
    help="Hours of recent traffic written before going live (first run only).",
)
@click.option("--no-attacks", is_flag=True, help="Benign traffic only.")
@click.option(
    "--duration",
    type=click.FloatRange(min=0, min_open=True),
    help="Stop by itself after this many seconds (tests and CI).",
)
def demo(
    *,
    port: int,
    data_dir: Path,
    speed: float,
    vms: int,
    backfill_hours: int,
    no_attacks: bool,
    duration: float | None,
) -> None:
    """Run the gateway, a simulated Azure storage account and the collector, and watch."""
    console = Console(stderr=True)
    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    password = _account(data_dir)
    base_url = f"http://127.0.0.1:{port}"
    scenarios = "none" if no_attacks else "all"
    storage = data_dir / "storage"
    first_run = not storage.exists()
    stop = _stop_on_signals()
    with _processes(console) as started:
        serve = ["serve", "--port", str(port), "--data-dir", str(data_dir)]
        fast_detection = {"FLOWCDR_DETECT_INTERVAL_SECONDS": "5"}
        started.spawn("gateway", serve, data_dir / "gateway.log", fast_detection)
        api = _Api(base_url)
        api.wait_ready(started, READY_SECONDS)
        jwt = api.sign_in(password)
        token = api.subscription_token(jwt)
        api.ensure_configuration(jwt)
        simulate = ["simulate", "--out", str(storage), "--vms", str(vms), "--scenarios", scenarios]
        if first_run and backfill_hours:
            console.print(f"writing {backfill_hours} h of recent traffic ({vms} VMs)...")
            labels = data_dir / "labels" / "backfill.jsonl"
            started.run([*simulate, "--hours", str(backfill_hours), "--labels", str(labels)],
                        data_dir / "simulate.log")  # fmt: skip
            _share_intel(labels, data_dir / "intel")
        storage.mkdir(parents=True, exist_ok=True)
        started.spawn("collector",
                      ["collect", "--gateway", base_url, "--folder", str(storage),
                       "--interval", "2", "--state", str(data_dir / "collector.sqlite"),
                       "--backfill-hours", str(backfill_hours + 1)],
                      data_dir / "collect.log", {"FLOWCDR_SUBSCRIPTION_TOKEN": token})  # fmt: skip
        labels = data_dir / "labels" / "live.jsonl"
        started.spawn("simulator",
                      [*simulate, "--live", "--speed", str(speed), "--hours", "24",
                       "--labels", str(labels)],
                      data_dir / "simulate.log")  # fmt: skip
        console.print(
            f"portal and API: {base_url}  user: {USERNAME}  password: {password}\n"
            f"(also in {data_dir / 'demo-login.txt'}); Ctrl-C stops everything, data is kept"
        )
        _watch(api, jwt, started, stop, duration=duration, labels=data_dir / "labels")
    console.print(f"stopped; data kept in {data_dir} (make run resumes it)")


def _account(data_dir: Path) -> str:
    """The demo admin's password: created on the first run, read back on later ones."""
    login = data_dir / "demo-login.txt"
    if login.exists():
        return login.read_text().split()[-1]
    password = secrets.token_urlsafe(12)
    store = ControlStore.open(Settings(data_dir=data_dir))
    try:
        store.add_user(USERNAME, TENANT, "admin", hash_password(password))
    finally:
        store.close()
    descriptor = os.open(login, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as out:
        out.write(f"{USERNAME} {password}\n")
    return password


def _share_intel(labels: Path, intel_dir: Path) -> None:
    """Give the gateway the simulator's threat-intel feed (attackers among decoys)."""
    feed = labels.with_name(f"{labels.stem}-intel.txt")
    if feed.exists():
        intel_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(feed, intel_dir / "simulated-threats.txt")


@dataclass
class _Stop:
    requested: bool = False


def _stop_on_signals() -> _Stop:
    stop = _Stop()

    def handle(_signal: int, _frame: FrameType | None) -> None:
        stop.requested = True

    signal.signal(signal.SIGINT, handle)
    signal.signal(signal.SIGTERM, handle)
    return stop


class _Processes:
    """The demo's child processes; stopped in reverse order of start, politely first."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.children: list[tuple[str, subprocess.Popen[bytes]]] = []

    def spawn(
        self, name: str, args: list[str], log: Path, env: dict[str, str] | None = None
    ) -> None:
        with log.open("ab") as out:
            child = subprocess.Popen(  # noqa: S603 - this interpreter, flowcdr's own commands
                [sys.executable, "-m", "flowcdr", *args],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, **(env or {})},
                start_new_session=True,  # Ctrl-C reaches the demo, which stops them in order
                preexec_fn=_die_with_parent,  # noqa: PLW1509 - the demo starts them from one thread
            )
        self.children.append((name, child))

    def run(self, args: list[str], log: Path) -> None:
        with log.open("ab") as out:
            done = subprocess.run(  # noqa: S603 - this interpreter, flowcdr's own commands
                [sys.executable, "-m", "flowcdr", *args],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                check=False,
            )
        if done.returncode != 0:
            raise click.ClickException(f"flowcdr {args[0]} failed; see {log}")

    def failed(self) -> str | None:
        for name, child in self.children:
            if child.poll() is not None:
                return f"the {name} stopped (exit {child.returncode})"
        return None

    def stop_all(self) -> None:
        """The simulator first, then the collector (its block in flight finishes), then the
        gateway (it merges what it acknowledged)."""
        for name, child in reversed(self.children):
            if child.poll() is None:
                child.terminate()
                try:
                    child.wait(STOP_SECONDS)
                except subprocess.TimeoutExpired:
                    self.console.print(f"the {name} did not stop in time; killing it")
                    child.kill()
                    child.wait()


def _die_with_parent() -> None:
    """In the child: be sent SIGTERM when the demo dies, even by SIGKILL, so no gateway or
    collector is left running on its own (Linux; elsewhere a no-op)."""
    if sys.platform == "linux":
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


@contextlib.contextmanager
def _processes(console: Console) -> Iterator[_Processes]:
    started = _Processes(console)
    try:
        yield started
    finally:
        started.stop_all()


class _Api:
    """The few calls the demo makes, over real HTTP like any client."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def wait_ready(self, started: _Processes, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            problem = started.failed()
            if problem:
                raise click.ClickException(f"{problem}; see the logs in the data dir")
            with contextlib.suppress(OSError):
                if self.call("GET", "/healthz")[0] == 200:
                    return
            time.sleep(0.2)
        raise click.ClickException(f"the gateway did not answer at {self.base_url} in time")

    def sign_in(self, password: str) -> str:
        form = f"username={USERNAME}&password={password}&token=true".encode()
        status, body = self.call("POST", "/auth", form, form=True)
        if status != 200:
            raise click.ClickException(f"sign-in failed ({status}): {body!r}")
        return str(body)

    def subscription_token(self, jwt: str) -> str:
        status, body = self.call("POST", "/qas/subscription-token", {"expiry": 1440}, jwt=jwt)
        if status != 200:
            raise click.ClickException(f"no subscription token ({status}): {body!r}")
        return str(body["subscriptionToken"])

    def ensure_configuration(self, jwt: str) -> None:
        status, found = self.call("GET", "/cdr/v1/azure/flowlogs", jwt=jwt)
        if status == 200 and found:
            return
        config = {
            "deploymentName": "azure-demo",
            "subscriptionId": "2a1b8c63-5e74-4a6b-8d2f-3c8e4d5b6f71",
            "buckets": [{"storageAccount": DEMO_ACCOUNT, "region": "westeurope",
                         "connectionString": DEMO_CONNECTION_STRING}],
        }  # fmt: skip
        status, body = self.call("POST", "/cdr/v1/azure/flowlogs", config, jwt=jwt)
        if status != 201:
            raise click.ClickException(f"could not create the configuration ({status}): {body!r}")

    def call(
        self, method: str, path: str, body: Any = None, *, jwt: str | None = None,
        form: bool = False,
    ) -> tuple[int, Any]:  # fmt: skip
        data = body if form else (None if body is None else json.dumps(body).encode())
        headers = {"Content-Type": "application/x-www-form-urlencoded" if form
                   else "application/json"}  # fmt: skip
        if jwt:
            headers["Authorization"] = f"Bearer {jwt}"
        url = self.base_url + path  # http://127.0.0.1:PORT, made here, never user input
        request = urllib.request.Request(url, data, headers, method=method)  # noqa: S310
        try:
            with _DIRECT.open(request, timeout=30) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, raw = error.code, error.read()
        kind = "json" if raw[:1] in (b"{", b"[") else "text"
        return status, json.loads(raw) if kind == "json" else raw.decode(errors="replace")


def _watch(
    api: _Api, jwt: str, started: _Processes, stop: _Stop, *, duration: float | None, labels: Path
) -> None:
    """A live summary until Ctrl-C, ``duration``, or a child process failing."""
    end = None if duration is None else time.monotonic() + duration
    with Live(_summary(api, jwt, labels), refresh_per_second=1, transient=False) as live:
        while not stop.requested and (end is None or time.monotonic() < end):
            problem = started.failed()
            if problem:
                raise click.ClickException(f"{problem}; see the logs in the data dir")
            time.sleep(REFRESH_SECONDS)
            live.update(_summary(api, jwt, labels))


def _summary(api: _Api, jwt: str, labels: Path) -> Table:
    table = Table(title="flowcdr demo", show_header=False)
    _, health = api.call("GET", "/cdr/v1/health/sources", jwt=jwt)
    _, page = api.call("GET", "/cdr/v1/findings?limit=500", jwt=jwt)
    connectors = health.get("connectors", []) if isinstance(health, dict) else []
    resources = health.get("resources", []) if isinstance(health, dict) else []
    items = page.get("items", []) if isinstance(page, dict) else []
    flows = sum(c["flows"] for c in connectors)
    lag = max((r["lag_seconds"] for r in resources), default=0.0)
    severities = Counter(item["severity"] for item in items)
    injected = sum(1 for path in labels.glob("*.jsonl") for _ in path.open())
    table.add_row("flows stored", f"{flows:,} from {len(resources)} NSGs and VNets")
    # Live traffic starts at the top of the hour and runs at --speed, so it can run ahead of
    # the clock; say so rather than show a negative lag.
    ahead = f"newest flow {-lag:,.0f} s ahead of the clock (simulated time runs at --speed)"
    table.add_row("ingest lag (newest flow)", f"{lag:,.0f} s" if lag >= 0 else ahead)
    table.add_row("batches, rejected tuples", f"{sum(c['batches'] for c in connectors):,}, "
                  f"{sum(c['rejected'] for c in connectors):,}")  # fmt: skip
    table.add_row(
        "findings",
        ", ".join(f"{severities[s]} {s}" for s in ("critical", "high", "medium", "low")),
    )
    table.add_row("attacks injected so far", f"{injected}")
    for item in items[:5]:  # newest activity first
        ends = f"{item['src_ip'] or '*'} -> {item['dst_ip'] or '*'}"
        table.add_row(f"  {item['severity']}", f"{item['title']}: {ends}, {item['last_seen']}")
    return table
