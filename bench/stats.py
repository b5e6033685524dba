"""Percentiles, medians and sliding-window rates over plain lists."""
from __future__ import annotations

import bisect
import math
import statistics
from typing import Iterable, Sequence


def percentile(sorted_values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile of an already sorted list (None if empty)."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def summary_ms(values_ns: Iterable[int]) -> dict:
    """p50, p99 and max in milliseconds, and how many values."""
    ms = sorted(v / 1e6 for v in values_ns)
    return {"n": len(ms), "p50": percentile(ms, 50), "p99": percentile(ms, 99), "max": ms[-1] if ms else None}


def max_per_window(times_ns: Sequence[int], window_s: float = 1.0) -> int:
    """Most events in any window of `window_s` seconds (sliding, anchored at each event)."""
    ts = sorted(times_ns)
    width = int(window_s * 1e9)
    best = 0
    for i, t in enumerate(ts):
        best = max(best, bisect.bisect_left(ts, t + width) - i)
    return best


def median(values: Iterable[float | None]) -> float | None:
    vals = [v for v in values if v is not None]
    return statistics.median(vals) if vals else None
