"""Ingest benchmark: flows/s through a real ``flowcdr serve`` into DuckDB and into ClickHouse
(chDB), next to pure parsing.

    .venv/bin/python bench/ingest.py [--mb 200] [--batch-mb 8] [--senders 2 4] [--seed 1]
                                     [--backends duckdb clickhouse]

The parse benchmark (bench/parse.py) shows how fast bytes become Arrow; this one shows how much
of that survives the rest of the way a collector's data travels: HTTP, gzip, authentication,
enrichment and the DuckDB writer. It therefore measures both in the same run on the same bytes,
so the ratio is not skewed by a different machine, build or day.

* Dataset: the cached blob of bench/parse.py (same generator, size and seed, so the same file
  is reused), cut at record boundaries into collector-sized batches. Every batch is a fragment
  of records joined by commas, as an incremental reader of committed blocks gets it (all but a
  blob's first batch start with the comma that separated them from the previous record). The
  batches are gzipped up front, untimed: compressing is the collector's cost, not the server's.
* Pure parse: ``parse_blob`` over every decompressed batch, sequentially in this process, best
  of two passes (so the ratio is against the parser at its best, never flattered by a slow
  pass).
* End to end, once per ``--senders`` count: a fresh data dir, a user, a fresh ``flowcdr serve``
  process, a sign-in and a subscription token; then that many threads (one keep-alive
  connection each, like independent collectors) take batches from a shared queue and POST
  them to ``/cdr/v1/ingest``, honouring 503 + Retry-After by retrying with the same key. The
  clock runs from the first send until the health API counts every acknowledged flow in DuckDB
  (a batch is acknowledged once journaled and merged shortly after; the time to the last
  acknowledgement is shown beside it). Before the server is stopped, its
  peak RSS (VmHWM) and CPU time are read from /proc; after, ``flows.duckdb`` is opened read-only
  and its rows are counted.

``--backends`` runs each sender count once per flow store (``flows_backend``): DuckDB, and
ClickHouse through chDB in the server's process (no server URL; what was measured is the
ClickHouse engine and its inserts, not a network hop). The table shows both, with the bytes
each store takes on disk per flow (the whole store after the server stopped: for DuckDB the
file, for chDB its folder, rollups and batch keys included).

Targets are printed as PASS/MISS for humans and never fail the run (a shared VM is too noisy
for a hard timing gate). Wrong results do exit 1: a batch never acknowledged, acknowledged flows
that differ from what ``parse_blob`` finds in the same bytes, or stored rows (or batches) that
differ from what was acknowledged.

``--stages`` adds an in-process run of the server's ingest path (parse, enrich, stamp, admit
into a DuckFlowStore) on the same batches, without HTTP, to show which stage the gap is in.
"""

import argparse
import contextlib
import http.client
import json
import os
import queue
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import msgspec

import parse as parse_bench
from flowcdr.collect.ship import gzip_body
from flowcdr.formats import parse_blob

MB = parse_bench.MB
CACHE_DIR = parse_bench.CACHE_DIR
HOST = "127.0.0.1"
INGEST_PATH = "/cdr/v1/ingest"
USERNAME, TENANT = "bench", "bench"
TARGET_FLOWS_PER_SECOND = 400_000
TARGET_PARSE_SHARE = 0.40
PARSE_PASSES = 2
# Bounded waits, so a wedged server fails the run instead of hanging it.
START_SECONDS = 60.0
STOP_SECONDS = 120.0
REQUEST_TIMEOUT_SECONDS = 300.0
SEND_DEADLINE_SECONDS = 1800.0
MAX_RECONNECTS = 3
POLL_SECONDS = 0.05
# Records of a blob as zero-copy slices, to cut it into batches at record boundaries.
_RECORDS = msgspec.json.Decoder(dict[str, list[msgspec.Raw]])


# --- dataset ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Payload:
    """One batch as the server receives it (``body``, gzip) and as it parses it (``raw``)."""

    fmt: str
    index: int
    raw: bytes
    body: bytes
    records: int


