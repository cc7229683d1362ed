"""Public QC checks: pure functions, numbers in, ``numpy.uint8`` QARTOD flags out.

Flags: 1 pass, 2 not evaluated, 3 suspect, 4 fail, 9 missing (:class:`QCFlag`).

``gross_range``, ``rate_of_change``, ``spike`` and ``flat_line`` take the parameters of
the ``ioos_qc.qartod`` 3.x functions ``gross_range_test``, ``rate_of_change_test``,
``spike_test`` and ``flat_line_test`` and give the same flags (the tests compare them
value by value), including ioos_qc's edge cases: NaN and +-inf are missing; +-inf outside
a gross-range span is FAIL, as in ioos_qc; spike leaves the first and last value (and
values next to a missing one) not evaluated; rate of change uses whole-second time steps
(floored), compares the raw |Δvalue| after a zero step and flags a value next to +-inf,
all as numpy.ma makes ioos_qc do; flat line turns its time thresholds into a window of
``int(threshold / median step)`` values, ignores missing values inside the window and
passes series shorter than three values untouched. Deliberate differences:

- input is one 1-D series (ioos_qc also flattens N-D input; we refuse it);
- ``flat_line`` with a median time step under one second: ioos_qc divides by zero and
  fails or returns garbage; here nothing is flagged flat (only missing values are 9);
- ``spike`` on an empty series raises ``ValueError`` (ioos_qc: ``IndexError``);
- ``spike`` with ``suspect_threshold=0`` skips the suspect test, as ioos_qc does (it
  tests the threshold's truthiness) -- kept for parity, noted because it surprises.

``buddy_check`` follows ``titanlib.buddy_check`` -- see its docstring for the
differences (missing values, flag values, float64 arithmetic).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from desktop_app.qc import _buddy, _kernels
from desktop_app.qc._threads import in_threads
from desktop_app.qc.neighbours import StationIndex

Flags = NDArray[np.uint8]
_PARALLEL_MIN_WORK = 500_000  # neighbour visits per iteration


def _series(inp: ArrayLike) -> NDArray[np.float64]:
    x = np.asarray(inp, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"expected a 1-D series, got shape {x.shape}")
    return np.ascontiguousarray(x)


def _times_ns(tinp: ArrayLike) -> NDArray[np.datetime64]:
    """Times as datetime64[ns], read the way ioos_qc's ``mapdates`` reads them."""
    t = np.asarray(tinp)
    if np.issubdtype(t.dtype, np.datetime64):
        return t.astype("datetime64[ns]", copy=False)
    # anything numeric is seconds since the Unix epoch
    return np.asarray(pd.to_datetime(t, unit="s").to_numpy()).astype("datetime64[ns]")


def _span(name: str, span: Sequence[float]) -> tuple[float, float]:
    if len(span) != 2:
        raise ValueError(f"{name} must have two values, got {len(span)}")
    lo, hi = sorted(float(v) for v in span)
    return lo, hi


def gross_range_args(fail_span: Sequence[float], suspect_span: Sequence[float] | None
                     ) -> tuple[float, float, float, float, bool]:
    """The gross-range kernel's arguments (fail lo/hi, suspect lo/hi, has suspect)."""
    flo, fhi = _span("fail_span", fail_span)
    slo, shi = flo, fhi
    if suspect_span is not None:
        slo, shi = _span("suspect_span", suspect_span)
        if slo < flo or shi > fhi:
            raise ValueError(f"suspect_span {suspect_span} must fall within fail_span {fail_span}")
    return flo, fhi, slo, shi, suspect_span is not None


def gross_range(
    inp: ArrayLike,
    fail_span: Sequence[float],
    suspect_span: Sequence[float] | None = None,
) -> Flags:
    """FAIL outside ``fail_span``, SUSPECT outside ``suspect_span`` (which must lie inside)."""
    x = _series(inp)
    result: Flags = _kernels.gross_range(x, *gross_range_args(fail_span, suspect_span))
    return result


