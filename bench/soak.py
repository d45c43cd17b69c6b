"""Ingest soak: several collectors feed one ``flowcdr serve`` for minutes; does it stay healthy?

    .venv/bin/python bench/soak.py [--seconds 600] [--collectors 4] [--rate 20000]
                                   [--batch 5000] [--setting NAME=VALUE] [--json OUT]

bench/ingest.py measures how fast a backlog goes in; this measures what a long steady load does
to the gateway. ``--collectors`` threads (one keep-alive connection each, loopback only) send
NSG batches of ``--batch`` distinct flows at ``--rate`` flows/s in total for ``--seconds``.
Every tenth batch is sent a second time with its idempotency key, as a collector does after a
lost answer. 503 and 507 answers are retried after their Retry-After with the same key.

Reported, and checked (exit 1 on failure):

* nothing lost or duplicated: after a graceful stop, ``flows.duckdb`` holds exactly the flows of
  the acknowledged batches, each batch once, and every resend was answered 200 (a replay);
* memory flat: the server's RSS, sampled every 2 s, grows by less than ``RSS_GROWTH_LIMIT``
  after warm-up: the median of the last fifth of the run against that of its second fifth
  (the first fifth, the warm-up, is reported but not judged). DuckDB caches the blocks of its
  growing file up to ``duckdb_memory_limit``, at 20,000 flows/s by about 0.45 MiB/s: ten
  minutes fill about 270 MiB, short of the 1 GB default. So the server runs with
  ``DEFAULT_SETTINGS`` (a 256 MB limit, which the cache reaches within the run) and what is
  judged is that nothing grows beyond that bound; ``--setting`` overrides it;
* latency of each POST (p50, p99, max), and the rate actually reached.
"""

import argparse
import gzip
import http.client
import json
import secrets
import statistics
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb

from ingest import HOST, INGEST_PATH, Server, add_admin, fresh_data_dir, sign_in, subscription_token

RSS_GROWTH_LIMIT = 0.10  # from the second fifth of the run to the last
DEFAULT_SETTINGS = {"duckdb_memory_limit": "256MB"}
SAMPLE_SECONDS = 2.0
RESEND_EVERY = 10
REQUEST_SECONDS = 60.0
MAC = "000D3AF87856"


@dataclass
class CollectorStats:
    batches: int = 0
    flows: int = 0
    resends: int = 0
    replays: int = 0
    retries: int = 0
    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


def batch_body(collector: int, index: int, size: int) -> bytes:
    """``size`` distinct outbound flows of this collector's batch ``index``, gzipped."""
    now = int(time.time()) - 5
    base = index * size
    tuples = ",".join(
        f'"{now},10.{collector}.{(n >> 8) & 255}.{n & 255},52.{(n >> 16) & 255}.1.{collector},'
        f'{1024 + n % 60000},443,T,O,A,E,{1 + n % 7},{60 + n % 900},1,66"'
        for n in range(base, base + size)
    )
    record = (
        '{"time":"2026-01-01T00:00:00Z","category":"NetworkSecurityGroupFlowEvent",'
        f'"resourceId":"/SUBSCRIPTIONS/AAAA0A0A-BB1B-CC2C-DD3D-EEEEEE4E4E4E/RESOURCEGROUPS/RG'
        f'/PROVIDERS/MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/SOAK-{collector}",'
        '"operationName":"NetworkSecurityGroupFlowEvents","properties":{"Version":2,"flows":'
        f'[{{"rule":"soak","flows":[{{"mac":"{MAC}","flowTuples":[{tuples}]}}]}}]}}}}'
    )
    return gzip.compress(('{"records":[' + record + "]}").encode(), compresslevel=1)


