"""Simulator benchmark: one day of 500 VMs (about 10 million flows a format) written to disk.

    .venv/bin/python bench/simulate.py [--hours 24] [--vms 500] [--format vnet|nsg|both]

The issue's target is "a few minutes on this machine, bounded memory". The run writes real blob
files (under build/bench/simulate/, replaced each run) with every scenario injected, then prints
flows per second, the time, the bytes written and the peak RSS. Peak RSS is ``ru_maxrss`` of this
process, which only holds one simulated hour at a time, so it must not grow with ``--hours``:
``--hours 2`` and ``--hours 24`` should print about the same peak. The target is printed as
PASS/MISS and never fails the run (a shared VM is too noisy for a hard gate).
"""

import argparse
import resource
import shutil
import time
from pathlib import Path

from flowcdr.simulate import SCENARIOS, FolderSink, LogFormat, Plan, Simulation, Totals

OUT = Path(__file__).resolve().parent.parent / "build" / "bench" / "simulate"
START_MS = 1_795_132_800_000  # 2026-11-19 00:00 UTC, a Thursday
TARGET_SECONDS_PER_DAY_500_VMS = 180.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hours", type=int, default=24)
    parser.add_argument("--vms", type=int, default=500)
    parser.add_argument("--format", choices=("nsg", "vnet", "both"), default="vnet")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    formats = tuple(LogFormat) if args.format == "both" else (LogFormat(args.format),)
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)
    plan = Plan(START_MS, args.hours, args.seed, args.vms, formats, tuple(SCENARIOS))
    began = time.perf_counter()
    simulation = Simulation(plan)

    def progress(totals: Totals) -> None:
        elapsed = time.perf_counter() - began
        print(f"  hour {totals.hours:3d}: {totals.flows:>11,} flows, {elapsed:6.1f} s", flush=True)

    totals = simulation.run(FolderSink(OUT), progress=progress)
    seconds = time.perf_counter() - began
    written = sum(path.stat().st_size for path in OUT.rglob("PT1H.json"))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"{args.hours} h x {args.vms} VMs ({args.format}): {totals.flows:,} flows, "
        f"{totals.records:,} records, {totals.blobs:,} blobs, {written / 1e6:,.0f} MB"
    )
    print(
        f"time {seconds:.1f} s, {totals.flows / seconds:,.0f} flows/s, peak RSS {peak_mb:,.0f} MB"
    )
    per_day_500 = seconds * (24 / args.hours) * (500 / args.vms) / len(formats)
    verdict = "PASS" if per_day_500 <= TARGET_SECONDS_PER_DAY_500_VMS else "MISS"
    print(
        f"scaled to one day x 500 VMs per format: {per_day_500:.0f} s "
        f"(target <= {TARGET_SECONDS_PER_DAY_500_VMS:.0f} s): {verdict}"
    )


if __name__ == "__main__":
    main()