def cut_batches(fmt: str, blob: bytes, batch_bytes: int) -> list[tuple[str, bytes, int]]:
    """(format, fragment, records) of ~``batch_bytes`` each, cut at record boundaries.

    A batch closes once it reaches ``batch_bytes``, so all but the last are at least that big
    and at most one record over it.
    """
    records = _RECORDS.decode(blob)["records"]
    batches: list[tuple[str, bytes, int]] = []
    current: list[bytes] = []
    size = 0

    def close() -> None:
        lead = b"," if batches else b""
        batches.append((fmt, lead + b",".join(current), len(current)))

    for record in records:
        current.append(bytes(record))
        size += len(current[-1]) + 1
        if size >= batch_bytes:
            close()
            current, size = [], 0
    if current:
        close()
    return batches


def _interleave(groups: Sequence[Sequence[tuple[str, bytes, int]]]) -> list[tuple[str, bytes, int]]:
    """Round-robin over formats, so with several formats every sender sees a mix."""
    out: list[tuple[str, bytes, int]] = []
    for position in range(max(map(len, groups))):
        out.extend(group[position] for group in groups if position < len(group))
    return out


def build_dataset(formats: Sequence[str], mb: float, batch_mb: float, seed: int) -> list[Payload]:
    """The batches of every format's cached blob, gzipped as the collector does (in parallel:
    ISA-L frees the GIL)."""
    groups = []
    for fmt in formats:
        path = parse_bench.blob_path(fmt, mb, seed)
        groups.append(cut_batches(fmt, path.read_bytes(), int(batch_mb * MB)))
        print(f"dataset: {path.name}")
    batches = _interleave(groups)
    start = time.perf_counter()
    with ThreadPoolExecutor(os.cpu_count() or 1) as pool:
        bodies = list(pool.map(lambda batch: gzip_body(batch[1]), batches))
    seconds = time.perf_counter() - start
    payloads = [
        Payload(fmt, index, raw, body, records)
        for index, ((fmt, raw, records), body) in enumerate(zip(batches, bodies, strict=True))
    ]
    raw_size = sum(len(p.raw) for p in payloads)
    gz_size = sum(len(p.body) for p in payloads)
    sizes = [len(p.raw) / MB for p in payloads]
    print(
        f"  {len(payloads)} batches ({min(sizes):.1f}-{max(sizes):.1f} MB, fragments), "
        f"{raw_size / MB:.1f} MB, {sum(p.records for p in payloads):,} records; "
        f"gzip (the collector's): {gz_size / MB:.1f} MB ({raw_size / gz_size:.1f}x) "
        f"in {seconds:.1f} s"
    )
    return payloads


# --- pure parse -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ParseRun:
    seconds: float
    flows: int
    rejected: int
    skipped: int


def pure_parse(payloads: Sequence[Payload]) -> ParseRun:
    """``parse_blob`` over every batch in order; the best of ``PARSE_PASSES`` passes.

    The first batch is parsed once untimed, so imports and first-call costs are not counted.
    Each result is dropped before the next batch, as the server does.
    """
    parse_blob(payloads[0].raw)
    best: ParseRun | None = None
    for _ in range(PARSE_PASSES):
        seconds = 0.0
        flows = rejected = skipped = 0
        for payload in payloads:
            start = time.perf_counter()
            report = parse_blob(payload.raw, source=f"batch-{payload.index}").report
            seconds += time.perf_counter() - start
            flows, rejected, skipped = (
                flows + report.flows,
                rejected + report.rejected,
                skipped + report.skipped,
            )
        if best is None or seconds < best.seconds:
            best = ParseRun(seconds, flows, rejected, skipped)
    assert best is not None
    return best


# --- the server -------------------------------------------------------------------------------


def free_port() -> int:
    """A port nobody listens on right now (the server binds it a moment later)."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def _clean_env() -> dict[str, str]:
    """This environment without FLOWCDR_* settings, so the run depends on --data-dir alone."""
    return {name: value for name, value in os.environ.items() if not name.startswith("FLOWCDR_")}


def flowcdr_command(*args: str) -> list[str]:
    """The ``flowcdr`` CLI of this interpreter (the venv the bench runs in)."""
    return [sys.executable, "-m", "flowcdr", *args]


def add_admin(data_dir: Path, password: str) -> None:
    """Create the bench tenant's admin with the real CLI, as an operator would."""
    options = f"--tenant {TENANT} --role admin --password-stdin --data-dir".split()
    command = flowcdr_command("users", "add", USERNAME, *options, str(data_dir))
    done = subprocess.run(
        command,
        input=password + "\n",
        capture_output=True,
        text=True,
        timeout=120,
        env=_clean_env(),
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"users add failed:\n{done.stderr}")


