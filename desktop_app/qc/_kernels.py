"""Numba kernels behind :mod:`desktop_app.qc.checks`.

Every kernel takes plain float64/int arrays that the public wrappers in ``checks`` have
already normalised (times as seconds, thresholds as floats, booleans for "is this
option set") and returns uint8 QARTOD flags. They are compiled with ``cache=True`` so the
compile cost is paid once per machine, not once per run; :func:`warm_up` compiles (or
loads) all of them and reports how long that took.

Set ``NUMBA_DISABLE_JIT=1`` to run these as plain Python (slow, but coverage and
debuggers see every line) -- Numba's own switch, the same one napari uses.

The comments name the ioos_qc / titanlib behaviour each branch reproduces; the plain
NumPy reference in ``reference.py`` is written independently and the tests compare both.
"""

from __future__ import annotations

import math
import time

import numpy as np
from numba import njit

from desktop_app.qc._select import median_inplace

PASS = np.uint8(1)
NOT_EVALUATED = np.uint8(2)
SUSPECT = np.uint8(3)
FAIL = np.uint8(4)
MISSING = np.uint8(9)

# numpy.ma's safe division masks a quotient when |a| * tiny >= |b|.
_TINY = np.finfo(np.float64).tiny


@njit(cache=True, error_model="numpy")
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
def gross_range(
    x: np.ndarray, fail_lo: float, fail_hi: float, sus_lo: float, sus_hi: float,
    has_suspect: bool,
) -> np.ndarray:
    out = np.empty(x.size, np.uint8)
    gross_range_into(x, fail_lo, fail_hi, sus_lo, sus_hi, has_suspect, out)
    return out


@njit(cache=True, error_model="numpy")
def _floor_seconds(ns: np.int64) -> float:
    """``ns // 10**9`` as a float, without a slow 64-bit integer division: a float
    quotient, then an exact integer correction of its last step."""
    q = np.int64(math.floor(ns * 1e-9))  # may be one off either way: corrected below
    # branch-free correction (keeps the caller's loop free of unpredictable jumps)
    q -= np.int64(q * 1_000_000_000 > ns)
    q += np.int64((q + 1) * 1_000_000_000 <= ns)
    return float(q)


@njit(cache=True, error_model="numpy")
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
        if abs(dv) * _TINY >= abs(step):
            roc = abs(dv)
        else:
            rate = dv / step
            roc = abs(rate) if math.isfinite(rate) else abs(dv)
        if roc > threshold:
            f = SUSPECT
        if has_fail and roc > fail_threshold:
            f = FAIL
        out[i] = f
    for i in range(n):
        if not math.isfinite(x[i]):
            out[i] = MISSING


@njit(cache=True, error_model="numpy")
def rate_of_change(
    x: np.ndarray, t_ns: np.ndarray, threshold: float, fail_threshold: float, has_fail: bool
) -> np.ndarray:
    """``t_ns``: int64 nanoseconds (see :func:`step_seconds`)."""
    out = np.empty(x.size, np.uint8)
    rate_of_change_into(x, step_seconds(t_ns), threshold, fail_threshold, has_fail, out)
    return out


@njit(cache=True, error_model="numpy")
def spike_into(
    x: np.ndarray, suspect: float, fail: float, use_suspect: bool, use_fail: bool,
    differential: bool, out: np.ndarray,
) -> None:
    n = x.size
    for i in range(n):
        out[i] = PASS
    for i in range(1, n - 1):
        a = x[i - 1]
        b = x[i]
        c = x[i + 1]
        if not (math.isfinite(a) and math.isfinite(b) and math.isfinite(c)):
            out[i] = NOT_EVALUATED  # a missing neighbour: the reference is masked
            continue
        if differential:
            d1 = b - a
            d2 = c - b
            diff = min(abs(d1), abs(d2))
            if d1 * d2 >= 0:  # both steps the same way: not a spike
                diff = 0.0
        else:
            ref = (a + c) / 2
            # numpy.ma's safe division also masks when |a + c| * tiny >= 2 (|a + c| of
            # about 9e307 and more): ioos_qc then has no reference value
            if not math.isfinite(ref) or abs(a + c) * _TINY >= 2.0:
                out[i] = NOT_EVALUATED
                continue
            diff = abs(b - ref)
        if not math.isfinite(diff):
            out[i] = NOT_EVALUATED
            continue
        if use_suspect and diff > suspect:
            out[i] = SUSPECT
        if use_fail and diff > fail:
            out[i] = FAIL
    if n > 0:
        out[0] = NOT_EVALUATED
        out[n - 1] = NOT_EVALUATED
    for i in range(n):
        if not math.isfinite(x[i]):
            out[i] = MISSING


