"""Numba kernels of the buddy check (see ``checks.buddy_check`` for the semantics).

Per time step and iteration, like titanlib: a station not yet flagged is checked against
the mean and adjusted spread of its unflagged buddies; flags of one iteration only take
effect in the next (so the result does not depend on station order or thread count).
One time step runs parallel over stations; many time steps run parallel over time.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

PASS = np.uint8(1)
NOT_EVALUATED = np.uint8(2)
SUSPECT = np.uint8(3)
MISSING = np.uint8(9)


@njit(cache=True, error_model="numpy")
def _station(
    vals: np.ndarray, i: int, flagged: np.ndarray, elevs: np.ndarray, indptr: np.ndarray,
    indices: np.ndarray, num_min: int, threshold: float, max_elev_diff: float,
    elev_gradient: float, min_std: float,
) -> int:
    """-1: too few buddies; 0: consistent; 1: outlier."""
    n = 0
    total = 0.0
    total2 = 0.0
    for k in range(indptr[i], indptr[i + 1]):
        j = indices[k]
        vj = vals[j]
        if flagged[j] or not math.isfinite(vj):
            continue
        if max_elev_diff > 0:
            if abs(elevs[j] - elevs[i]) > max_elev_diff:
                continue
            vj = vj + (elevs[i] - elevs[j]) * elev_gradient
        n += 1
        total += vj
        total2 += vj * vj
    if n < num_min:
        return -1
    mean = total / n
    var = max(total2 / n - mean * mean, 0.0)  # population variance, as titanlib
    std = max(math.sqrt(var + var / n), min_std)
    return 1 if abs(vals[i] - mean) / std > threshold else 0


@njit(cache=True, error_model="numpy")
def _finish(vals: np.ndarray, flagged: np.ndarray, evaluated: np.ndarray,
            out: np.ndarray) -> None:
    for i in range(vals.size):
        if not math.isfinite(vals[i]):
            out[i] = MISSING
        elif flagged[i]:
            out[i] = SUSPECT
        elif evaluated[i]:
            out[i] = PASS
        else:
            out[i] = NOT_EVALUATED


@njit(cache=True, error_model="numpy")
def _step_serial(
    vals: np.ndarray, elevs: np.ndarray, indptr: np.ndarray, indices: np.ndarray,
    num_min: np.ndarray, check: np.ndarray, threshold: float, max_elev_diff: float,
    elev_gradient: float, min_std: float, num_iterations: int, out: np.ndarray,
) -> None:
    ns = vals.size
    flagged = np.zeros(ns, np.bool_)
    evaluated = np.zeros(ns, np.bool_)
    newly = np.zeros(ns, np.bool_)
    for _ in range(num_iterations):
        for i in range(ns):
            newly[i] = False
            if flagged[i] or not check[i] or not math.isfinite(vals[i]):
                continue
            r = _station(vals, i, flagged, elevs, indptr, indices, num_min[i], threshold,
                         max_elev_diff, elev_gradient, min_std)
            if r >= 0:
                evaluated[i] = True
                newly[i] = r == 1
        if not newly.any():
            break
        flagged |= newly
    _finish(vals, flagged, evaluated, out)


@njit(cache=True, error_model="numpy")
def buddy_over_time_serial(
    values: np.ndarray, elevs: np.ndarray, indptr: np.ndarray, indices: np.ndarray,
    num_min: np.ndarray, check: np.ndarray, threshold: float, max_elev_diff: float,
    elev_gradient: float, min_std: float, num_iterations: int,
) -> np.ndarray:
    """As :func:`buddy_over_time` in one thread, for small problems."""
    nt, ns = values.shape
    out = np.empty((nt, ns), np.uint8)
    for t in range(nt):
        _step_serial(values[t], elevs, indptr, indices, num_min, check, threshold,
                     max_elev_diff, elev_gradient, min_std, num_iterations, out[t])
    return out


@njit(cache=True, error_model="numpy", parallel=True)
def buddy_over_time(
    values: np.ndarray, elevs: np.ndarray, indptr: np.ndarray, indices: np.ndarray,
    num_min: np.ndarray, check: np.ndarray, threshold: float, max_elev_diff: float,
    elev_gradient: float, min_std: float, num_iterations: int,
) -> np.ndarray:
    """``values`` (time, station) -> flags (time, station); time steps in parallel."""
    nt, ns = values.shape
    out = np.empty((nt, ns), np.uint8)
    for t in prange(nt):
        _step_serial(values[t], elevs, indptr, indices, num_min, check, threshold,
                     max_elev_diff, elev_gradient, min_std, num_iterations, out[t])
    return out


@njit(cache=True, error_model="numpy", parallel=True)
def buddy_one_step(
    vals: np.ndarray, elevs: np.ndarray, indptr: np.ndarray, indices: np.ndarray,
    num_min: np.ndarray, check: np.ndarray, threshold: float, max_elev_diff: float,
    elev_gradient: float, min_std: float, num_iterations: int,
) -> np.ndarray:
    """``vals`` (station,) -> flags (station,); stations in parallel within an iteration."""
    ns = vals.size
    out = np.empty(ns, np.uint8)
    flagged = np.zeros(ns, np.bool_)
    evaluated = np.zeros(ns, np.bool_)
    newly = np.zeros(ns, np.bool_)
    for _ in range(num_iterations):
        for i in prange(ns):  # each i writes only its own newly[i] and evaluated[i]
            newly[i] = False
            if flagged[i] or not check[i] or not math.isfinite(vals[i]):
                continue
            r = _station(vals, i, flagged, elevs, indptr, indices, num_min[i], threshold,
                         max_elev_diff, elev_gradient, min_std)
            if r >= 0:
                evaluated[i] = True
                newly[i] = r == 1
        if not newly.any():
            break
        flagged |= newly
    _finish(vals, flagged, evaluated, out)
    return out