class Server:
    """One ``flowcdr serve`` process; always stopped by ``stop`` (terminate, then kill)."""

    def __init__(
        self, data_dir: Path, backend: str = "duckdb", settings: dict[str, str] | None = None
    ) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.log_path = data_dir / "serve.log"
        self._log = self.log_path.open("wb")
        options = ("--host", HOST, "--port", str(self.port), "--data-dir", str(data_dir))
        command = flowcdr_command("serve", *options)
        env = {**_clean_env(), "FLOWCDR_FLOWS_BACKEND": backend}
        env.update({f"FLOWCDR_{name.upper()}": value for name, value in (settings or {}).items()})
        self.process = subprocess.Popen(
            command, stdout=self._log, stderr=subprocess.STDOUT, env=env
        )

    def wait_ready(self) -> None:
        """Poll /healthz until it answers; fail if the process exits or takes too long."""
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited with {self.process.returncode}")
            try:
                status, _ = request(self.port, "GET", "/healthz", timeout=2.0)
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"the server did not answer /healthz within {START_SECONDS:g} s")

    def _status(self, name: str) -> int:
        """A ``kB`` field of /proc/PID/status, in bytes."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith(name + ":"):
                return int(line.split()[1]) * 1024
        raise KeyError(name)

    def peak_rss(self) -> int:
        """VmHWM: the most the server was resident at any time so far."""
        return self._status("VmHWM")

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server so far, over all its threads."""
        stat = Path(f"/proc/{self.process.pid}/stat").read_text()
        fields = stat.rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> float:
        """Stop gracefully (SIGTERM lets DuckDB checkpoint and close); kill if it hangs.

        Returns how long the stop took, which is mostly the final DuckDB checkpoint.
        """
        start = time.perf_counter()
        try:
            if self.process.poll() is None:
                self.process.terminate()
                try:
                    self.process.wait(STOP_SECONDS)
                except subprocess.TimeoutExpired:
                    print(f"  the server did not stop within {STOP_SECONDS:g} s; killing it")
                    self.process.kill()
                    self.process.wait(10)
        finally:
            self._log.close()
        return time.perf_counter() - start

    def log_tail(self, lines: int = 20) -> str:
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])


def request(
    port: int,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 30.0,
) -> tuple[int, bytes]:
    """One request on its own connection (for the few untimed set-up calls)."""
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def sign_in(port: int, password: str) -> str:
    """An auth token for the bench's admin, exactly as the product's documentation gets one."""
    form = urllib.parse.urlencode({"username": USERNAME, "password": password, "token": "true"})
    status, jwt = request(
        port, "POST", "/auth", form.encode(), {"Content-Type": "application/x-www-form-urlencoded"}
    )
    if status != 200:
        raise RuntimeError(f"sign-in failed: {status} {jwt[:200]!r}")
    return jwt.decode()


def subscription_token(port: int, jwt: str) -> str:
    """A collector token, as the product's documentation gets one."""
    status, answer = request(
        port,
        "POST",
        "/qas/subscription-token",
        b'{"expiry": 60}',
        {"Authorization": f"Bearer {jwt}", "Content-Type": "application/json"},
    )
    if status != 200:
        raise RuntimeError(f"subscription token failed: {status} {answer[:200]!r}")
    token: str = json.loads(answer)["subscriptionToken"]
    return token


# --- senders ----------------------------------------------------------------------------------


@dataclass
class SenderStats:
    """What one sender saw; merged after the threads have joined, so no locking is needed."""

    flows: int = 0
    records: int = 0
    rejected: int = 0
    skipped: int = 0
    acked: int = 0
    busy: int = 0
    """503 answers (writer behind), each retried after Retry-After with the same key."""
    reconnects: int = 0
    replays: int = 0
    """200 answers: a key the server had admitted already (only after a lost answer)."""
    last_ack: float = 0.0
    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