def rate_of_change(
    inp: ArrayLike,
    tinp: ArrayLike,
    threshold: float,
    fail_threshold: float | None = None,
) -> Flags:
    """SUSPECT (FAIL) where |Δvalue / Δt| exceeds ``threshold`` (``fail_threshold``),
    rates in observation units per second, Δt in whole seconds."""
    x = _series(inp)
    t = _times_ns(tinp).ravel()
    if t.size != x.size:
        raise ValueError(f"tinp has {t.size} times for {x.size} values")
    result: Flags = _kernels.rate_of_change(x, t.view(np.int64),
                                            *rate_of_change_args(threshold, fail_threshold))
    return result


def rate_of_change_args(threshold: float, fail_threshold: float | None
                        ) -> tuple[float, float, bool]:
    """The rate-of-change kernel's thresholds (suspect, fail, has fail)."""
    fail = 0.0 if fail_threshold is None else float(fail_threshold)
    return float(threshold), fail, fail_threshold is not None


def spike(
    inp: ArrayLike,
    suspect_threshold: float | None = None,
    fail_threshold: float | None = None,
    method: str = "average",
) -> Flags:
    """Spike at n against its neighbours n-1 and n+1 (``average`` or ``differential``)."""
    args = spike_args(suspect_threshold, fail_threshold, method)
    x = _series(inp)
    if x.size == 0:
        raise ValueError("spike needs at least one value")
    result: Flags = _kernels.spike(x, *args)
    return result


def spike_args(suspect_threshold: float | None, fail_threshold: float | None, method: str
               ) -> tuple[float, float, bool, bool, bool]:
    """The spike kernel's arguments (suspect, fail, use suspect, use fail, differential)."""
    if method not in ("average", "differential"):
        raise ValueError(
            f'Unknown method: "{method}", only "average" and "differential" methods are available'
        )
    return (float(suspect_threshold or 0.0), float(fail_threshold or 0.0),
            bool(suspect_threshold), bool(fail_threshold), method == "differential")


def _median_step_seconds(t: NDArray[np.datetime64]) -> float:
    """``np.median(np.diff(t))`` in whole seconds as ioos_qc computes it, but fast: the
    median of a timedelta array is slow in NumPy, so partition the int64 steps and let
    NumPy take the median of just the middle one or two (the same arithmetic)."""
    d = np.diff(t.view(np.int64))
    n = d.size
    k = n // 2
    part = np.partition(d, [k - 1, k] if n % 2 == 0 else k)
    middle = part[k - 1 : k + 1] if n % 2 == 0 else part[k : k + 1]
    median = np.median(middle.view("timedelta64[ns]"))
    return float(np.asarray(median).astype("timedelta64[s]").astype(np.float64))


def flat_line_counts(
    tinp: ArrayLike, suspect_threshold: float, fail_threshold: float
) -> tuple[int, int] | None:
    """The window lengths (in values) ioos_qc derives from time thresholds; None when the
    median step is under a second (undefined in ioos_qc)."""
    t = _times_ns(tinp).ravel()
    if t.size < 2:
        return None
    interval = _median_step_seconds(t)
    if not interval > 0:
        return None
    suspect = int(np.float64(int(suspect_threshold)) / interval)
    fail = int(np.float64(int(fail_threshold)) / interval)
    if suspect < 0 or fail < 0:
        raise ValueError("flat_line thresholds must not be negative")
    return suspect, fail


def flat_line(
    inp: ArrayLike,
    tinp: ArrayLike,
    suspect_threshold: float,
    fail_threshold: float,
    tolerance: float = 0,
) -> Flags:
    """SUSPECT (FAIL) once values stay within ``tolerance`` for ``suspect_threshold``
    (``fail_threshold``) seconds."""
    x = _series(inp)
    if x.size < 3:
        return np.full(x.size, _kernels.PASS, np.uint8)
    t = _times_ns(tinp).ravel()
    if t.size != x.size:
        raise ValueError(f"tinp has {t.size} times for {x.size} values")
    counts = flat_line_counts(t, suspect_threshold, fail_threshold)
    s, f = counts if counts is not None else (0, 0)
    result: Flags = _kernels.flat_line(x, s, f, float(tolerance), counts is not None)
    return result


