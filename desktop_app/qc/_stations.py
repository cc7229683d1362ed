"""Numba drivers that run the per-series kernels over a whole (station, time) array.

The runner used to call the public 1-D checks once per station and test from Python:
per call a few microseconds of dispatch, a fresh output array, the times converted
again (the climatology's months, the flat-line window, the rate-of-change steps) and a
copy into the result. Here one call runs every configured per-series test of one
variable, in parallel over stations: each station's series is read while it is in the
cache, the flags are written straight into one ``(test, station, time)`` block, and the
things that depend only on the times are computed once by the caller.

:func:`worst_and_counts` then aggregates the block (QARTOD: worst flag wins, not
evaluated only where no test evaluated) and counts flags per test, in one pass.

Both are plain (serial) kernels that release the GIL, run over chunks of stations by
:func:`desktop_app.qc._threads.in_threads`.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from desktop_app.qc import _kernels as k
from desktop_app.qc._threads import in_threads

# test codes of the ``codes`` array; the parameter row of each is built by the test's
# ``fused`` entry in ``registry``
GROSS_RANGE, RATE_OF_CHANGE, SPIKE, FLAT_LINE, ROBUST_OUTLIER, CLIMATOLOGY = range(6)
N_PARAMS = 5
N_FLAG_VALUES = 10  # flags are 1, 2, 3, 4, 9


@njit(cache=True, error_model="numpy", nogil=True)
def per_series(values: np.ndarray, codes: np.ndarray, params: np.ndarray, steps: np.ndarray,
               month: np.ndarray, clim_lo: np.ndarray, clim_hi: np.ndarray,
               out: np.ndarray, s0: int, s1: int) -> None:
    """``values`` (station, time) float64; ``out[j, s]`` gets the flags of test ``codes[j]``
    with parameters ``params[j]`` on station ``s``, for stations ``s0:s1``."""
    for s in range(s0, s1):
        x = values[s]
        for j in range(codes.size):
            c = codes[j]
            p = params[j]
            o = out[j, s]
            if c == GROSS_RANGE:
                k.gross_range_into(x, p[0], p[1], p[2], p[3], p[4] != 0.0, o)
            elif c == RATE_OF_CHANGE:
                k.rate_of_change_into(x, steps, p[0], p[1], p[2] != 0.0, o)
            elif c == SPIKE:
                k.spike_into(x, p[0], p[1], p[2] != 0.0, p[3] != 0.0, p[4] != 0.0, o)
            elif c == FLAT_LINE:
                k.flat_line_into(x, int(p[0]), int(p[1]), p[2], p[3] != 0.0, o)
            elif c == ROBUST_OUTLIER:
                k.robust_outlier_into(x, p[0], p[1], int(p[2]), o)
            elif c == CLIMATOLOGY:
                k.climatology_into(x, month, clim_lo, clim_hi, o)


@njit(cache=True, error_model="numpy")
def _count_row(row: np.ndarray, counts: np.ndarray) -> None:
    """Counts of the flag values 1, 2, 3, 4, 9 in ``row``, in register accumulators (one
    counter array bumped per value would chain every increment through memory)."""
    c1 = c2 = c3 = c4 = c9 = 0
    for t in range(row.size):
        f = row[t]
        c1 += f == 1
        c2 += f == 2
        c3 += f == 3
        c4 += f == 4
        c9 += f == 9
    counts[1] += c1
    counts[2] += c2
    counts[3] += c3
    counts[4] += c4
    counts[9] += c9


def worst_and_counts(flags: np.ndarray, aggregate: np.ndarray) -> np.ndarray:
    """``flags`` (test, station, time) -> ``aggregate`` (station, time), as
    :func:`desktop_app.core.flags.worst`; returns counts (test + 1, flag value), the
    last row the aggregate's."""
    nk, ns, _ = flags.shape
    per_station = np.zeros((ns, nk + 1, N_FLAG_VALUES), np.int64)
    in_threads(_worst_and_counts, ns, flags, aggregate, per_station)
    result: np.ndarray = per_station.sum(axis=0)
    return result


@njit(cache=True, error_model="numpy", nogil=True)
def _worst_and_counts(flags: np.ndarray, aggregate: np.ndarray, per_station: np.ndarray,
                      s0: int, s1: int) -> None:
    nk, _, nt = flags.shape
    for s in range(s0, s1):
        agg = aggregate[s]
        agg[:] = 0
        for j in range(nk):
            row = flags[j, s]
            _count_row(row, per_station[s, j])
            for t in range(nt):
                f = row[t]
                # not evaluated ranks below pass: any real verdict wins over it
                r = np.uint8(0) if f == k.NOT_EVALUATED else f
                agg[t] = max(agg[t], r)
        for t in range(nt):
            if agg[t] == 0:
                agg[t] = k.NOT_EVALUATED
        _count_row(agg, per_station[s, nk])


def warm_up() -> None:
    """Compile (or load) both drivers on a tiny input."""
    values = np.array([[1.0, 2.0, np.nan, 4.0]])
    codes = np.arange(6, dtype=np.int64)
    params = np.ones((6, N_PARAMS))
    out = np.empty((6, 1, 4), np.uint8)
    per_series(values, codes, params, np.ones(3), np.zeros(4, np.int64), np.zeros(12),
               np.ones(12), out, 0, 1)
    worst_and_counts(out, np.empty((1, 4), np.uint8))
