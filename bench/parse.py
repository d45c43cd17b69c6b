"""Parse benchmark: flowcdr's ``parse_blob`` against a naive parser and the raw JSON floor.

    .venv/bin/python bench/parse.py [--mb 200] [--seed 1]

Three methods run on the same NSG v2 blob and the same VNet v4 blob (both from flowgen, cached
under build/bench/):

* ``flowcdr``: ``parse_blob(data)``, the code under test.
* ``naive``: what most connectors do (``json.loads``, walk the nesting, ``split(",")`` each tuple
  into a dict). The speed-up over it is the headline number.
* ``json-floor``: ``msgspec.json.decode`` into Python objects, the cost of merely reading the JSON
  the usual way, to show how close to that floor the parse is.

Each method runs in its own fresh child process (``--one``), so that ``ru_maxrss`` is that
method's peak alone and no method warms caches or the allocator for another. The targets are
printed as PASS/MISS for humans and never fail the run, because a shared VM is too noisy for a
hard timing gate. A row-count disagreement between flowcdr and naive is a correctness failure
and exits 1.
"""

import argparse
import gc
import hashlib
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import flowgen

BENCH_DIR = Path(__file__).resolve().parent
CACHE_DIR = BENCH_DIR.parent / "build" / "bench"
MB = 1_000_000
FORMATS: dict[str, Callable[[int, int], bytes]] = {
    "nsg": flowgen.nsg_v2_blob,
    "vnet": flowgen.vnet_v4_blob,
}
METHODS = ("flowcdr", "naive", "json-floor")
# Timed runs per method. One naive run is enough: at ~5 s per 100 MB its noise is small next to
# the gap being measured, and more runs would blow the time budget.
REPEATS = {"flowcdr": 3, "naive": 1, "json-floor": 3}
# Up to this input size the naive warm-up is cheap enough to be worth it.
NAIVE_WARMUP_MAX_BYTES = 50 * MB
TARGET_SPEEDUP = 8.0
TARGET_PEAK_RATIO = 4.0
TARGET_VNET_RATIO = 1.2


# --- child side: one method, one file ------------------------------------------------------


def naive_rows(data: bytes) -> list[dict[str, Any]]:
    """The baseline: one dict of 16 keys per tuple, the way most flow-log connectors parse.

    Written plainly but not carelessly (dict literals, no per-field helper calls), so the
    speed-up over it is not flattered by a strawman.
    """
    rows: list[dict[str, Any]] = []
    append = rows.append
    for record in json.loads(data)["records"]:
        if "flowRecords" in record:
            resource_id, mac = record["targetResourceID"], record["macAddress"]
            for acl in record["flowRecords"]["flows"]:
                for group in acl["flowGroups"]:
                    rule = group["rule"]
                    for text in group["flowTuples"]:
                        f = text.split(",")
                        append({
                            "time": int(f[0]), "src_ip": f[1], "dst_ip": f[2],
                            "src_port": int(f[3]), "dst_port": int(f[4]), "protocol": int(f[5]),
                            "direction": f[6], "state": f[7], "encryption": f[8],
                            "src_packets": int(f[9]) if f[9] else None,
                            "src_bytes": int(f[10]) if f[10] else None,
                            "dst_packets": int(f[11]) if f[11] else None,
                            "dst_bytes": int(f[12]) if f[12] else None,
                            "rule": rule, "mac": mac, "resource_id": resource_id,
                        })  # fmt: skip
        else:
            resource_id = record["resourceId"]
            for rule_flows in record["properties"]["flows"]:
                rule = rule_flows["rule"]
                for group in rule_flows["flows"]:
                    mac = group["mac"]
                    for text in group["flowTuples"]:
                        f = text.split(",")
                        append({
                            "time": int(f[0]), "src_ip": f[1], "dst_ip": f[2],
                            "src_port": int(f[3]), "dst_port": int(f[4]), "protocol": f[5],
                            "direction": f[6], "decision": f[7], "state": f[8],
                            "src_packets": int(f[9]) if f[9] else None,
                            "src_bytes": int(f[10]) if f[10] else None,
                            "dst_packets": int(f[11]) if f[11] else None,
                            "dst_bytes": int(f[12]) if f[12] else None,
                            "rule": rule, "mac": mac, "resource_id": resource_id,
                        })  # fmt: skip
    return rows