def robust_outlier(
    inp: ArrayLike, suspect_z: float = 4.0, fail_z: float = 6.0, min_count: int = 24
) -> Flags:
    """Robust z-score against the series' own median and MAD (x1.4826).

    SUSPECT beyond ``suspect_z``, FAIL beyond ``fail_z``; NOT_EVALUATED when fewer than
    ``min_count`` finite values or a zero MAD (more than half the values identical).
    """
    x = _series(inp)
    result: Flags = _kernels.robust_outlier(x, float(suspect_z), float(fail_z), int(min_count))
    return result


def climatology(
    inp: ArrayLike,
    tinp: ArrayLike,
    monthly_min: Sequence[float],
    monthly_max: Sequence[float],
) -> Flags:
    """SUSPECT outside the [min, max] of the value's calendar month (UTC); NaN bounds
    mean "no climatology for that month" (NOT_EVALUATED)."""
    x = _series(inp)
    t = _times_ns(tinp).ravel()
    if t.size != x.size:
        raise ValueError(f"tinp has {t.size} times for {x.size} values")
    lo, hi = climatology_bounds(monthly_min, monthly_max)
    result: Flags = _kernels.climatology(x, month_index(t), lo, hi)
    return result


def climatology_bounds(monthly_min: Sequence[float], monthly_max: Sequence[float]
                       ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    lo = np.asarray(monthly_min, dtype=np.float64)
    hi = np.asarray(monthly_max, dtype=np.float64)
    if lo.shape != (12,) or hi.shape != (12,):
        raise ValueError("monthly_min and monthly_max need 12 values each")
    return lo, hi


def month_index(t: NDArray[np.datetime64]) -> NDArray[np.int64]:
    """Calendar month 0..11 (UTC) of each time."""
    return (t.astype("datetime64[M]").astype(np.int64) % 12).astype(np.int64)


def buddy_check(
    lats: ArrayLike,
    lons: ArrayLike,
    elevs: ArrayLike,
    values: ArrayLike,
    radius: float | ArrayLike,
    num_min: int | ArrayLike,
    threshold: float,
    max_elev_diff: float,
    elev_gradient: float,
    min_std: float,
    num_iterations: int,
    obs_to_check: ArrayLike | None = None,
) -> Flags:
    """Spatial buddy check with the parameters and semantics of ``titanlib.buddy_check``.

    ``values`` is (station,) or (station, time). For each value, buddies are the other
    stations strictly within ``radius`` metres (3-D chord distance on a sphere of radius
    6,378,137 m, as titanlib) that are not flagged yet; stations at exactly the same
    position (zero distance) are never buddies (titanlib excludes them with the point
    itself). If
    ``max_elev_diff > 0`` buddies more than that many metres higher or lower are skipped
    and the rest adjusted by ``(elev_i - elev_j) * elev_gradient``; with at least
    ``num_min`` buddies, the value is flagged when ``|v - mean| / max(sqrt(var + var/n),
    min_std) > threshold`` (population variance). Flags of one iteration count from the
    next one on, for ``num_iterations`` iterations.

    Differences from titanlib, all deliberate:

    - flags are QARTOD: flagged -> SUSPECT (3) (a buddy outlier may be a real
      micro-climate, so it is a question for the forecaster, not a verdict), checked
      and consistent -> PASS (1), too few buddies or not in ``obs_to_check`` ->
      NOT_EVALUATED (2), NaN/inf -> MISSING (9); titanlib returns 1 / 0;
    - missing values are skipped as buddies (in titanlib one NaN neighbour turns the mean
      into NaN, so nothing near it can ever be flagged, and an inf value is flagged);
    - arithmetic is float64 (titanlib uses float32), so a value within ~1e-6 relative of
      the threshold or a buddy within ~1 mm of the radius can fall the other way.
    """
    index = StationIndex(lats, lons)
    v = np.asarray(values, dtype=np.float64)
    flat = v.ndim == 1
    v2 = v.reshape(-1, 1) if flat else v
    if v2.ndim != 2 or v2.shape[0] != index.size:
        raise ValueError(f"values must be (station,) or (station, time) for {index.size} stations")
    out = buddy_check_prepared(
        index, elevs, v2, radius, num_min, threshold, max_elev_diff, elev_gradient,
        min_std, num_iterations, obs_to_check,
    )
    return out[:, 0] if flat else out


def buddy_check_prepared(
    index: StationIndex,
    elevs: ArrayLike,
    values: NDArray[np.float64],
    radius: float | ArrayLike,
    num_min: int | ArrayLike,
    threshold: float,
    max_elev_diff: float,
    elev_gradient: float,
    min_std: float,
    num_iterations: int,
    obs_to_check: ArrayLike | None = None,
    out: Flags | None = None,
) -> Flags:
    """:func:`buddy_check` on a (station, time) array with a prebuilt station index;
    the flags go into ``out`` (uint8, the shape of ``values``) when given."""
    n = index.size
    radii = np.broadcast_to(np.asarray(radius, dtype=np.float64), (n,)).copy()
    mins = np.broadcast_to(np.asarray(num_min, dtype=np.int64), (n,)).copy()
    if np.any(mins <= 0):
        raise ValueError("num_min must be > 0")
    if np.any(radii <= 0):
        raise ValueError("radius must be > 0")
    el = np.asarray(elevs, dtype=np.float64)
    if el.shape != (n,):
        raise ValueError(f"elevs must have {n} values")
    check = np.ones(n, np.bool_)
    if obs_to_check is not None:
        oc = np.asarray(obs_to_check)
        if oc.shape == (n,):  # titanlib ignores an obs_to_check of another length
            check = oc == 1
    nb = index.neighbours(radii)
    # the kernels run in the index's cell-sorted station order, so buddies of a station
    # sit close together in memory
    v = np.asarray(values, dtype=np.float64)
    result: Flags = np.empty(v.shape, np.uint8) if out is None else out
    el_o, mins_o, check_o = el[nb.order], mins[nb.order], check[nb.order]
    # threads only pay off for enough work (see neighbours.PARALLEL_MIN_STATIONS)
    big = (int(nb.indptr[-1]) + n) * v.shape[1] >= _PARALLEL_MIN_WORK
    if v.shape[1] == 1 and big:  # one time step: stations in threads
        ordered_1 = np.ascontiguousarray(v[nb.order, 0])
        result[nb.order, 0] = _buddy.buddy_one_step(
            ordered_1, el_o, nb.indptr, nb.indices, mins_o, check_o, float(threshold),
            float(max_elev_diff), float(elev_gradient), float(min_std), int(num_iterations))
        return result
    lists = _buddy.prune(nb.indptr, nb.indices, el_o, float(max_elev_diff),
                         float(elev_gradient))
    # a station with fewer buddies within the elevation limit than it needs can never be
    # evaluated: it is not checked at all (it still serves as a buddy for others)
    check_o = check_o & (np.diff(lists.indptr) >= mins_o)
    # reads (station, time) and writes the flags in place: no transposed copies
    in_threads(_buddy.buddy_blocks, _buddy.n_blocks(v.shape[1]), np.ascontiguousarray(v),
               nb.order, lists.indptr, lists.indices, lists.adj, lists.use_adj,
               lists.rev_indptr, lists.rev_indices, mins_o, check_o, float(threshold),
               float(min_std), int(num_iterations), result, threads=big)
    return result


def buddy_warm_up() -> None:
    """Compile (or load) the buddy check's kernels: the block driver through the public
    function, and the one-step driver that only large inputs reach."""
    for steps in (1, 2):
        buddy_check([0.0, 0.0], [0.0, 0.1], [0.0, 0.0], np.ones((2, steps)), 20000.0,
                    1, 2.0, 0.0, 0.0, 1.0, 1)
    nb_args = (np.zeros(2), np.zeros(3, np.int64), np.zeros(0, np.int32),
               np.ones(2, np.int64), np.ones(2, np.bool_), 2.0, 0.0, 0.0, 1.0, 1)
    _buddy.buddy_one_step(np.ones(2), *nb_args)
    lists = _buddy.prune(np.zeros(3, np.int64), np.zeros(0, np.int32), np.zeros(2), 1.0, 0.0)
    _buddy.buddy_blocks(np.ones((2, 2)), np.arange(2), *lists, np.ones(2, np.int64),
                        np.ones(2, np.bool_), 2.0, 1.0, 1, np.empty((2, 2), np.uint8), 0, 1)
