"""Numba kernels behind :mod:`desktop_app.qc.checks`.

Every kernel takes plain float64/int arrays that the public wrappers in ``checks`` have
already normalised (times as seconds, thresholds as floats, booleans for "is this
option set") and returns uint8 QARTOD flags. They are compiled with ``cache=True`` so the
compile cost is paid once per machine, not once per run; :func:`warm_up` compiles (or
loads) all of them and reports how long that took. The installer carries them compiled
ahead of time instead (``@export`` declares an entry point's signature for that build;
see :mod:`._dispatch`).

Set ``NUMBA_DISABLE_JIT=1`` to run these as plain Python (slow, but coverage and
debuggers see every line) -- Numba's own switch, the same one napari uses.

The comments name the ioos_qc / titanlib behaviour each branch reproduces; the plain
NumPy reference in ``reference.py`` is written independently and the tests compare both.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from desktop_app.qc._cutoffs import z_cutoff
from desktop_app.qc._dispatch import export, njit
from desktop_app.qc._select import finite_median

PASS = np.uint8(1)
NOT_EVALUATED = np.uint8(2)
SUSPECT = np.uint8(3)
FAIL = np.uint8(4)
MISSING = np.uint8(9)

# numpy.ma's safe division masks a quotient when |a| * tiny >= |b|.
_TINY = np.finfo(np.float64).tiny


@export("f8[::1], f8, f8, f8, f8, b1, u1[::1]", cache=True, error_model="numpy")
def gross_range_into(
    x: np.ndarray, fail_lo: float, fail_hi: float, sus_lo: float, sus_hi: float,
    has_suspect: bool, out: np.ndarray,
) -> None:
    for i in range(x.size):
        v = x[i]
        # ioos_qc marks NaN and +-inf missing first, then lets the span comparisons
        # overwrite: so +-inf outside a span ends as FAIL/SUSPECT, NaN stays MISSING.
        f = PASS if math.isfinite(v) else MISSING
        if has_suspect and (v < sus_lo or v > sus_hi):
            f = SUSPECT
        if v < fail_lo or v > fail_hi:
            f = FAIL
        out[i] = f


@njit(cache=True, error_model="numpy")
def _floor_seconds(ns: np.int64) -> float:
    """``ns // 10**9`` as a float, without a slow 64-bit integer division: a float
    quotient, then an exact integer correction of its last step."""
    q = np.int64(math.floor(ns * 1e-9))  # may be one off either way: corrected below
    # branch-free correction (keeps the caller's loop free of unpredictable jumps)
    q -= np.int64(q * 1_000_000_000 > ns)
    q += np.int64((q + 1) * 1_000_000_000 <= ns)
    return float(q)


@export("i8[::1]", returns="f8[::1]", cache=True, error_model="numpy")
def step_seconds(t_ns: np.ndarray) -> np.ndarray:
    """Time steps of int64 nanoseconds ``t_ns`` in whole seconds, floored like NumPy's
    ``timedelta64[ns] -> [s]`` cast that ioos_qc uses (``n - 1`` values)."""
    out = np.empty(max(t_ns.size - 1, 0), np.float64)
    for i in range(1, t_ns.size):
        out[i - 1] = _floor_seconds(t_ns[i] - t_ns[i - 1])
    return out


@njit(cache=True, error_model="numpy")
def rate_of_change_into(
    x: np.ndarray, steps: np.ndarray, threshold: float, fail_threshold: float,
    has_fail: bool, out: np.ndarray,
) -> None:
    """``steps``: :func:`step_seconds` of the series' times (shared by all stations)."""
    n = x.size
    if n == 0:
        return
    out[0] = PASS
    for i in range(1, n):
        f = PASS
        dv = x[i] - x[i - 1]
        step = steps[i - 1]
        # ioos_qc divides with numpy.ma, which masks a zero step or a non-finite rate
        # but still compares the masked entry's underlying data, |dv|: so after a zero
        # step the raw difference meets the threshold, and a value next to +-inf
        # (dv infinite) is flagged while one next to NaN is not. Reproduced on purpose.
        # (selects, not branches: the loop vectorises)
        rate = dv / step
        masked = (abs(dv) * _TINY >= abs(step)) | (not math.isfinite(rate))
        roc = abs(dv) if masked else abs(rate)
        f = SUSPECT if roc > threshold else f
        f = FAIL if has_fail & (roc > fail_threshold) else f
        out[i] = f if math.isfinite(x[i]) else MISSING
    if not math.isfinite(x[0]):
        out[0] = MISSING


