"""RITA's beacon score, re-implemented from its description (research section 3).

A pair of hosts is scored on four things, each 0..1: how regular the gaps between connection
starts are (``ts``), how regular the bytes the originator sent per connection are (``ds``),
how evenly connections spread over the window's 24 bins (``hist``) and how much of the window
they cover (``dur``). The score is their mean. Flow logs change the inputs only: a connection
is a source port's first tuple, its size the sum of its ``src_bytes``. NSG v1 logs have no
byte counts: ``ds`` is then left out and the other three weigh a third each.

The window plays RITA's "dataset": its 24 bins are an hour each over a day, and proportionally
shorter over a shorter window.
"""

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

BINS = 24
CONSISTENCY_IDEAL_BINS = 12
BIMODAL_MIN_BARS = 11
DURATION_MIN_BARS = 6
MODE_SENSITIVITY = 0.05

Floats = npt.NDArray[np.float64]


@dataclass(frozen=True)
class BeaconScore:
    score: float
    ts: float
    ds: float | None
    hist: float
    dur: float


def _skew_mad(values: Floats, mad_when_tiny: float) -> float:
    """Mean of the Bowley-skew score and the median-absolute-deviation score."""
    q1, q2, q3 = (float(q) for q in np.percentile(values, [25, 50, 75]))
    skew = 0.0
    if q3 - q1 >= 10 and q2 not in (q1, q3):
        skew = (q1 + q3 - 2 * q2) / (q3 - q1)
    mad = float(np.median(np.abs(values - q2)))
    mad_score = mad_when_tiny if q2 < 1 else max((q2 - mad) / q2, 0.0)
    return round(((1 - abs(skew)) + mad_score) / 2, 3)


def _hist_and_dur(starts: Floats, window: tuple[float, float]) -> tuple[float, float]:
    low, high = window
    counts, _ = np.histogram(starts, bins=BINS, range=(low, high))
    bars = int(np.count_nonzero(counts))
    mean = float(counts.mean())
    cv = float(counts.std()) / mean if mean else math.inf
    hist = max(0.0, 1 - cv)
    if bars >= BIMODAL_MIN_BARS:
        width = math.ceil(counts.max() * MODE_SENSITIVITY)
        heights = np.bincount(counts[counts > 0] // width)
        top = np.sort(heights)[::-1][:2]
        hist = max(hist, min(1.0, float(top.sum()) / max(bars - 1, 1)))
    dur = 0.0
    if bars >= DURATION_MIN_BARS:
        coverage = min(1.0, (float(starts.max()) - float(starts.min())) / (high - low))
        filled = np.concatenate([counts, counts]) > 0
        longest = run = 0
        for full in filled:
            run = run + 1 if full else 0
            longest = max(longest, run)
        consistency = min(1.0, min(longest, BINS) / CONSISTENCY_IDEAL_BINS)
        dur = max(coverage, consistency)
    return round(hist, 3), round(dur, 3)


def beacon_score(
    starts: list[float], sizes: list[float] | None, window: tuple[float, float]
) -> BeaconScore | None:
    """Score one pair from its connection start times (seconds) and sizes over ``window``;
    None when there are fewer than three non-zero gaps to judge."""
    times = np.sort(np.asarray(starts, np.float64))
    gaps = np.diff(times)
    gaps = gaps[gaps > 0]
    if len(gaps) < 3:
        return None
    ts = _skew_mad(gaps, mad_when_tiny=1.0)
    hist, dur = _hist_and_dur(times, window)
    if sizes is None:
        return BeaconScore(round((ts + hist + dur) / 3, 3), ts, None, hist, dur)
    ds = _skew_mad(np.asarray(sizes, np.float64), mad_when_tiny=0.0)
    return BeaconScore(round((ts + ds + hist + dur) / 4, 3), ts, ds, hist, dur)
