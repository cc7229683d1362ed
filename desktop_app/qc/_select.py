"""Median by selection, in place, for the Numba kernels.

Numba's ``np.median`` copies its input and was the slowest part of the robust-outlier
check (two medians per series). Hoare's selection with a median-of-three pivot finds
the middle value in expected O(n) on the caller's scratch buffer; a pathological input
that keeps the partitions lopsided falls back to a sort after a bounded number of
rounds, so the worst case is O(n log n). Results equal ``numpy.median`` exactly (the
same middle values, averaged the same way); the input must be NaN-free.
"""

from __future__ import annotations

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


@njit(cache=True, error_model="numpy")
def median_inplace(a: np.ndarray) -> float:
    """``numpy.median(a)`` of a non-empty NaN-free array, reordering ``a``."""
    n = a.size
    k = n // 2
    upper = _select(a, k)
    if n % 2 == 1:
        return upper
    lower = a[0]
    for i in range(1, k):  # the largest of the lower half: the other middle value
        if a[i] > lower:
            lower = a[i]
    return (lower + upper) / 2.0