@njit(cache=True, error_model="numpy")
def rate_of_change_cut_into(x: np.ndarray, suspect_cut: float, fail_cut: float,
                            out: np.ndarray) -> None:
    """:func:`rate_of_change_into` on a regular series, with the thresholds turned into
    cutoffs of |dv| by :func:`._cutoffs.rate_cutoff` (``fail_cut`` +inf: no fail
    threshold): the same flags, without a division per value (the slowest part of the
    loop)."""
    n = x.size
    if n == 0:
        return
    out[0] = PASS if math.isfinite(x[0]) else MISSING
    for i in range(1, n):  # selects, not branches: the loop vectorises
        d = abs(x[i] - x[i - 1])
        f = SUSPECT if d > suspect_cut else PASS
        f = FAIL if d > fail_cut else f
        out[i] = f if math.isfinite(x[i]) else MISSING


@export("f8[::1], i8[::1], f8, f8, b1", returns="u1[::1]", cache=True, error_model="numpy")
def rate_of_change(
    x: np.ndarray, t_ns: np.ndarray, threshold: float, fail_threshold: float, has_fail: bool
) -> np.ndarray:
    """``t_ns``: int64 nanoseconds (see :func:`step_seconds`)."""
    out = np.empty(x.size, np.uint8)
    rate_of_change_into(x, step_seconds(t_ns), threshold, fail_threshold, has_fail, out)
    return out


# |a + c| * tiny < 2 exactly when |a + c| < 2**1023 (tiny is 2**-1022: the product is
# exact wherever it could reach 2), false for NaN and +-inf
_HALF_MAX = 2.0 ** 1023


@export("f8[::1], f8, f8, b1, b1, b1, u1[::1]", cache=True, error_model="numpy")
def spike_into(
    x: np.ndarray, suspect: float, fail: float, use_suspect: bool, use_fail: bool,
    differential: bool, out: np.ndarray,
) -> None:
    # selects, not branches: the loop bodies have no jumps, so they vectorise
    n = x.size
    if not differential:
        for i in range(1, n - 1):
            b = x[i]
            total = x[i - 1] + x[i + 1]
            # ioos_qc masks the reference where a neighbour is missing (then the sum is
            # not finite) and, by numpy.ma's safe division, where |a + c| * tiny >= 2
            # (|a + c| of about 9e307 and more): not evaluated. ``total / 2`` exactly.
            diff = abs(b - total * 0.5)
            ok = (abs(total) < _HALF_MAX) & (diff < math.inf)
            f = SUSPECT if use_suspect & (diff > suspect) else PASS
            f = FAIL if use_fail & (diff > fail) else f
            f = f if ok else NOT_EVALUATED
            out[i] = f if math.isfinite(b) else MISSING
    else:
        for i in range(1, n - 1):
            a = x[i - 1]
            b = x[i]
            c = x[i + 1]
            # a missing neighbour: the reference is masked, the value not evaluated
            ok = math.isfinite(a) & math.isfinite(b) & math.isfinite(c)
            d1 = b - a
            d2 = c - b
            diff = min(abs(d1), abs(d2))
            diff = 0.0 if d1 * d2 >= 0 else diff  # both steps the same way: not a spike
            ok = ok & math.isfinite(diff)
            f = SUSPECT if use_suspect & (diff > suspect) else PASS
            f = FAIL if use_fail & (diff > fail) else f
            f = f if ok else NOT_EVALUATED
            out[i] = f if math.isfinite(b) else MISSING
    for i in (0, n - 1):  # the ends have one neighbour only
        if i >= 0:
            out[i] = NOT_EVALUATED if math.isfinite(x[i]) else MISSING


