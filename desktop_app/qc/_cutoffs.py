"""Thresholds on a quotient turned into thresholds on its dividend, exactly.

A kernel that flags ``d / s > t`` for one divisor ``s`` shared by a whole series (the
rate of change on a regular time axis, the robust outlier's ``|v - median| / scale``)
pays a division per value, the slowest operation of its loop. A correctly rounded
quotient is monotone in ``d``, so ``d / s > t`` is exactly ``d > c`` for the largest ``c``
with ``not (c / s > t)``: found once, it leaves a comparison per value.
"""

from __future__ import annotations

import math

import numpy as np

from desktop_app.qc._dispatch import njit

# a step longer than this: |dv| * tiny < step for every finite dv (|dv| * tiny <= 4), and
# dv / step never overflows, so numpy.ma masks only a non-finite dv
CUTOFF_MIN_STEP = 4.0


def rate_cutoff(threshold: float, step: float) -> float:
    """The largest ``d`` (``-inf`` for none) with ``not (abs(d / step) > threshold)``
    for a step longer than ``CUTOFF_MIN_STEP``: then ``abs(dv / step) > threshold`` is
    exactly ``abs(dv) > rate_cutoff(threshold, step)``, with no division per value.
    Exact because a correctly rounded quotient is monotone in ``d``: a binary search over
    the bit patterns of the non-negative doubles (ordered as their values), +inf included
    (an infinite ``dv``, which ioos_qc's masked division compares raw, as ``inf``)."""
    if not step > CUTOFF_MIN_STEP or math.isinf(step):
        raise ValueError(f"no rate cutoff for a step of {step} s")
    if math.isnan(threshold):
        return math.inf  # nothing compares greater than NaN: never flagged

    def flat(bits: int) -> bool:  # not flagged at d = the double with these bits
        d = float(np.int64(bits).view(np.float64))
        return not (abs(d / step) > threshold)

    lo, hi = 0, int(np.float64(math.inf).view(np.int64))
    if not flat(lo):
        return -math.inf  # even a zero change is flagged (a negative threshold)
    if flat(hi):
        return math.inf
    while hi - lo > 1:  # flat(lo), not flat(hi)
        mid = (lo + hi) // 2
        if flat(mid):
            lo = mid
        else:
            hi = mid
    return float(np.int64(lo).view(np.float64))


@njit(cache=True, error_model="numpy")
def z_cutoff(z: float, scale: float) -> float:
    """The largest ``d`` with ``not (d / scale > z)``, so that ``d / scale > z`` is
    exactly ``d > cutoff`` (the quotient is correctly rounded, so monotone in ``d``),
    found from ``z * scale`` in a few steps of one ulp; NaN (divide instead) for a
    ``z`` or ``scale`` outside (0, inf) or when a few steps do not find it."""
    if not (0.0 < z < math.inf and 0.0 < scale < math.inf):
        return math.nan
    c = z * scale
    for _ in range(8):
        if not (c / scale > z):
            break
        c = np.nextafter(c, 0.0)
    else:
        return math.nan
    for _ in range(8):
        up = np.nextafter(c, math.inf)
        if up / scale > z:
            return c
        c = up
    return math.nan
