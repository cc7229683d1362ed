"""Timing helpers shared by the benchmarks (not a benchmark itself)."""

from __future__ import annotations

import time
from collections.abc import Callable


def best_time(fn: Callable[[], object], repeats: int = 5) -> float:
    """Best of ``repeats`` after a warm-up: on a shared machine the minimum is the
    least noisy estimate of what the code itself costs."""
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def best_pair(a: Callable[[], object], b: Callable[[], object], repeats: int = 9
              ) -> tuple[float, float]:
    """Best times of two functions measured interleaved, so load changes hit both."""
    a()
    b()
    ta, tb = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        a()
        t1 = time.perf_counter()
        b()
        t2 = time.perf_counter()
        ta.append(t1 - t0)
        tb.append(t2 - t1)
    return min(ta), min(tb)