class Sender:
    """A collector: one keep-alive connection, batches from a shared queue until it is empty."""

    def __init__(self, port: int, token: str, tag: str, work: "queue.SimpleQueue[Payload]"):
        self.connection = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT_SECONDS)
        self.token = token
        self.tag = tag
        self.work = work
        self.stats = SenderStats()

    def run(self, start: threading.Barrier, deadline: float) -> None:
        try:
            start.wait()
            while True:
                try:
                    payload = self.work.get_nowait()
                except queue.Empty:
                    return
                self.deliver(payload, deadline)
        except Exception as error:  # reported by the main thread as a failed run
            self.stats.failures.append(f"sender crashed: {error!r}")
        finally:
            self.connection.close()

    def deliver(self, payload: Payload, deadline: float) -> None:
        """POST one batch until it is acknowledged, refused for good, or time runs out."""
        headers = {
            "Authorization": f"Bearer {self.token}",
            "Content-Type": "application/json",
            "Content-Encoding": "gzip",
            "Idempotency-Key": f"{self.tag}-{payload.fmt}-{payload.index:05d}",
            "X-Flowcdr-Source": f"bench/{payload.fmt}/batch-{payload.index:05d}",
        }
        stats = self.stats
        start = time.perf_counter()
        lost = 0
        while True:
            try:
                self.connection.request("POST", INGEST_PATH, body=payload.body, headers=headers)
                response = self.connection.getresponse()
                answer = response.read()
            except (http.client.HTTPException, OSError) as error:
                # The answer is lost, not necessarily the batch: retrying with the same key
                # gets the first answer back (200) if it was admitted.
                self.connection.close()
                lost += 1
                stats.reconnects += 1
                if lost > MAX_RECONNECTS:
                    stats.failures.append(f"batch {payload.index}: {error!r}")
                    return
                continue
            if response.status == 503 and time.perf_counter() < deadline:
                stats.busy += 1
                time.sleep(float(response.getheader("Retry-After") or 1))
                continue
            if response.status not in (200, 202):
                stats.failures.append(f"batch {payload.index}: {response.status} {answer[:300]!r}")
                return
            break
        now = time.perf_counter()
        counts = json.loads(answer)
        stats.flows += counts["flows"]
        stats.records += counts["records"]
        stats.rejected += counts["rejected"]
        stats.skipped += counts["skipped"]
        stats.acked += 1
        stats.replays += response.status == 200
        stats.latencies.append(now - start)
        stats.last_ack = max(stats.last_ack, now)


def send_all(
    port: int, token: str, tag: str, payloads: Sequence[Payload], senders: int
) -> tuple[float, float, list[SenderStats]]:
    """Every batch through ``senders`` concurrent senders; (start, last ack, per-sender stats).

    The clock starts when all threads are released together, so thread start-up and the final
    joins are not counted.
    """
    work: queue.SimpleQueue[Payload] = queue.SimpleQueue()
    for payload in payloads:
        work.put(payload)
    team = [Sender(port, token, tag, work) for _ in range(senders)]
    barrier = threading.Barrier(senders + 1)
    deadline = time.perf_counter() + SEND_DEADLINE_SECONDS
    threads = [
        # Daemons, so that Ctrl-C ends the bench (the server is still stopped by run_ingest).
        threading.Thread(target=s.run, args=(barrier, deadline), name=f"sender-{i}", daemon=True)
        for i, s in enumerate(team)
    ]
    for thread in threads:
        thread.start()
    barrier.wait()
    begin = time.perf_counter()
    for thread in threads:
        thread.join()
    end = max((s.stats.last_ack for s in team), default=begin)
    return begin, end, [s.stats for s in team]


def wait_queryable(port: int, jwt: str, flows: int) -> float:
    """When the acknowledged flows are all in DuckDB (queryable), read from the health API.

    The gateway acknowledges a batch once it is journaled and merges it into DuckDB shortly
    after; a rate "into DuckDB" has to count until the merge, not until the last answer.
    """
    deadline = time.perf_counter() + START_SECONDS
    while time.perf_counter() < deadline:
        status, body = request(
            port, "GET", "/cdr/v1/health/sources", headers={"Authorization": f"Bearer {jwt}"}
        )
        if status != 200:
            raise RuntimeError(f"health failed: {status} {body[:200]!r}")
        now = time.perf_counter()
        if sum(c["flows"] for c in json.loads(body)["connectors"]) >= flows:
            return now
        time.sleep(POLL_SECONDS)
    raise RuntimeError(f"acknowledged flows not queryable after {START_SECONDS:.0f} s")


# --- one end-to-end run -----------------------------------------------------------------------