@export("f8[::1], i8, i8, f8, b1, u1[::1]", cache=True, error_model="numpy")
def flat_line_into(x: np.ndarray, suspect_count: int, fail_count: int, tolerance: float,
                   evaluate: bool, out: np.ndarray) -> None:
    """Flag x[i] SUSPECT (FAIL) when the finite values of x[i-count .. i] span less than
    ``tolerance`` (ioos_qc: ``abs(max - min) < tolerance`` over the masked window; an
    all-missing window is not flat), for both counts, O(n).

    A step of at least ``tolerance`` between two neighbouring finite values breaks every
    window that holds both (the window's range is at least that step, in floating point
    too: rounding is monotone). So x[i] can only be flagged when the last such step
    before it lies ``count`` or more values back, and the streaming scan
    (:func:`_flat_windows`) restarts at such a step in the same state whatever came
    before it. One branch-free pass finds the steps; only the stretches between two of
    them that are longer than the shorter count (few or none in a live series) are
    scanned."""
    n = x.size
    if n < 3:  # ioos_qc: too short to test, everything passes (even missing values)
        for i in range(n):
            out[i] = PASS
        return
    for i in range(n):
        out[i] = PASS if math.isfinite(x[i]) else MISSING
    if not evaluate:
        return
    reach = min(suspect_count, fail_count)
    if reach == 0:  # a one-value window is flat: every stretch needs the scan, in one go
        _flat_windows(x, suspect_count, fail_count, tolerance, 0, n, out)
        return
    # the steps first, in a loop that vectorises; then the (serial) walk over them
    big = np.empty(n, np.uint8)
    for j in range(1, n):
        a = x[j - 1]
        b = x[j]
        # the same float expression as the scan's restart (false for a NaN tolerance)
        big[j] = math.isfinite(a) & math.isfinite(b) & (not (abs(b - a) < tolerance))
    big[0] = 1  # (not a step: only keeps the windows below from starting quiet there)
    if not _quiet_run(big, reach):
        return  # no stretch between two such steps is longer than ``reach``: none flat
    seg = 0  # the last step that breaks every window holding it, or the series' start
    for j in range(1, n):
        step = big[j] != 0
        if step & (j - seg > reach):
            _flat_windows(x, suspect_count, fail_count, tolerance, seg, j, out)
        seg = j if step else seg
    if n - seg > reach:
        _flat_windows(x, suspect_count, fail_count, tolerance, seg, n, out)


_QUIET_TEST_MAX = 32  # reach up to which the test below costs less than the walk


@njit(cache=True, error_model="numpy")
def _quiet_run(big: np.ndarray, reach: int) -> bool:
    """Whether ``reach`` (>= 1) neighbouring entries of ``big[1:]`` may all be zero:
    the test for a stretch the serial walk of :func:`flat_line_into` would scan, as an OR
    of ``reach`` shifted copies and a minimum, loops that vectorise (several times faster
    than the walk on noisy data, where there is no such stretch). For a longer reach
    it answers True without looking (the walk then decides)."""
    if reach > _QUIET_TEST_MAX:
        return True
    m = big.size - reach  # windows big[j:j + reach] for j = 1 .. m
    if m < 1:
        return False
    acc = big[1:m + 1].copy()
    for s in range(1, reach):
        src = big[1 + s:m + 1 + s]
        for j in range(m):
            acc[j] |= src[j]
    low = np.uint8(1)
    for j in range(m):
        low = min(low, acc[j])
    return low == 0


@njit(cache=True, error_model="numpy")
def _flat_windows(x: np.ndarray, suspect_count: int, fail_count: int, tolerance: float,
                  i0: int, i1: int, out: np.ndarray) -> None:
    """:func:`flat_line_into`'s flags of the finite values of ``x[i0:i1]``, scanning from
    ``i0`` as if the series started there (``i0`` is its start or the end of a step that
    breaks every window holding it, so no flat window reaches back before it).

    Streaming: ``start`` is the first index from which the finite values up to i are
    still flat. Widening a window can only widen its range, so the flat windows ending
    at i are exactly those starting at ``start`` or later, and ``start`` never moves
    back. Two monotone queues hold the candidate indices of the window's max and min;
    when the range is too wide, the older of the two fronts is dropped and ``start``
    jumps past it (no window still holding it can be flat)."""
    qmax = np.empty(i1 - i0, np.int64)
    qmin = np.empty(i1 - i0, np.int64)
    hmax = tmax = hmin = tmin = 0
    start = i0
    last_finite = -1
    for i in range(i0, i1):
        v = x[i]
        if not math.isfinite(v):
            continue  # its flag stays MISSING; its window ends no flat stretch
        # fast path for noisy data: a step of at least ``tolerance`` from the last
        # finite value ends every window holding both, so the queues restart
        if last_finite >= 0 and not (abs(v - x[last_finite]) < tolerance):
            hmax = tmax = hmin = tmin = 0
            start = last_finite + 1
        last_finite = i
        while tmax > hmax and x[qmax[tmax - 1]] <= v:
            tmax -= 1
        qmax[tmax] = i
        tmax += 1
        while tmin > hmin and x[qmin[tmin - 1]] >= v:
            tmin -= 1
        qmin[tmin] = i
        tmin += 1
        # the same float expression as ioos_qc; false for a NaN tolerance too
        while tmax > hmax and not (abs(x[qmax[hmax]] - x[qmin[hmin]]) < tolerance):
            p = min(qmax[hmax], qmin[hmin])
            start = p + 1
            if qmax[hmax] == p:
                hmax += 1
            if qmin[hmin] == p:
                hmin += 1
        if i - suspect_count >= start:
            out[i] = SUSPECT
        if i - fail_count >= start:
            out[i] = FAIL


