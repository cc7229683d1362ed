"""Median by selection, in place, for the Numba kernels.

Numba's ``np.median`` copies its input and was the slowest part of the robust-outlier
check (two medians per series). :func:`finite_median` narrows the search to a bracket
found from a small sorted sample in one branch-free pass, then Hoare's selection with a
median-of-three pivot finds the middle value in expected O(n) among the few values left;
a pathological input that keeps the partitions lopsided falls back to a sort after a
bounded number of rounds, so the worst case is O(n log n). Results equal
``numpy.median`` exactly (the same middle values, averaged the same way).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

_MAX_ROUNDS = 64


@njit(cache=True, error_model="numpy")
def _select(a: np.ndarray, k: int) -> float:
    """Reorder ``a`` so that ``a[:k] <= a[k] <= a[k + 1:]``; return ``a[k]``."""
    lo = 0
    hi = a.size - 1
    rounds = 0
    while hi > lo:
        rounds += 1
        if rounds > _MAX_ROUNDS:
            a[lo:hi + 1].sort()
            break
        mid = (lo + hi) >> 1
        if a[mid] < a[lo]:
            a[mid], a[lo] = a[lo], a[mid]
        if a[hi] < a[lo]:
            a[hi], a[lo] = a[lo], a[hi]
        if a[hi] < a[mid]:
            a[hi], a[mid] = a[mid], a[hi]
        pivot = a[mid]
        i = lo
        j = hi
        while i <= j:
            while a[i] < pivot:
                i += 1
            while a[j] > pivot:
                j -= 1
            if i <= j:
                a[i], a[j] = a[j], a[i]
                i += 1
                j -= 1
        if k <= j:
            hi = j
        elif k >= i:
            lo = i
        else:
            break  # j < k < i: a[k] equals the pivot and sits in place
    return a[k]


_SAMPLE = 256  # sample size of the bracketing pass (sorting it must stay cheap)
_MIN_BRACKET = 1024  # below this many values a plain selection is as fast


@njit(cache=True, error_model="numpy")
def finite_median(x: np.ndarray, center: float, deviations: bool, scratch: np.ndarray,
                  known_count: int) -> tuple[float, int]:
    """``numpy.median`` of the values ``v`` of ``x`` where ``x`` is finite, with
    ``v = |x - center|`` when ``deviations`` (else ``v = x``), and how many there are
    (NaN median of none). ``x`` is not modified; ``scratch`` holds ``x.size`` floats.

    Floyd-Rivest style: a sorted sample of the values gives a bracket ``[lo, hi]`` that
    holds the middle ranks with high probability; one branch-free pass counts the values
    below it and copies the ones inside to ``scratch``, and the selection runs on those
    few. A bracket that misses (unlucky sample) falls back to selecting on all values, so
    the result is always exactly the middle value(s), averaged as NumPy does.
    ``known_count`` is the number of finite values when the caller knows it (a second
    median of the same series), else -1: a pass over ``x`` to count them."""
    n = x.size
    count = known_count
    if count < 0:
        count = 0
        for i in range(n):
            count += math.isfinite(x[i])
    if count == 0:
        return np.nan, 0
    hi_rank = count // 2
    lo_rank = hi_rank - 1 if count % 2 == 0 else hi_rank
    if count >= _MIN_BRACKET:
        sample = np.empty(_SAMPLE, np.float64)
        m = 0
        # scattered positions (Knuth's multiplicative hash), not a fixed stride: a stride
        # in step with the diurnal cycle samples a few hours of the day only
        for j in range(_SAMPLE):
            v = x[(j * 2654435761) % n]
            if math.isfinite(v):
                sample[m] = abs(v - center) if deviations else v
                m += 1
        if m >= _SAMPLE // 2:
            s = np.sort(sample[:m])
            # rank of the middle in the sample +- 3 standard deviations of its position
            reach = int(3.0 * math.sqrt(m * 0.25)) + 2
            mid = (m * lo_rank) // count
            lo = s[max(mid - reach, 0)]
            hi = s[min(mid + reach, m - 1)]
            if math.isfinite(lo) and math.isfinite(hi):
                below = 0
                inside = 0
                for i in range(n):
                    xi = x[i]
                    v = abs(xi - center) if deviations else xi
                    # NaN compares false everywhere; -inf (never a deviation) is below
                    below += (v < lo) & (xi != -np.inf)
                    scratch[inside] = v
                    inside += (v >= lo) & (v <= hi)
                if below <= lo_rank and hi_rank < below + inside:
                    return _middle(scratch[:inside], hi_rank - below, lo_rank < hi_rank), count
    m = 0
    for i in range(n):
        v = x[i]
        if math.isfinite(v):
            scratch[m] = abs(v - center) if deviations else v
            m += 1
    return _middle(scratch[:m], hi_rank, lo_rank < hi_rank), count


@njit(cache=True, error_model="numpy")
def _middle(a: np.ndarray, k: int, even: bool) -> float:
    """The k-th smallest of ``a``, averaged with the (k-1)-th when ``even`` (reorders)."""
    upper = _select(a, k)
    if not even:
        return upper
    lower = a[0]
    for i in range(1, k):
        if a[i] > lower:
            lower = a[i]
    return (lower + upper) / 2.0
