"""Apply a QC config to a station Dataset: add ``<var>_qc`` flags, never touch values.

For each configured variable present in the dataset the result gets

- ``<var>_qc_<test>`` (uint8, station x time): the flags of one test, and
- ``<var>_qc`` (uint8): the aggregate (:func:`desktop_app.core.flags.worst`),

all with CF ``flag_values`` / ``flag_meanings``; the data variable's
``ancillary_variables`` lists them. The input dataset is not modified (a shallow copy
gets the new variables; observed arrays are shared, never written).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr
from numpy.typing import NDArray

from desktop_app.core.flags import QCFlag, flag_attrs, test_flag_attrs
from desktop_app.core.schema import validate_station_dataset
from desktop_app.errors import CancelledError, ConfigError, DataFileError
from desktop_app.qc import _kernels, _stations, checks
from desktop_app.qc._threads import in_threads
from desktop_app.qc.config import (
    TEST_ORDER,
    BuddyCheck,
    Climatology,
    FlatLine,
    GrossRange,
    QCConfig,
    RateOfChange,
    RobustOutlier,
    Spike,
)
from desktop_app.qc.neighbours import StationIndex

Flags = NDArray[np.uint8]
_compile_seconds: float | None = None


@dataclass
class QCReport:
    """What a run did: flag counts per variable and test, timings."""

    counts: dict[str, dict[str, dict[QCFlag, int]]] = field(default_factory=dict)
    compile_seconds: float = 0.0
    first_call: bool = False
    run_seconds: float = 0.0


def kernels_ready() -> tuple[float, bool]:
    """Compile or load the kernels once per process: (seconds, whether this call did it)."""
    global _compile_seconds
    if _compile_seconds is None:
        _compile_seconds = _kernels.warm_up()
        start = time.perf_counter()
        _stations.warm_up()
        _compile_seconds += time.perf_counter() - start
        return _compile_seconds, True
    return _compile_seconds, False


def series_test(params: Any, times: NDArray[np.datetime64]
                ) -> Callable[[NDArray[np.float64]], Flags] | None:
    """The configured test as a function of one station's series at ``times`` (None for
    the network tests, which need every station at once)."""
    if isinstance(params, GrossRange):
        gr = params
        return lambda x: checks.gross_range(x, gr.fail_span, gr.suspect_span)
    if isinstance(params, RateOfChange):
        rc = params
        return lambda x: checks.rate_of_change(x, times, rc.threshold, rc.fail_threshold)
    if isinstance(params, Spike):
        sp = params
        return lambda x: checks.spike(x, sp.suspect_threshold, sp.fail_threshold, sp.method)
    if isinstance(params, FlatLine):
        fl = params
        return lambda x: checks.flat_line(x, times, fl.suspect_threshold, fl.fail_threshold,
                                          fl.tolerance)
    if isinstance(params, RobustOutlier):
        ro = params
        return lambda x: checks.robust_outlier(x, ro.suspect_z, ro.fail_z, ro.min_count)
    if isinstance(params, Climatology):
        cl = params
        return lambda x: checks.climatology(x, times, cl.monthly_min, cl.monthly_max)
    return None


@dataclass
class _TimeAxis:
    """What the per-series tests need from the shared time axis, computed once."""

    times: NDArray[np.datetime64]
    steps: NDArray[np.float64] = field(init=False)
    month: NDArray[np.int64] = field(init=False)

    def __post_init__(self) -> None:
        self.steps = _kernels.step_seconds(self.times.view(np.int64))
        self.month = checks.month_index(self.times)


def _series_row(params: Any, axis: _TimeAxis) -> tuple[int, list[float]] | None:
    """(driver code, parameter row) of a per-series test, normalised exactly as the
    public check in :mod:`checks` normalises it; None for the network tests."""
    if isinstance(params, GrossRange):
        flo, fhi, slo, shi, has = checks.gross_range_args(params.fail_span, params.suspect_span)
        return _stations.GROSS_RANGE, [flo, fhi, slo, shi, float(has)]
    if isinstance(params, RateOfChange):
        thr, fail, has_fail = checks.rate_of_change_args(params.threshold, params.fail_threshold)
        return _stations.RATE_OF_CHANGE, [thr, fail, float(has_fail)]
    if isinstance(params, Spike):
        return _stations.SPIKE, [float(a) for a in checks.spike_args(
            params.suspect_threshold, params.fail_threshold, params.method)]
    if isinstance(params, FlatLine):
        counts = checks.flat_line_counts(axis.times, params.suspect_threshold,
                                         params.fail_threshold)
        s, f = counts if counts is not None else (0, 0)
        return _stations.FLAT_LINE, [s, f, float(params.tolerance), float(counts is not None)]
    if isinstance(params, RobustOutlier):
        return _stations.ROBUST_OUTLIER, [float(params.suspect_z), float(params.fail_z),
                                          int(params.min_count)]
    if isinstance(params, Climatology):
        return _stations.CLIMATOLOGY, []
    return None


def _run_variable(
    values: NDArray[np.float64], tests: list[tuple[str, Any]], axis: _TimeAxis,
    ds: xr.Dataset, index: Callable[[], StationIndex], cancelled: Callable[[], bool] | None,
) -> tuple[NDArray[np.uint8], NDArray[np.uint8], NDArray[np.int64]]:
    """All tests of one variable: flags (test, station, time), the aggregate and the
    counts (test + aggregate, flag value). The buddy check writes its slice of the block
    first; then one parallel pass over stations runs the per-series tests into theirs and
    aggregates and counts each station's flags while they are in the cache."""
    block = np.empty((len(tests), *values.shape), np.uint8)
    codes: list[int] = []
    rows: list[list[float]] = []
    where: list[int] = []
    clim = (np.full(12, np.nan), np.full(12, np.nan))
    for j, (name, params) in enumerate(tests):
        row = _series_row(params, axis)
        if row is not None:
            codes.append(row[0])
            rows.append(row[1] + [0.0] * (_stations.N_PARAMS - len(row[1])))
            where.append(j)
            if isinstance(params, Climatology):
                clim = checks.climatology_bounds(params.monthly_min, params.monthly_max)
        elif not isinstance(params, BuddyCheck):
            raise ConfigError(f"no runner for test {name!r}")
    for j, (_, params) in enumerate(tests):
        if isinstance(params, BuddyCheck):
            if cancelled is not None and cancelled():
                raise CancelledError("QC cancelled")
            checks.buddy_check_prepared(
                index(), ds["elevation"].values, values, params.radius, params.num_min,
                params.threshold, params.max_elev_diff, params.elev_gradient, params.min_std,
                params.num_iterations, out=block[j],
            )
    if cancelled is not None and cancelled():
        raise CancelledError("QC cancelled")
    aggregate = np.empty(values.shape, np.uint8)
    per_station = np.zeros((values.shape[0], len(tests) + 1, _stations.N_FLAG_VALUES),
                           np.int64)
    in_threads(_stations.per_series, values.shape[0], values, np.array(codes, np.int64),
               np.array(where, np.int64),
               np.array(rows, np.float64).reshape(len(codes), _stations.N_PARAMS),
               axis.steps, clim[0][axis.month], clim[1][axis.month], block, aggregate,
               per_station)
    return block, aggregate, per_station.sum(axis=0)