class Collector:
    """One collector: a keep-alive connection, a batch every ``interval`` seconds."""

    def __init__(self, port: int, token: str, number: int, size: int, interval: float) -> None:
        self.port, self.token, self.number = port, token, number
        self.size, self.interval = size, interval
        self.stats = CollectorStats()
        self.connection = http.client.HTTPConnection(HOST, port, timeout=REQUEST_SECONDS)

    def run(self, until: float) -> None:
        index = 0
        next_at = time.monotonic()
        try:
            while time.monotonic() < until:
                body = batch_body(self.number, index, self.size)
                key = f"soak-{self.number}-{index}"
                if self.send(key, body) == 202:
                    self.stats.batches += 1
                    self.stats.flows += self.size
                if index % RESEND_EVERY == RESEND_EVERY - 1:  # as after a lost answer
                    self.stats.resends += 1
                    if self.send(key, body) == 200:
                        self.stats.replays += 1
                index += 1
                next_at += self.interval
                time.sleep(max(0.0, next_at - time.monotonic()))
        except Exception as error:  # reported as a failed run by the main thread
            self.stats.failures.append(f"collector {self.number} crashed: {error!r}")
        finally:
            self.connection.close()

    def send(self, key: str, body: bytes) -> int:
        """POST until the gateway gives a final answer; that answer's status."""
        headers = {
            "Authorization": f"Bearer {self.token}",
            "Content-Encoding": "gzip",
            "Idempotency-Key": key,
        }
        while True:
            start = time.perf_counter()
            try:
                self.connection.request("POST", INGEST_PATH, body=body, headers=headers)
                response = self.connection.getresponse()
                answer = response.read()
            except (OSError, http.client.HTTPException):
                self.connection.close()  # reconnects on the next request
                self.stats.retries += 1
                time.sleep(1)
                continue
            self.stats.latencies.append(time.perf_counter() - start)
            if response.status in (503, 507):
                self.stats.retries += 1
                time.sleep(float(response.getheader("Retry-After") or 1))
                continue
            if response.status not in (200, 202):
                self.stats.failures.append(f"{key}: {response.status} {answer[:200]!r}")
            return response.status