@dataclass
class IngestRun:
    senders: int
    batches: int
    backend: str = "duckdb"
    seconds: float = 0.0
    """First send to every acknowledged flow queryable in DuckDB."""
    ack_seconds: float = 0.0
    """First send to the last acknowledgement (the batches journaled)."""
    flows: int = 0
    acked: int = 0
    busy: int = 0
    reconnects: int = 0
    replays: int = 0
    latencies: list[float] = field(default_factory=list)
    server_cpu: float = 0.0
    peak_rss: int = 0
    stop_seconds: float = 0.0
    stored_rows: int = -1
    stored_batches: int = -1
    stored_size: int = 0
    problems: list[str] = field(default_factory=list)
    """Why the run's results are wrong; empty when they are right."""


def count_stored_clickhouse(path: Path) -> tuple[int, int, int]:
    """(flow rows, batch rows, sum of batch flows) in a chDB store, opened after the server."""
    from flowcdr.store.clickhouse import ChdbConnection

    db = ChdbConnection(path)
    try:
        db.use("flowcdr")
        ((rows,),) = db.rows("SELECT count() FROM flows")
        ((batches, flows),) = db.rows("SELECT count(), sum(flows) FROM ingest_batches FINAL")
    finally:
        db.close()
    return int(rows), int(batches), int(flows)


def folder_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def count_stored(path: Path) -> tuple[int, int, int]:
    """(flow rows, batch rows, sum of batch flows) in the store, opened read-only."""
    with contextlib.closing(duckdb.connect(str(path), read_only=True)) as db:
        rows = db.execute("SELECT count(*) FROM flows").fetchone()
        batches = db.execute("SELECT count(*), coalesce(sum(flows), 0) FROM ingest_batches")
        found = batches.fetchone()
    assert rows is not None
    assert found is not None
    return int(rows[0]), int(found[0]), int(found[1])


@dataclass
class DataDir:
    """A run's data dir, and whether to keep it for inspection once the run is over."""

    path: Path
    keep: bool


@contextlib.contextmanager
def fresh_data_dir(label: str, keep: bool) -> Iterator[DataDir]:
    """A new data dir under build/bench; removed afterwards unless kept or the run failed."""
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    found = DataDir(Path(tempfile.mkdtemp(prefix=f"ingest-{label}-", dir=CACHE_DIR)), keep)
    try:
        yield found
    except BaseException:
        found.keep = True
        raise
    finally:
        if found.keep:
            print(f"  data dir kept: {found.path}")
        else:
            shutil.rmtree(found.path, ignore_errors=True)


def run_ingest(
    payloads: Sequence[Payload], senders: int, keep: bool, backend: str = "duckdb"
) -> IngestRun:
    """One fresh server, every batch sent by ``senders`` threads, then the store checked."""
    run = IngestRun(senders=senders, batches=len(payloads), backend=backend)
    password = secrets.token_urlsafe(18)
    tag = f"bench-{senders}-{secrets.token_hex(4)}"
    with fresh_data_dir(f"{backend}-{senders}senders", keep) as found:
        data_dir = found.path
        add_admin(data_dir, password)
        server = Server(data_dir, backend)
        try:
            server.wait_ready()
            jwt = sign_in(server.port, password)
            token = subscription_token(server.port, jwt)
            cpu_before = server.cpu_seconds()
            begin, acked, stats = send_all(server.port, token, tag, payloads, senders)
            flows = sum(s.flows for s in stats)
            queryable = wait_queryable(server.port, jwt, flows)
            run.server_cpu = server.cpu_seconds() - cpu_before
            run.seconds = max(queryable - begin, 1e-9)
            run.ack_seconds = acked - begin
            run.peak_rss = server.peak_rss()
        except Exception:
            print(f"  server log tail:\n{server.log_tail()}")
            raise
        finally:
            run.stop_seconds = server.stop()
        for s in stats:
            run.flows += s.flows
            run.acked += s.acked
            run.busy += s.busy
            run.reconnects += s.reconnects
            run.replays += s.replays
            run.latencies += s.latencies
            run.problems += s.failures
        if backend == "clickhouse":
            store = data_dir / "flows.chdb"
            run.stored_size = folder_size(store)
            run.stored_rows, run.stored_batches, batch_flows = count_stored_clickhouse(store)
        else:
            store = data_dir / "flows.duckdb"
            run.stored_size = store.stat().st_size
            run.stored_rows, run.stored_batches, batch_flows = count_stored(store)
        if run.acked != len(payloads):
            run.problems.append(f"{run.acked} of {len(payloads)} batches acknowledged")
        if run.stored_rows != run.flows:
            run.problems.append(f"{run.stored_rows:,} rows stored, {run.flows:,} flows acked")
        if run.stored_batches != run.acked or batch_flows != run.flows:
            run.problems.append(
                f"ingest_batches has {run.stored_batches} batches of {batch_flows:,} flows; "
                f"{run.acked} batches of {run.flows:,} flows were acknowledged"
            )
        if run.problems:
            print(f"  server log tail:\n{server.log_tail()}")
            found.keep = True
    return run


