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

from desktop_app.core.flags import QCFlag, flag_attrs, test_flag_attrs, worst
from desktop_app.core.schema import validate_station_dataset
from desktop_app.errors import CancelledError, ConfigError, DataFileError
from desktop_app.qc import _kernels, checks
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
        return _compile_seconds, True
    return _compile_seconds, False


def _per_series(
    values: NDArray[np.float64], fn: Callable[[NDArray[np.float64]], Flags]
) -> Flags:
    out = np.empty(values.shape, np.uint8)
    for s in range(values.shape[0]):
        out[s] = fn(values[s])
    return out


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


def run_test(
    name: str, params: Any, values: NDArray[np.float64], times: NDArray[np.datetime64],
    ds: xr.Dataset, index: Callable[[], StationIndex],
) -> Flags:
    """Flags (station, time) of one configured test on one variable's values."""
    fn = series_test(params, times)
    if fn is not None:
        return _per_series(values, fn)
    if isinstance(params, BuddyCheck):
        bc = params
        return checks.buddy_check_prepared(
            index(), ds["elevation"].values, values, bc.radius, bc.num_min, bc.threshold,
            bc.max_elev_diff, bc.elev_gradient, bc.min_std, bc.num_iterations,
        )
    raise ConfigError(f"no runner for test {name!r}")


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
    out = ds.copy(deep=False)
    times = np.asarray(ds["time"].values).astype("datetime64[ns]")
    station_index: list[StationIndex] = []

    def index() -> StationIndex:
        if not station_index:
            station_index.append(StationIndex(ds["latitude"].values, ds["longitude"].values))
        return station_index[0]

    for var, vqc in config.variables.items():
        if var not in ds.data_vars or not vqc.tests or ds[var].dims != ("station", "time"):
            continue  # only (station, time) observations are checked
        values = np.ascontiguousarray(ds[var].values, dtype=np.float64)
        names: list[str] = []
        per_test: list[Flags] = []
        report.counts[var] = {}
        for test in TEST_ORDER:
            if test not in vqc.tests:
                continue
            if cancelled is not None and cancelled():
                raise CancelledError("QC cancelled")
            flags = run_test(test, vqc.tests[test], values, times, ds, index)
            qc_name = f"{var}_qc_{test}"
            out[qc_name] = xr.DataArray(
                flags, dims=("station", "time"), attrs=_test_attrs(var, test, vqc.tests[test])
            )
            names.append(qc_name)
            per_test.append(flags)
            report.counts[var][test] = _count(flags)
        aggregate = worst(*per_test)
        out[f"{var}_qc"] = xr.DataArray(
            aggregate, dims=("station", "time"),
            attrs={**flag_attrs(var), "qc_tests": " ".join(names)},
        )
        report.counts[var]["aggregate"] = _count(aggregate)
        new_attrs = dict(ds[var].attrs)
        new_attrs["ancillary_variables"] = " ".join([f"{var}_qc", *names])
        out[var] = ds[var].copy(deep=False)
        out[var].attrs = new_attrs
    report.run_seconds = time.perf_counter() - start
    return out, report


def _count(flags: Flags) -> dict[QCFlag, int]:
    counts = np.bincount(flags.ravel(), minlength=10)
    return {f: int(counts[int(f)]) for f in QCFlag}