def _test_attrs(var: str, test: str, params: Any) -> dict[str, object]:
    text = ", ".join(f"{k}={v}" for k, v in vars(params).items())
    return {
        **test_flag_attrs(var, test),
        "qc_test": test,
        "qc_parameters": text,
    }


def require_values(ds: xr.Dataset) -> None:
    """Something to check: at least one station and one time step (the checks need a
    value; an empty file is one clear line, not a kernel's ValueError)."""
    for dim in ("station", "time"):
        if ds.sizes.get(dim, 0) == 0:
            raise DataFileError(f"the station data hold no {dim} "
                                f"{'steps' if dim == 'time' else 'series'}: nothing to check")


def run_qc(
    ds: xr.Dataset,
    config: QCConfig,
    *,
    cancelled: Callable[[], bool] | None = None,
) -> tuple[xr.Dataset, QCReport]:
    """Return a copy of ``ds`` with QC flag variables, and a report of what was flagged.

    ``cancelled`` is polled between tests; when it returns True, :class:`CancelledError`
    is raised and nothing is returned.
    """
    validate_station_dataset(ds)
    require_values(ds)
    report = QCReport()
    report.compile_seconds, report.first_call = kernels_ready()
    start = time.perf_counter()
    new: dict[str, xr.DataArray] = {}
    times = np.asarray(ds["time"].values).astype("datetime64[ns]")
    axis = _TimeAxis(times)
    station_index: list[StationIndex] = []

    def index() -> StationIndex:
        if not station_index:
            station_index.append(StationIndex(ds["latitude"].values, ds["longitude"].values))
        return station_index[0]

    for var, vqc in config.variables.items():
        if var not in ds.data_vars or not vqc.tests or ds[var].dims != ("station", "time"):
            continue  # only (station, time) observations are checked
        # no copy when the observations are already C-ordered float64 (the usual case)
        values = np.ascontiguousarray(ds[var].values, dtype=np.float64)
        tests = [(t, vqc.tests[t]) for t in TEST_ORDER if t in vqc.tests]
        block, aggregate, counts = _run_variable(values, tests, axis, ds, index, cancelled)
        names = [f"{var}_qc_{test}" for test, _ in tests]
        report.counts[var] = {}
        for j, (test, params) in enumerate(tests):
            # each test's flags are a view of the block: no copy per test
            new[names[j]] = xr.DataArray(block[j], dims=("station", "time"),
                                         attrs=_test_attrs(var, test, params))
            report.counts[var][test] = _count(counts[j])
        new[f"{var}_qc"] = xr.DataArray(
            aggregate, dims=("station", "time"),
            attrs={**flag_attrs(var), "qc_tests": " ".join(names)},
        )
        report.counts[var]["aggregate"] = _count(counts[-1])
        observed = ds[var].copy(deep=False)
        observed.attrs = {**ds[var].attrs,
                          "ancillary_variables": " ".join([f"{var}_qc", *names])}
        new[var] = observed
    out = ds.assign(new)  # one merge for all new variables, not one per variable
    report.run_seconds = time.perf_counter() - start
    return out, report


def _count(counts: NDArray[np.int64]) -> dict[QCFlag, int]:
    return {f: int(counts[int(f)]) for f in QCFlag}
