"""The ingest soak (bench/soak.py), short: 30 s of three collectors against a real gateway.

The ten-minute run and its figures are in docs/reliability.md; this variant keeps the checks in
CI: nothing lost or duplicated, every resend answered as a replay, memory bounded. Flatness is
judged by the ten-minute run only: over 30 s the RSS of a gateway filling DuckDB's cache swings
by a third between merges, which would make a growth check here a coin toss.
"""

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"
SECONDS = 30
PEAK_MIB = 1500  # 30 s at 6,000 flows/s peaked near 400 MiB; ten minutes at 20,000 near 650


def test_a_short_soak_loses_nothing_duplicates_nothing_and_stays_flat(tmp_path: Path) -> None:
    out = tmp_path / "soak.json"
    done = subprocess.run(
        [sys.executable, "soak.py", "--seconds", str(SECONDS), "--collectors", "3",
         "--rate", "6000", "--batch", "2000", "--json", str(out)],
        cwd=BENCH, capture_output=True, text=True, timeout=SECONDS + 240, check=False,
    )  # fmt: skip
    assert out.exists(), done.stdout + done.stderr
    report = json.loads(out.read_text())
    print(done.stdout)
    assert report["failures"] == []
    assert report["batches"] >= SECONDS  # it really sent: about 3 batches a second
    assert report["flows_stored"] == report["flows_acknowledged"]
    assert report["batches_stored"] == report["batches"]
    assert report["replays"] == report["resends"] > 0
    assert report["rss_peak_mib"] < PEAK_MIB
