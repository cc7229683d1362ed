"""Median by selection, in place, for the Numba kernels.

Numba's ``np.median`` copies its input and was the slowest part of the robust-outlier
check (two medians per series). :func:`finite_median` narrows the search to a bracket
found from a small sample in one branch-free pass over the series, a histogram of the
bracketed values narrows it to one or two buckets, and Hoare's selection with a
median-of-three pivot finds the middle value among the few values left; a pathological
input that keeps the partitions lopsided falls back to a sort after a bounded number of
rounds, so the worst case is O(n log n). Results equal
``numpy.median`` exactly (the same middle values, averaged the same way).
"""

from __future__ import annotations

import math

import numpy as np

from desktop_app.qc._dispatch import njit

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


_SAMPLE = 256  # sample size of the bracketing pass
_MIN_BRACKET = 1024  # below this many values a plain selection is as fast
_BUCKETS = 256  # buckets of the histogram that narrows the bracketed values


@njit(cache=True, error_model="numpy")
def finite_median(x: np.ndarray, center: float, deviations: bool,
                  scratch: np.ndarray) -> tuple[float, int]:
    """``numpy.median`` of the values ``v`` of ``x`` where ``x`` is finite, with
    ``v = |x - center|`` when ``deviations`` (else ``v = x``), and how many there are
    (NaN median of none). ``x`` is not modified; ``scratch`` holds ``x.size`` floats.

    Floyd-Rivest style: two order statistics of a small sample of the values give a
    bracket ``[lo, hi]`` that holds the middle ranks with high probability; a branch-free
    pass counts the finite values and those below the bracket, another copies the ones
    inside to ``scratch``, and :func:`_middle_of_bracket` finds the middle among those
    few. A bracket that misses (unlucky sample) falls back to selecting on all values, so
    the result is always exactly the middle value(s), averaged as NumPy does."""
    n = x.size
    if n >= _MIN_BRACKET:
        sample = np.empty(_SAMPLE, np.float64)
        m = 0
        # scattered positions (Knuth's multiplicative hash), not a fixed stride: a stride
        # in step with the diurnal cycle samples a few hours of the day only; the hash is
        # scaled to 0..n-1 by a product and a shift, not a slow integer division
        for j in range(_SAMPLE):
            v = x[(((j * 2654435761) & 0xFFFFFFFF) * n) >> 32]
            if math.isfinite(v):
                sample[m] = abs(v - center) if deviations else v
                m += 1
        if m >= _SAMPLE // 2:
            # the middle of the finite values sits near the middle of the finite sample;
            # the bracket reaches 3 standard deviations of that rank's position either way
            reach = int(3.0 * math.sqrt(m * 0.25)) + 2
            a = max(m // 2 - reach, 0)
            b = min(m // 2 + reach, m - 1)
            lo = _select(sample[:m], a)
            hi = lo if b == a else _select(sample[a + 1:m], b - a - 1)
            if math.isfinite(lo) and math.isfinite(hi):
                # two passes, not one: the counts in a loop that vectorises, then the
                # copy (a store at a moving position, which does not) with nothing else
                # in its loop -- half the time of one loop doing both
                count = 0
                below = 0
                for i in range(n):
                    xi = x[i]
                    v = abs(xi - center) if deviations else xi
                    count += math.isfinite(xi)
                    # NaN compares false everywhere; -inf (never a deviation) is below
                    below += (v < lo) & (xi != -np.inf)
                inside = 0
                for i in range(n):
                    xi = x[i]
                    v = abs(xi - center) if deviations else xi
                    scratch[inside] = v
                    inside += (v >= lo) & (v <= hi)
                hi_rank = count // 2
                lo_rank = hi_rank - 1 if count % 2 == 0 else hi_rank
                if count > 0 and below <= lo_rank and hi_rank < below + inside:
                    return _middle_of_bracket(scratch[:inside], lo, hi, lo_rank - below,
                                              hi_rank - below), count
    count = 0
    for i in range(n):
        v = x[i]
        if math.isfinite(v):
            scratch[count] = abs(v - center) if deviations else v
            count += 1
    if count == 0:
        return np.nan, 0
    hi_rank = count // 2
    return _middle(scratch[:count], hi_rank, count % 2 == 0), count


@njit(cache=True, error_model="numpy")
def _middle_of_bracket(a: np.ndarray, lo: float, hi: float, lo_rank: int,
                       hi_rank: int) -> float:
    """The mean of the ``lo_rank``-th and ``hi_rank``-th smallest of ``a`` (``hi_rank``
    is ``lo_rank`` or one more), all of whose values lie in ``[lo, hi]`` (reorders).

    A histogram of equal-width buckets over ``[lo, hi]`` finds the buckets of the two
    ranks; only their values are kept and selected among. The bucket of a value is a
    monotone function of it (a subtraction, a product with a positive number and a floor,
    all rounded monotonically), so the buckets split ``a`` by rank exactly, whatever the
    rounding; values that pile up in one bucket (ties) only make the last selection
    longer."""
    scale = _BUCKETS / (hi - lo) if hi > lo else 0.0
    if not (math.isfinite(scale) and scale > 0.0):
        return _middle(a, hi_rank, lo_rank < hi_rank)
    top = _BUCKETS - 1
    # four histograms, summed after: neighbouring values of a series often share a
    # bucket, and one histogram would make each increment wait for the one before
    lanes = np.zeros((4, _BUCKETS), np.int64)
    for i in range(a.size):
        lanes[i & 3, min(int((a[i] - lo) * scale), top)] += 1
    counts = lanes[0] + lanes[1] + lanes[2] + lanes[3]
    # the buckets of the two ranks, and how many values lie below the first
    first = 0
    base = 0
    while base + counts[first] <= lo_rank:
        base += counts[first]
        first += 1
    last = first
    total = base + counts[first]
    while total <= hi_rank:
        last += 1
        total += counts[last]
    kept = 0
    for i in range(a.size):  # in place: ``kept`` never passes ``i``
        v = a[i]
        b = min(int((v - lo) * scale), top)
        a[kept] = v
        kept += (b >= first) & (b <= last)
    return _middle(a[:kept], hi_rank - base, lo_rank < hi_rank)


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