def _method(name: str) -> Callable[[bytes], Any]:
    """The call to time. Imports happen here, before timing, so a child loads only its own."""
    if name == "flowcdr":
        from flowcdr.formats import parse_blob

        return parse_blob
    if name == "naive":
        return naive_rows
    import msgspec

    return msgspec.json.decode


def _counts(name: str, result: Any) -> tuple[int | None, int | None, int | None]:
    """(rows, records, rejected) as far as the method knows them."""
    if name == "flowcdr":
        report = result.report
        return report.flows, report.records, report.rejected
    if name == "naive":
        return len(result), None, None
    return None, None, None


def _rss_now() -> int:
    """Resident bytes of this process right now (Linux /proc)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE")


def _peak_rss() -> int:
    """Peak resident bytes of this process so far (ru_maxrss is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def run_one(method: str, path: Path, repeat: int, warmup: bool) -> dict[str, Any]:
    """Time ``method`` on the file, dropping each output before the next run so peaks never add."""
    call = _method(method)
    data = path.read_bytes()
    gc.collect()
    rss_before = _rss_now()
    if warmup:
        call(data)
        gc.collect()
    times = []
    counts: tuple[int | None, int | None, int | None] = (None, None, None)
    for _ in range(repeat):
        start = time.perf_counter()
        result = call(data)
        times.append(time.perf_counter() - start)
        # Freeing the output is not part of parsing it: count, then drop it untimed.
        counts = _counts(method, result)
        del result
        gc.collect()
    rows, records, rejected = counts
    return {
        "method": method,
        "bytes": len(data),
        "times": times,
        "rows": rows,
        "records": records,
        "rejected": rejected,
        "rss_before": rss_before,
        "peak_rss": _peak_rss(),
    }


# --- parent side: blobs, children, table -----------------------------------------------------


def blob_path(fmt: str, mb: float, seed: int) -> Path:
    """The cached blob, generating it first if needed.

    The name carries a hash of flowgen.py, so editing the generator never reuses stale data;
    blobs from older generator versions with the same size and seed are removed.
    """
    version = hashlib.sha256((BENCH_DIR / "flowgen.py").read_bytes()).hexdigest()[:10]
    stem = f"{fmt}-{mb:g}mb-seed{seed}"
    path = CACHE_DIR / f"{stem}-{version}.json"
    if path.exists():
        return path
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    for stale in CACHE_DIR.glob(f"{stem}-*.json"):
        stale.unlink()
    start = time.perf_counter()
    data = FORMATS[fmt](int(mb * MB), seed)
    partial = path.with_suffix(".partial")
    partial.write_bytes(data)
    partial.replace(path)
    print(f"generated {path.name}: {len(data) / MB:.1f} MB in {time.perf_counter() - start:.1f} s")
    return path


def run_child(method: str, path: Path) -> dict[str, Any]:
    """Run one method in a fresh interpreter and return its measurements."""
    warmup = method != "naive" or path.stat().st_size <= NAIVE_WARMUP_MAX_BYTES
    command = [
        sys.executable,
        __file__,
        "--one",
        method,
        str(path),
        "--repeat",
        str(REPEATS[method]),
        "--warmup",
        str(int(warmup)),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"{method} on {path.name} failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return result


@dataclass(frozen=True)
class Row:
    """One table line. Every method on a blob uses naive's tuple count, so tuples/s compares
    like with like even for json-floor, which does not count tuples."""

    method: str
    fmt: str
    seconds: float
    tuples: int
    size: int
    rss_before: int
    peak_rss: int

    def cells(self) -> list[str]:
        return [
            self.method,
            self.fmt,
            f"{self.seconds:.3f}",
            f"{self.tuples / self.seconds / 1e6:.2f} M",
            f"{self.size / MB / self.seconds:.0f}",
            f"{self.rss_before / MB:.0f}",
            f"{self.peak_rss / MB:.0f}",
            f"{self.peak_rss / self.size:.2f}x",
        ]


HEADERS = [
    "method",
    "format",
    "median s",
    "tuples/s",
    "MB/s",
    "RSS before MB",
    "peak RSS MB",
    "peak/input",
]


def print_table(rows: list[Row]) -> None:
    table = [HEADERS] + [row.cells() for row in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(HEADERS))]
    for number, line in enumerate(table):
        print("  ".join(cell.rjust(width) for cell, width in zip(line, widths, strict=True)))
        if number == 0:
            print("  ".join("-" * width for width in widths))


def verdict(name: str, value: float, target: str, ok: bool) -> None:
    print(f"  {'PASS' if ok else 'MISS'}  {name}: {value:.2f} (target {target})")


def measure(fmt: str, mb: float, seed: int) -> tuple[dict[str, Row], bool]:
    """Every method on one format's blob, and whether flowcdr and naive agree on the rows."""
    path = blob_path(fmt, mb, seed)
    results = {method: run_child(method, path) for method in METHODS}
    ours = results["flowcdr"]
    size, tuples = ours["bytes"], results["naive"]["rows"]
    print(
        f"{fmt}: {path.name}, {size / MB:.1f} MB, {ours['records']:,} records, "
        f"{tuples:,} tuples ({size / tuples:.1f} B/tuple); flowcdr rows {ours['rows']:,}, "
        f"rejected {ours['rejected']:,}"
    )
    agree = ours["rows"] == tuples
    if not agree:
        print(f"  FAIL  {fmt}: flowcdr has {ours['rows']:,} rows, naive {tuples:,}")
    rows = {
        method: Row(
            method=method,
            fmt=fmt,
            seconds=statistics.median(result["times"]),
            tuples=tuples,
            size=size,
            rss_before=result["rss_before"],
            peak_rss=result["peak_rss"],
        )
        for method, result in results.items()
    }
    return rows, agree


def print_ratios(rows: dict[str, dict[str, Row]]) -> None:
    """The targets (PASS/MISS, for humans) and the informational ratios."""
    for fmt, by_method in rows.items():
        ours = by_method["flowcdr"]
        speedup = by_method["naive"].seconds / ours.seconds
        ok = speedup >= TARGET_SPEEDUP
        verdict(f"{fmt} flowcdr speed-up vs naive", speedup, f">= {TARGET_SPEEDUP:g}x", ok)
        peak = ours.peak_rss / ours.size
        ok = peak < TARGET_PEAK_RATIO
        verdict(f"{fmt} flowcdr peak RSS / input", peak, f"< {TARGET_PEAK_RATIO:g}x", ok)
        floor = ours.seconds / by_method["json-floor"].seconds
        print(f"  info  {fmt} flowcdr time / json-floor time: {floor:.2f}")
    nsg, vnet = rows["nsg"]["flowcdr"], rows["vnet"]["flowcdr"]
    ratio = vnet.seconds / nsg.seconds
    verdict(
        "VNet / NSG flowcdr time", ratio, f"<= {TARGET_VNET_RATIO:g}", ratio <= TARGET_VNET_RATIO
    )
    per_tuple = (vnet.seconds / vnet.tuples) / (nsg.seconds / nsg.tuples)
    print(f"  info  VNet / NSG flowcdr time per tuple: {per_tuple:.2f}")


def main_parent(mb: float, seed: int) -> int:
    """Generate or reuse the blobs, run every method on each, print results; 1 on a mismatch."""
    rows: dict[str, dict[str, Row]] = {}
    agree = True
    for fmt in FORMATS:
        rows[fmt], fmt_agrees = measure(fmt, mb, seed)
        agree &= fmt_agrees
    print()
    print_table([row for by_method in rows.values() for row in by_method.values()])
    print(
        "RSS before: the child with its imports and the input loaded, before the first call; "
        "peak: ru_maxrss over the warm-up and timed runs."
    )
    print()
    print_ratios(rows)
    return 0 if agree else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--mb", type=float, default=200, help="blob size in MB (default 200)")
    parser.add_argument("--seed", type=int, default=1, help="generator seed (default 1)")
    parser.add_argument("--one", nargs=2, metavar=("METHOD", "FILE"), help=argparse.SUPPRESS)
    parser.add_argument("--repeat", type=int, default=3, help=argparse.SUPPRESS)
    parser.add_argument("--warmup", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        method, file = args.one
        if method not in METHODS:
            parser.error(f"unknown method {method!r}; expected one of {', '.join(METHODS)}")
        print(json.dumps(run_one(method, Path(file), args.repeat, bool(args.warmup))))
        return 0
    return main_parent(args.mb, args.seed)


if __name__ == "__main__":
    sys.exit(main())
