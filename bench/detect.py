"""Detection benchmark: every enabled rule over a day of flows in DuckDB, next to one full
aggregate scan of the same table in the same run; a streaming minute; threat-intel matching.

    .venv/bin/python bench/detect.py [--flows 10000000] [--indicators 1000000] [--seed 1]

* Dataset: a day of ``--flows`` stored rows (about 500 VMs' worth for ten million) from
  bench/query.py's bulk generator (flowgen's traffic model as Arrow columns: internet scanners
  on deny rules, allowed conversations with begin / continue / end tuples, Zipf-like peers,
  about 4% IPv6), appended hour by hour to an in-memory DuckDB table laid out as the store's.
  Generating through JSON blobs would take most of the budget; bench/parse.py measures that.
* Baseline: one aggregate over the whole table (group by source, destination and port, count,
  bytes, first and last time), the cost of reading every row once.
* Offline: every rule of the catalogue at its defaults over the whole day, as
  ``detect_offline`` runs them (one query per rule, hits gathered into findings), timed rule
  by rule. Target: under 60 s in all. Then the sample flows of every finding's evidence.
* Streaming: a ``StreamRunner`` caught up to noon, then the watermark moves one minute: the
  time of that call (the one-minute rules evaluate, the rest have nothing new), and of the
  call that crosses the next hour (hourly rules too). Target: a minute under 2 s.
* Threat intel: a list of ``--indicators`` public IPv4 hosts and networks plus IPv6
  networks, built into ranges, then both address columns of every row matched against it.

Targets print as PASS/MISS and never fail the run (a shared VM is too noisy for a hard timing
gate). A wrong answer exits 1: the aggregate not counting every row, a finding outside the
data's day, or indicators that should match and do not.
"""

import argparse
import datetime as dt
import ipaddress
import sys
import time
from collections import Counter

import duckdb
import numpy as np
import pyarrow as pa

import flowcdr.detections
from flowcdr.detect.catalogue import load_rules
from flowcdr.detect.dataset import open_dataset
from flowcdr.detect.finding import FindingBook
from flowcdr.detect.intel import Intel, build_list
from flowcdr.detect.runner import StreamRunner, rule_hits
from flowcdr.detect.samples import with_samples
from query import World

TENANT = "contoso-bench"
DAY = dt.datetime(2026, 11, 26, tzinfo=dt.UTC)
HOUR_US = 3_600_000_000
TARGET_OFFLINE_S, TARGET_MINUTE_S = 60.0, 2.0


def verdict(seconds: float, target: float) -> str:
    return "PASS" if seconds < target else "MISS"


