"""Numba drivers that run the per-series kernels over a whole (station, time) array.

The runner used to call the public 1-D checks once per station and test from Python:
per call a few microseconds of dispatch, a fresh output array, the times converted
again (the climatology's months, the flat-line window, the rate-of-change steps) and a
copy into the result. Here one call runs every configured per-series test of one
variable, in parallel over stations: each station's series is read while it is in the
cache, the flags are written straight into one ``(test, station, time)`` block, and the
things that depend only on the times are computed once by the caller.

The same pass then aggregates the station's flags (QARTOD: worst flag wins, not
evaluated only where no test evaluated) and counts them per test, while they are still
in the cache: no second pass over the whole block.

The driver is a plain (serial) kernel that releases the GIL, run over chunks of stations
by :func:`desktop_app.qc._threads.in_threads`.
"""

from __future__ import annotations

import math

import numpy as np

from desktop_app.qc import _kernels as k
from desktop_app.qc._dispatch import export, njit

# test codes of the ``codes`` array; the parameter row of each is built by the test's
# ``fused`` entry in ``registry``
GROSS_RANGE, RATE_OF_CHANGE, SPIKE, FLAT_LINE, ROBUST_OUTLIER, CLIMATOLOGY = range(6)
N_PARAMS = 5
N_FLAG_VALUES = 10  # flags are 1, 2, 3, 4, 9


@export("f8[:, ::1], i8[::1], i8[::1], f8[:, ::1], f8[::1], f8[::1], f8[::1], "
        "u1[:, :, ::1], u1[:, ::1], i8[:, :, ::1], i8, i8",
        cache=True, error_model="numpy", nogil=True)
def per_series(values: np.ndarray, codes: np.ndarray, rows: np.ndarray, params: np.ndarray,
               steps: np.ndarray, clim_lo: np.ndarray, clim_hi: np.ndarray,
               block: np.ndarray, aggregate: np.ndarray, counts: np.ndarray,
               s0: int, s1: int) -> None:
    """``values`` (station, time) float64; for stations ``s0:s1``, ``block[rows[j], s]``
    gets the flags of test ``codes[j]`` with parameters ``params[j]`` (``steps``: the time
    steps in seconds; ``clim_lo``/``clim_hi``: each time's climatology bounds), then
    ``aggregate[s]`` the worst flag over every row of ``block`` (rows the caller filled
    too, such as the buddy check's) and ``counts[s]`` the flag counts per row and of the
    aggregate: the station's flags are still in the cache when they are aggregated and
    counted."""
    for s in range(s0, s1):
        x = values[s]
        for j in range(codes.size):
            c = codes[j]
            p = params[j]
            o = block[rows[j], s]
            if c == GROSS_RANGE:
                k.gross_range_into(x, p[0], p[1], p[2], p[3], p[4] != 0.0, o)
            elif c == RATE_OF_CHANGE:
                if math.isnan(p[3]):
                    k.rate_of_change_into(x, steps, p[0], p[1], p[2] != 0.0, o)
                else:  # a regular time axis: the thresholds as cutoffs of |dv|
                    k.rate_of_change_cut_into(x, p[3], p[4], o)
            elif c == SPIKE:
                k.spike_into(x, p[0], p[1], p[2] != 0.0, p[3] != 0.0, p[4] != 0.0, o)
            elif c == FLAT_LINE:
                k.flat_line_into(x, int(p[0]), int(p[1]), p[2], p[3] != 0.0, o)
            elif c == ROBUST_OUTLIER:
                k.robust_outlier_into(x, p[0], p[1], int(p[2]), o)
            elif c == CLIMATOLOGY:
                k.climatology_bounds_into(x, clim_lo, clim_hi, o)
        _worst_and_count_station(block, s, aggregate[s], counts[s])


_BYTE_ONES = np.uint64(0x0101010101010101)
_EVEN_BYTES = np.uint64(0x00FF00FF00FF00FF)


@njit(cache=True, error_model="numpy")
def _byte_total(lanes: np.uint64) -> int:
    """Sum of the eight byte lanes of ``lanes`` (each at most 255)."""
    pairs = (lanes & _EVEN_BYTES) + ((lanes >> np.uint64(8)) & _EVEN_BYTES)
    return int((pairs * np.uint64(0x0001000100010001)) >> np.uint64(48))