# --- optional: the ingest path in process, stage by stage ------------------------------------


def stages(payloads: Sequence[Payload]) -> dict[str, float]:
    """Seconds per stage of the ingest work, no HTTP, one thread: the route's parse, enrich,
    stamp and admit (journal), then the merger's commit of every journaled batch (merge).

    Uses the gateway's own internals, so it shows where the server's time would go if it had
    a whole core and no concurrency: the stage that dominates here is the one to work on.
    """
    from flowcdr.enrich import enrich, stamp
    from flowcdr.store.flows import Batch, DuckFlowStore

    times = dict.fromkeys(("parse", "enrich", "stamp", "admit", "merge"), 0.0)
    with fresh_data_dir("stages", keep=False) as found:
        # Merged only when flushed, so the merge is timed on its own.
        store = DuckFlowStore.open(found.path / "flows.duckdb", merge_seconds=3600)
        try:
            for payload in payloads:
                t0 = time.perf_counter()
                result = parse_blob(payload.raw, source=f"batch-{payload.index}")
                t1 = time.perf_counter()
                table = enrich(result.table)
                t2 = time.perf_counter()
                table = stamp(table, TENANT, None)
                t3 = time.perf_counter()
                answer = {"flows": result.report.flows}
                store.admit(Batch(TENANT, f"stage-{payload.index}", table, answer, "bench"))
                t4 = time.perf_counter()
                for name, seconds in zip(times, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=False):
                    times[name] += seconds
            t5 = time.perf_counter()
            store.flush()
            times["merge"] = time.perf_counter() - t5
        finally:
            store.close()
    return times


# --- report -----------------------------------------------------------------------------------

HEADERS = [
    "store",
    "senders",
    "batches",
    "acked s",
    "seconds",
    "flows/s",
    "MB/s",
    "of parse",
    "503s",
    "batch p50 s",
    "batch max s",
    "server CPU",
    "peak RSS MB",
    "stored rows",
    "DB MB",
    "MB/M flows",
    "stop s",
]


def cells(run: IngestRun, parse_rate: float, raw_size: int) -> list[str]:
    rate = run.flows / run.seconds
    latencies = run.latencies or [0.0]
    return [
        run.backend,
        str(run.senders),
        f"{run.acked}/{run.batches}",
        f"{run.ack_seconds:.2f}",
        f"{run.seconds:.2f}",
        f"{rate:,.0f}",
        f"{raw_size / MB / run.seconds:.1f}",
        f"{rate / parse_rate:.1%}",
        str(run.busy),
        f"{statistics.median(latencies):.2f}",
        f"{max(latencies):.2f}",
        f"{run.server_cpu / run.seconds:.2f} cores",
        f"{run.peak_rss / MB:.0f}",
        f"{run.stored_rows:,}",
        f"{run.stored_size / MB:.0f}",
        f"{run.stored_size / MB / max(run.stored_rows, 1) * 1e6:.1f}",
        f"{run.stop_seconds:.1f}",
    ]


def print_table(lines: list[list[str]]) -> None:
    table = [HEADERS, *lines]
    widths = [max(len(line[i]) for line in table) for i in range(len(HEADERS))]
    for number, line in enumerate(table):
        print("  ".join(cell.rjust(width) for cell, width in zip(line, widths, strict=True)))
        if number == 0:
            print("  ".join("-" * width for width in widths))


def senders_label(senders: int) -> str:
    return f"{senders} sender{'' if senders == 1 else 's'}"