def load(db: duckdb.DuckDBPyConnection, flows: int, seed: int) -> int:
    world = World(np.random.default_rng(seed))
    tenants = pa.array([TENANT, "fabrikam-bench"])
    start = int(DAY.timestamp()) * 1_000_000
    for hour in range(24):
        low = start + hour * HOUR_US
        batch = world.flows(flows // 24, low, low + HOUR_US, tenants)
        db.register("batch", batch)
        db.execute("INSERT INTO flows SELECT * FROM batch")
        db.unregister("batch")
    return count(db, "SELECT count(*) FROM flows WHERE tenant_id = ?")


def count(db: duckdb.DuckDBPyConnection, sql: str) -> int:
    row = db.execute(sql, [TENANT]).fetchone()
    return int(row[0]) if row else -1


def indicators(count: int, seed: int) -> list[str]:
    """Mostly public IPv4 hosts, some /24 and /16 networks, a few IPv6 /48s."""
    rng = np.random.default_rng(seed)
    hosts = rng.integers(0x0B000000, 0x63FFFFFF, count - count // 10 - 1000, dtype=np.uint64)
    texts = [str(ipaddress.IPv4Address(int(v))) for v in hosts]
    nets = rng.integers(0x0B0000, 0x63FFFF, count // 10, dtype=np.uint64)
    texts += [f"{ipaddress.IPv4Address(int(v) << 8)}/24" for v in nets]
    texts += [f"2a0{i % 8:x}:{i:x}::/48" for i in range(1000)]
    return texts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--flows", type=int, default=10_000_000)
    parser.add_argument("--indicators", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    problems: list[str] = []

    db = open_dataset()
    started = time.perf_counter()
    rows = load(db, args.flows, args.seed)
    took = time.perf_counter() - started
    print(f"loaded {rows:,} flows of {TENANT} ({args.flows:,} in all) in {took:.1f} s")

    started = time.perf_counter()
    scanned = count(
        db,
        "SELECT sum(n) FROM (SELECT src_ip, dst_ip, dst_port, count(*) AS n, "
        "sum(coalesce(src_bytes, 0) + coalesce(dst_bytes, 0)) AS b, min(time), max(time) "
        "FROM flows WHERE tenant_id = ? GROUP BY src_ip, dst_ip, dst_port)",
    )
    baseline = time.perf_counter() - started
    if scanned != rows:
        problems.append(f"the aggregate counted {scanned} rows, not {rows}")
    print(f"baseline: one full aggregate scan (src, dst, port): {baseline:.2f} s")

    rules = load_rules(flowcdr.detections)
    enabled = {rule_id: rule.settings({}) for rule_id, rule in rules.items()}
    start, end = DAY, DAY + dt.timedelta(days=1)
    per_rule = []
    book = FindingBook(dict(rules), TENANT)
    for rule_id, values in enabled.items():
        began = time.perf_counter()
        found = rule_hits(db, rules[rule_id], values, tenant_id=TENANT, start=start, end=end)
        book.add(found)
        per_rule.append((time.perf_counter() - began, rule_id, len(found)))
    began = time.perf_counter()
    findings = list(book.findings())
    offline = sum(seconds for seconds, _, _ in per_rule) + time.perf_counter() - began
    by_rule = Counter(f.rule_id for f in findings)
    print(f"offline: {len(rules)} rules over {rows:,} flows: {offline:.1f} s "
          f"({offline / baseline:.1f}x the scan) {verdict(offline, TARGET_OFFLINE_S)} "
          f"(target < {TARGET_OFFLINE_S:.0f} s); {len(findings)} findings")  # fmt: skip
    for seconds, rule_id, hits in sorted(per_rule, reverse=True):
        print(f"  {rule_id:40s} {seconds:6.2f} s  {hits:6d} hits  {by_rule[rule_id]:5d} findings")
    began = time.perf_counter()
    sampled = with_samples(db, TENANT, findings)
    print(f"evidence: 3 sample flows for each of {len(sampled)} findings in "
          f"{time.perf_counter() - began:.1f} s")  # fmt: skip
    if any(f.src_ip and f.dst_ip and not f.evidence["samples"] for f in sampled):
        problems.append("a finding naming both ends got no sample flow")
    outside = [f for f in findings if not start <= f.first_seen <= f.last_seen < end]
    if outside:
        problems.append(f"{len(outside)} findings outside the day, e.g. {outside[0].as_dict()}")

    noon = DAY + dt.timedelta(hours=12, minutes=30)
    runner = StreamRunner(rules, enabled, TENANT, start=DAY + dt.timedelta(hours=6))
    runner.run_window(db, noon)
    minute = noon + dt.timedelta(minutes=1)
    began = time.perf_counter()
    runner.run_window(db, minute)
    one_minute = time.perf_counter() - began
    runner.run_window(db, noon + dt.timedelta(minutes=29))
    began = time.perf_counter()
    runner.run_window(db, noon + dt.timedelta(minutes=30))
    hour_mark = time.perf_counter() - began
    print(f"streaming: one more minute {one_minute:.2f} s {verdict(one_minute, TARGET_MINUTE_S)} "
          f"(target < {TARGET_MINUTE_S:.0f} s); "
          f"the minute that closes an hour {hour_mark:.2f} s")  # fmt: skip

    texts = indicators(args.indicators, args.seed)
    began = time.perf_counter()
    intel = Intel((build_list("bench", texts),))
    built = time.perf_counter() - began
    table = db.sql(
        "SELECT src_ip, dst_ip FROM flows WHERE tenant_id = $tenant", params={"tenant": TENANT}
    ).to_arrow_table()
    columns = [table.column(name).dictionary_encode() for name in ("src_ip", "dst_ip")]
    began = time.perf_counter()
    matched = [intel.match(column) for column in columns]
    matching = time.perf_counter() - began
    hits = sum(len(m) - m.null_count for m in matched)
    print(f"intel: {len(texts):,} indicators -> {intel.lists[0].stats.ranges:,} ranges in "
          f"{built:.2f} s; matched both ends of {rows:,} flows in {matching:.2f} s "
          f"({hits:,} matching ends)")  # fmt: skip
    probe = Intel((build_list("bench", texts),)).match(pa.array(texts[:1000]))
    if probe.null_count:
        problems.append(f"{probe.null_count} of 1000 listed addresses did not match")

    for problem in problems:
        print(f"WRONG: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