@dataclass
class Report:
    seconds: float
    collectors: int
    flows_per_second_target: int
    flows_per_second: float
    batches: int
    flows_acknowledged: int
    flows_stored: int
    batches_stored: int
    resends: int
    replays: int
    retries: int
    latency_p50_ms: float
    latency_p99_ms: float
    latency_max_ms: float
    rss_start_mib: float
    """Median of the first fifth (warm-up)."""
    rss_warm_mib: float
    """Median of the second fifth: the level after warm-up."""
    rss_half_mib: float
    rss_end_mib: float
    rss_peak_mib: float
    rss_growth: float
    """From after warm-up (the second fifth) to the end (the last fifth)."""
    store_mib: float
    failures: list[str]
    rss_mib: list[float]
    """Every sample, ``SAMPLE_SECONDS`` apart."""
    anon_mib: list[float]
    """The anonymous part of each sample (heaps, DuckDB's cache)."""
    file_mib: list[float]
    """The file-backed part (mapped journal files, libraries)."""
    settings: dict[str, str]
    """``FLOWCDR_*`` settings the server ran with."""

    @property
    def ok(self) -> bool:
        return (
            not self.failures
            and self.flows_stored == self.flows_acknowledged
            and self.batches_stored == self.batches
            and self.replays == self.resends
            and self.rss_growth < RSS_GROWTH_LIMIT
        )


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def soak(
    seconds: float, collectors: int, rate: int, batch: int, keep: bool, settings: dict[str, str]
) -> Report:
    password = secrets.token_urlsafe(18)
    with fresh_data_dir("soak", keep) as found:
        add_admin(found.path, password)
        server = Server(found.path, settings=settings)
        samples: list[tuple[float, int, int, int]] = []
        try:
            server.wait_ready()
            token = subscription_token(server.port, sign_in(server.port, password))
            interval = batch * collectors / rate
            workers = [Collector(server.port, token, n, batch, interval) for n in range(collectors)]
            begin = time.monotonic()
            until = begin + seconds
            threads = [threading.Thread(target=w.run, args=(until,)) for w in workers]
            for thread in threads:
                thread.start()
            while any(thread.is_alive() for thread in threads):
                resident, anon, mapped = (
                    server._status(n) for n in ("VmRSS", "RssAnon", "RssFile")
                )
                samples.append((time.monotonic() - begin, resident, anon, mapped))
                time.sleep(SAMPLE_SECONDS)
            for thread in threads:
                thread.join()
            elapsed = time.monotonic() - begin
            peak = server.peak_rss()
        finally:
            server.stop()
        store = (found.path / "flows.duckdb").stat().st_size
        with duckdb.connect(str(found.path / "flows.duckdb"), read_only=True) as db:
            (stored,) = db.execute("SELECT count(*) FROM flows").fetchone() or (0,)
            (batches,) = db.execute("SELECT count(*) FROM ingest_batches").fetchone() or (0,)
    stats = [w.stats for w in workers]
    latencies = [value for s in stats for value in s.latencies]
    rss = [value for _, value, _, _ in samples]
    fifth, middle = max(1, len(rss) // 5), len(rss) // 2
    start_rss, end_rss = statistics.median(rss[:fifth]), statistics.median(rss[-fifth:])
    half_rss = statistics.median(rss[max(0, middle - fifth) : middle + 1])
    warm_rss = statistics.median(rss[fifth : 2 * fifth] or rss)
    acknowledged = sum(s.flows for s in stats)
    return Report(
        seconds=round(elapsed, 1),
        collectors=collectors,
        flows_per_second_target=rate,
        flows_per_second=round(acknowledged / elapsed),
        batches=sum(s.batches for s in stats),
        flows_acknowledged=acknowledged,
        flows_stored=int(stored),
        batches_stored=int(batches),
        resends=sum(s.resends for s in stats),
        replays=sum(s.replays for s in stats),
        retries=sum(s.retries for s in stats),
        latency_p50_ms=round(percentile(latencies, 0.50) * 1000, 1),
        latency_p99_ms=round(percentile(latencies, 0.99) * 1000, 1),
        latency_max_ms=round(max(latencies, default=0.0) * 1000, 1),
        rss_start_mib=round(start_rss / 2**20, 1),
        rss_warm_mib=round(warm_rss / 2**20, 1),
        rss_half_mib=round(half_rss / 2**20, 1),
        rss_end_mib=round(end_rss / 2**20, 1),
        rss_peak_mib=round(peak / 2**20, 1),
        rss_growth=round(end_rss / warm_rss - 1, 3),
        store_mib=round(store / 2**20, 1),
        failures=[failure for s in stats for failure in s.failures][:20],
        rss_mib=[round(value / 2**20, 1) for value in rss],
        anon_mib=[round(value / 2**20, 1) for _, _, value, _ in samples],
        file_mib=[round(value / 2**20, 1) for _, _, _, value in samples],
        settings=settings,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=600.0, help="how long to send")
    parser.add_argument("--collectors", type=int, default=4)
    parser.add_argument("--rate", type=int, default=20_000, help="flows/s, all collectors")
    parser.add_argument("--batch", type=int, default=5_000, help="flows per batch")
    parser.add_argument("--json", type=Path, help="also write the report here")
    parser.add_argument("--keep", action="store_true", help="keep the data dir")
    parser.add_argument(
        "--setting",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help=f"a server setting (FLOWCDR_NAME); defaults: {DEFAULT_SETTINGS}",
    )
    args = parser.parse_args()
    settings = DEFAULT_SETTINGS | dict(item.split("=", 1) for item in args.setting)
    report = soak(args.seconds, args.collectors, args.rate, args.batch, args.keep, settings)
    for name, value in asdict(report).items():
        if name not in ("rss_mib", "anon_mib", "file_mib"):
            print(f"{name:>26}: {value}")
    print("PASS" if report.ok else "FAIL")
    if args.json:
        args.json.write_text(json.dumps({**asdict(report), "ok": report.ok}, indent=1))
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