def verdict(name: str, value: str, target: str, ok: bool) -> None:
    print(f"  {'PASS' if ok else 'MISS'}  {name}: {value} (target {target})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--mb", type=float, default=200, help="blob size per format (200)")
    parser.add_argument("--batch-mb", type=float, default=8, help="batch size in MB (8)")
    parser.add_argument(
        "--senders",
        type=int,
        nargs="+",
        default=[2, 4],
        help="concurrent senders; one run with a fresh server each (2 4)",
    )
    parser.add_argument("--seed", type=int, default=1, help="generator seed (1)")
    parser.add_argument(
        "--formats",
        nargs="+",
        choices=sorted(parse_bench.FORMATS),
        default=["nsg"],
        help="blob formats in the dataset (nsg)",
    )
    parser.add_argument(
        "--stages", action="store_true", help="also time the ingest path in process, stage by stage"
    )
    parser.add_argument("--keep-data", action="store_true", help="keep each run's data dir")
    parser.add_argument(
        "--backends",
        nargs="+",
        choices=["duckdb", "clickhouse"],
        default=["duckdb", "clickhouse"],
        help="flow stores, one run each per sender count (duckdb clickhouse: chDB in process)",
    )
    args = parser.parse_args()
    if min(args.senders) < 1 or args.batch_mb <= 0:
        parser.error("--senders must be >= 1 and --batch-mb > 0")

    payloads = build_dataset(args.formats, args.mb, args.batch_mb, args.seed)
    raw_size = sum(len(p.raw) for p in payloads)
    pure = pure_parse(payloads)
    parse_rate = pure.flows / pure.seconds
    print(
        f"pure parse_blob (in process, sequential, best of {PARSE_PASSES}): {pure.seconds:.2f} s, "
        f"{pure.flows:,} flows ({pure.rejected:,} rejected, {pure.skipped:,} skipped), "
        f"{parse_rate:,.0f} flows/s, {raw_size / MB / pure.seconds:.1f} MB/s"
    )
    if args.stages:
        times = stages(payloads)
        total = sum(times.values())
        parts = ", ".join(f"{name} {seconds:.2f} s" for name, seconds in times.items())
        print(
            f"in-process ingest path, one thread, no HTTP: {parts}; total {total:.2f} s, "
            f"{pure.flows / total:,.0f} flows/s"
        )

    runs = []
    for senders in args.senders:
        for backend in args.backends:
            run = run_ingest(payloads, senders, args.keep_data, backend)
            runs.append(run)
            rate = run.flows / run.seconds
            label = f"{backend}, {senders_label(senders)}"
            print(f"{label}: {run.flows:,} flows in {run.seconds:.2f} s ({rate:,.0f}/s)")
    print()
    print_table([cells(run, parse_rate, raw_size) for run in runs])
    print(
        f"flows/s and MB/s (decompressed): first send until every acknowledged flow is "
        f"queryable in the store (seconds; acked s: until the last answer); of parse: share "
        f"of the pure parse_blob rate ({parse_rate:,.0f} flows/s); server CPU: its CPU time / "
        f"wall time while sending ({os.cpu_count()} cores here); stop s: SIGTERM to exit "
        f"(final DuckDB checkpoint); MB/M flows: the store on disk per million flows."
    )
    by_key = {(run.senders, run.backend): run for run in runs}
    for senders in args.senders:
        duck, click = by_key.get((senders, "duckdb")), by_key.get((senders, "clickhouse"))
        if duck and click:
            speed = (click.flows / click.seconds) / (duck.flows / duck.seconds)
            size = (click.stored_size / click.stored_rows) / (duck.stored_size / duck.stored_rows)
            print(
                f"{senders_label(senders)}: chDB / DuckDB = {speed:.2f}x the flows/s, "
                f"{size:.2f}x the bytes per flow"
            )
    print()
    wrong = False
    for run in runs:
        rate = run.flows / run.seconds
        share = rate / parse_rate
        label = f"{run.backend}, {senders_label(run.senders)}"
        verdict(
            f"{label}, flows/s into the store",
            f"{rate:,.0f}",
            f">= {TARGET_FLOWS_PER_SECOND:,}",
            rate >= TARGET_FLOWS_PER_SECOND,
        )
        verdict(
            f"{label}, share of pure parse rate",
            f"{share:.1%}",
            f">= {TARGET_PARSE_SHARE:.0%}",
            share >= TARGET_PARSE_SHARE,
        )
        if run.flows != pure.flows:
            run.problems.append(f"{run.flows:,} flows acked, parse_blob finds {pure.flows:,}")
        for problem in run.problems:
            print(f"  WRONG  {label}: {problem}")
        if run.reconnects or run.replays:
            print(
                f"  info  {label}: {run.reconnects} lost answers retried, "
                f"{run.replays} replayed keys"
            )
        wrong |= bool(run.problems)
    if not wrong:
        print(
            "  OK    every batch acknowledged; stored rows = acknowledged flows = parse_blob flows"
        )
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