@njit(cache=True, error_model="numpy")
def spike(
    x: np.ndarray, suspect: float, fail: float, use_suspect: bool, use_fail: bool,
    differential: bool,
) -> np.ndarray:
    out = np.empty(x.size, np.uint8)
    spike_into(x, suspect, fail, use_suspect, use_fail, differential, out)
    return out


@njit(cache=True, error_model="numpy")
def flat_line_into(x: np.ndarray, suspect_count: int, fail_count: int, tolerance: float,
                   evaluate: bool, out: np.ndarray) -> None:
    """Flag x[i] SUSPECT (FAIL) when the finite values of x[i-count .. i] span less than
    ``tolerance`` (ioos_qc: ``abs(max - min) < tolerance`` over the masked window; an
    all-missing window is not flat), for both counts in one pass, O(n).

    Streaming: ``start`` is the first index from which the finite values up to i are
    still flat. Widening a window can only widen its range, so the flat windows ending
    at i are exactly those starting at ``start`` or later, and ``start`` never moves
    back. Two monotone queues hold the candidate indices of the window's max and min;
    when the range is too wide, the older of the two fronts is dropped and ``start``
    jumps past it (no window still holding it can be flat)."""
    n = x.size
    for i in range(n):
        out[i] = PASS
    if n < 3:  # ioos_qc: too short to test, everything passes (even missing values)
        return
    if evaluate:
        qmax = np.empty(n, np.int64)
        qmin = np.empty(n, np.int64)
        hmax = tmax = hmin = tmin = 0
        start = 0
        last_finite = -1
        for i in range(n):
            v = x[i]
            if math.isfinite(v):
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
            if i >= suspect_count and i - suspect_count >= start \
                    and last_finite >= i - suspect_count:
                out[i] = SUSPECT
            if i >= fail_count and i - fail_count >= start and last_finite >= i - fail_count:
                out[i] = FAIL
    for i in range(n):
        if not math.isfinite(x[i]):
            out[i] = MISSING


@njit(cache=True, error_model="numpy")
def flat_line(x: np.ndarray, suspect_count: int, fail_count: int, tolerance: float,
              evaluate: bool) -> np.ndarray:
    out = np.empty(x.size, np.uint8)
    flat_line_into(x, suspect_count, fail_count, tolerance, evaluate, out)
    return out


@njit(cache=True, error_model="numpy")
def robust_outlier_into(x: np.ndarray, suspect_z: float, fail_z: float, min_count: int,
                        out: np.ndarray) -> None:
    n = x.size
    finite = x[np.isfinite(x)]
    evaluate = finite.size >= min_count and finite.size > 0
    med = 0.0
    scale = 0.0
    if evaluate:
        med = median_inplace(finite)  # finite is our own copy: reordering it is fine
        for i in range(finite.size):
            finite[i] = abs(finite[i] - med)
        # 1.4826 * MAD estimates the standard deviation of normal data
        scale = 1.482602218505602 * median_inplace(finite)
        evaluate = scale > 0.0
    for i in range(n):
        v = x[i]
        if not math.isfinite(v):
            out[i] = MISSING
        elif not evaluate:
            out[i] = NOT_EVALUATED
        else:
            z = abs(v - med) / scale
            f = PASS
            if z > suspect_z:
                f = SUSPECT
            if z > fail_z:
                f = FAIL
            out[i] = f


@njit(cache=True, error_model="numpy")
def robust_outlier(x: np.ndarray, suspect_z: float, fail_z: float, min_count: int) -> np.ndarray:
    out = np.empty(x.size, np.uint8)
    robust_outlier_into(x, suspect_z, fail_z, min_count, out)
    return out


@njit(cache=True, error_model="numpy")
def climatology_into(x: np.ndarray, month: np.ndarray, lo: np.ndarray, hi: np.ndarray,
                     out: np.ndarray) -> None:
    """``month`` is 0..11 per value; outside that month's [lo, hi] is SUSPECT."""
    for i in range(x.size):
        v = x[i]
        m = month[i]
        if not math.isfinite(v):
            out[i] = MISSING
        elif math.isnan(lo[m]) or math.isnan(hi[m]):
            out[i] = NOT_EVALUATED
        elif v < lo[m] or v > hi[m]:
            out[i] = SUSPECT
        else:
            out[i] = PASS


@njit(cache=True, error_model="numpy")
def climatology(x: np.ndarray, month: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    out = np.empty(x.size, np.uint8)
    climatology_into(x, month, lo, hi, out)
    return out


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