@export("f8[::1], f8, f8, i8, u1[::1]", cache=True, error_model="numpy")
def robust_outlier_into(x: np.ndarray, suspect_z: float, fail_z: float, min_count: int,
                        out: np.ndarray) -> None:
    n = x.size
    scratch = np.empty(n, np.float64)
    # two bracketed selections on a scratch buffer: no copy of the finite values, no sort
    med, count = finite_median(x, 0.0, False, scratch)
    evaluate = count >= min_count and count > 0
    scale = 0.0
    if evaluate:
        # 1.4826 * MAD estimates the standard deviation of normal data
        scale = 1.482602218505602 * finite_median(x, med, True, scratch)[0]
        evaluate = scale > 0.0
    if not evaluate:
        for i in range(n):
            out[i] = NOT_EVALUATED if math.isfinite(x[i]) else MISSING
        return
    sus_cut = z_cutoff(suspect_z, scale)
    fail_cut = z_cutoff(fail_z, scale)
    if math.isnan(sus_cut) or math.isnan(fail_cut):
        for i in range(n):  # selects, not branches: the loop vectorises
            v = x[i]
            z = abs(v - med) / scale
            f = SUSPECT if z > suspect_z else PASS
            f = FAIL if z > fail_z else f
            out[i] = f if math.isfinite(v) else MISSING
        return
    for i in range(n):  # the same flags, without a division per value
        v = x[i]
        d = abs(v - med)
        f = SUSPECT if d > sus_cut else PASS
        f = FAIL if d > fail_cut else f
        out[i] = f if math.isfinite(v) else MISSING


@export("f8[::1], i8[::1], f8[::1], f8[::1], u1[::1]", cache=True, error_model="numpy")
def climatology_into(x: np.ndarray, month: np.ndarray, lo: np.ndarray, hi: np.ndarray,
                     out: np.ndarray) -> None:
    """``month`` is 0..11 per value; outside that month's [lo, hi] is SUSPECT."""
    climatology_bounds_into(x, lo[month], hi[month], out)


@njit(cache=True, error_model="numpy")
def climatology_bounds_into(x: np.ndarray, lo_t: np.ndarray, hi_t: np.ndarray,
                            out: np.ndarray) -> None:
    """:func:`climatology_into` with each value's bounds already looked up (once for all
    stations of a shared time axis); selects, not branches, so the loop vectorises."""
    for i in range(x.size):
        v = x[i]
        lo = lo_t[i]
        hi = hi_t[i]
        f = SUSPECT if (v < lo) | (v > hi) else PASS
        f = NOT_EVALUATED if math.isnan(lo) | math.isnan(hi) else f
        out[i] = f if math.isfinite(v) else MISSING


def _allocating(into: Callable[..., None]) -> Callable[..., np.ndarray]:
    """The kernel ``into(x, *args, out)`` as ``f(x, *args) -> flags``: one uint8 flag per
    value of ``x``, in a new array."""

    def kernel(x: np.ndarray, *args: Any) -> np.ndarray:
        out = np.empty(x.size, np.uint8)
        into(x, *args, out)
        return out

    kernel.__name__ = kernel.__qualname__ = into.__name__.removesuffix("_into")
    kernel.__doc__ = into.__doc__
    return kernel


gross_range = _allocating(gross_range_into)
spike = _allocating(spike_into)
flat_line = _allocating(flat_line_into)
robust_outlier = _allocating(robust_outlier_into)
climatology = _allocating(climatology_into)


def warm_up() -> float:
    """Compile (or load from the on-disk cache) this module's kernels; return the seconds
    taken. The buddy check's kernels warm up in :func:`desktop_app.qc.checks.buddy_warm_up`;
    :func:`desktop_app.qc.registry.warm_up` runs every registered test's warm-up."""
    start = time.perf_counter()
    x = np.array([1.0, 2.0, np.nan, 4.0])
    gross_range(x, 0.0, 1.0, 0.0, 1.0, True)
    rate_of_change(x, np.arange(4, dtype=np.int64), 1.0, 2.0, True)
    spike(x, 1.0, 2.0, True, True, False)
    flat_line(x, 1, 2, 0.1, True)
    robust_outlier(x, 3.0, 5.0, 2)
    climatology(x, np.zeros(4, np.int64), np.zeros(12), np.ones(12))
    return time.perf_counter() - start