@njit(cache=True, error_model="numpy")
def _count_row(row: np.ndarray, counts: np.ndarray) -> None:
    """Add the counts of the flag values 1, 2, 3, 4, 9 in ``row`` to ``counts``.

    The flags' bits tell them apart (1 = 0001, 2 = 0010, 3 = 0011, 4 = 0100, 9 = 1001):
    with s_b the number of flags with bit b set and s_01 those with bits 0 and 1, there
    are s_3 nines, s_2 fours, s_01 threes, s_1 - s_01 twos and s_0 - s_01 - s_3 ones. The
    bit sums run eight flags at a time in the byte lanes of 64-bit words (at most 255
    words per round, so a lane never overflows): several times faster than comparing
    every flag with every value. Only valid for rows of those five values, which is all
    the kernels write."""
    n = row.size
    nw = n // 8
    words = row[:nw * 8].view(np.uint64)
    s0 = s1 = s2 = s3 = s01 = 0
    w0 = 0
    one, two, three = np.uint64(1), np.uint64(2), np.uint64(3)
    while w0 < nw:
        w1 = min(nw, w0 + 255)
        a0 = a1 = a2 = a3 = a01 = np.uint64(0)
        for i in range(w0, w1):
            x = words[i]
            a0 += x & _BYTE_ONES
            a1 += (x >> one) & _BYTE_ONES
            a2 += (x >> two) & _BYTE_ONES
            a3 += (x >> three) & _BYTE_ONES
            a01 += x & (x >> one) & _BYTE_ONES
        s0 += _byte_total(a0)
        s1 += _byte_total(a1)
        s2 += _byte_total(a2)
        s3 += _byte_total(a3)
        s01 += _byte_total(a01)
        w0 = w1
    for t in range(nw * 8, n):
        f = row[t]
        s0 += f & 1
        s1 += (f >> 1) & 1
        s2 += (f >> 2) & 1
        s3 += (f >> 3) & 1
        s01 += f & (f >> 1) & 1
    counts[1] += s0 - s01 - s3
    counts[2] += s1 - s01
    counts[3] += s01
    counts[4] += s2
    counts[9] += s3


@njit(cache=True, error_model="numpy")
def _worst_and_count_station(block: np.ndarray, s: int, agg: np.ndarray,
                             counts: np.ndarray) -> None:
    """Station ``s``: the worst flag of all rows of ``block`` into ``agg`` (not evaluated
    only where no test evaluated), flag counts per row and of ``agg`` into ``counts``."""
    nk = block.shape[0]
    n = agg.size
    if nk == 0:
        agg[:] = 0
    # selects, not branches, and the first row written rather than a zeroed row maxed:
    # these loops vectorise (four times faster than a zeroing, a max and a branchy fix-up)
    for j in range(nk):
        row = block[j, s]
        _count_row(row, counts[j])
        if j == 0:
            for t in range(n):
                f = row[t]
                # not evaluated ranks below pass: any real verdict wins over it
                agg[t] = np.uint8(0) if f == k.NOT_EVALUATED else f
        else:
            for t in range(n):
                f = row[t]
                r = np.uint8(0) if f == k.NOT_EVALUATED else f
                a = agg[t]
                agg[t] = a if a > r else r
    for t in range(n):
        a = agg[t]
        agg[t] = k.NOT_EVALUATED if a == 0 else a
    _count_row(agg, counts[nk])


def warm_up() -> None:
    """Compile (or load) the driver on a tiny input."""
    values = np.array([[1.0, 2.0, np.nan, 4.0]])
    codes = np.arange(6, dtype=np.int64)
    params = np.ones((6, N_PARAMS))
    out = np.empty((6, 1, 4), np.uint8)
    per_series(values, codes, codes, params, np.ones(3), np.zeros(4), np.ones(4), out,
               np.empty((1, 4), np.uint8),
               np.zeros((1, 7, N_FLAG_VALUES), np.int64), 0, 1)
