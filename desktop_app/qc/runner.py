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
from desktop_app.errors import CancelledError, DataFileError
from desktop_app.qc import _stations, registry
from desktop_app.qc._dispatch import backend
from desktop_app.qc._threads import in_threads
from desktop_app.qc.config import QCConfig
from desktop_app.qc.neighbours import StationIndex
from desktop_app.qc.registry import Network, QCTest, TimeAxis

Flags = NDArray[np.uint8]
_compile_seconds: float | None = None


@dataclass
class QCReport:
    """What a run did: flag counts per variable and test, timings."""

    counts: dict[str, dict[str, dict[QCFlag, int]]] = field(default_factory=dict)
    compile_seconds: float = 0.0
    first_call: bool = False
    run_seconds: float = 0.0
    # "jit" (Numba), or the module compiled ahead of time that ran (the installer's)
    kernels: str = field(default_factory=backend)


def kernels_ready() -> tuple[float, bool]:
    """Compile or load the kernels once per process: (seconds, whether this call did it)."""
    global _compile_seconds
    if _compile_seconds is None:
        _compile_seconds = registry.warm_up()
        return _compile_seconds, True
    return _compile_seconds, False


def _run_variable(
    values: NDArray[np.float64], tests: list[tuple[QCTest, Any]], axis: TimeAxis,
    ds: xr.Dataset, index: Callable[[], StationIndex], cancelled: Callable[[], bool] | None,
) -> tuple[NDArray[np.uint8], NDArray[np.uint8], NDArray[np.int64]]:
    """All tests of one variable: flags (test, station, time), the aggregate and the
    counts (test + aggregate, flag value). The tests without a fused row (a network test,
    a per-series test run from Python) write their slices of the block first; then one
    parallel pass over stations runs the fused per-series tests into theirs and
    aggregates and counts each station's flags while they are in the cache."""
    block = np.empty((len(tests), *values.shape), np.uint8)
    codes: list[int] = []
    rows: list[list[float]] = []
    where: list[int] = []
    clim = (np.full(12, np.nan), np.full(12, np.nan))
    for j, (test, params) in enumerate(tests):
        if test.fused is not None:
            fused = test.fused(params, axis)
            codes.append(fused.code)
            rows.append(fused.row + [0.0] * (_stations.N_PARAMS - len(fused.row)))
            where.append(j)
            if fused.monthly is not None:
                clim = fused.monthly
    for j, (test, params) in enumerate(tests):
        if j in where:
            continue
        if cancelled is not None and cancelled():
            raise CancelledError("QC cancelled")
        if test.network is not None:
            test.network(params, Network(values, ds, index), block[j])
        else:
            assert test.series is not None  # QCTest checks a per-series test has one
            check = test.series(params, axis)
            for s in range(values.shape[0]):
                block[j, s] = check(values[s])
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


def _test_attrs(var: str, test: QCTest, params: Any) -> dict[str, object]:
    text = ", ".join(f"{k}={v}" for k, v in vars(params).items())
    return {
        **test_flag_attrs(var, test.name, test.standard_name),
        "qc_test": test.name,
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
    # plain Variables, not DataArrays: they carry no coordinates, so the one merge below
    # has nothing to align (aligning the DataArrays' coordinates cost more than the rest)
    new: dict[str, xr.Variable] = {}
    times = np.asarray(ds["time"].values).astype("datetime64[ns]")
    axis = TimeAxis(times)
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
        for name in vqc.tests:
            registry.qc_test(name)  # a test no one registered is an error, not skipped
        tests = [(t, vqc.tests[t.name]) for t in registry.QC_TESTS.values()
                 if t.name in vqc.tests]
        block, aggregate, counts = _run_variable(values, tests, axis, ds, index, cancelled)
        names = [f"{var}_qc_{test.name}" for test, _ in tests]
        report.counts[var] = {}
        for j, (test, params) in enumerate(tests):
            # each test's flags are a view of the block: no copy per test
            new[names[j]] = xr.Variable(("station", "time"), block[j],
                                        attrs=_test_attrs(var, test, params))
            report.counts[var][test.name] = _count(counts[j])
        new[f"{var}_qc"] = xr.Variable(
            ("station", "time"), aggregate,
            attrs={**flag_attrs(var), "qc_tests": " ".join(names)},
        )
        report.counts[var]["aggregate"] = _count(counts[-1])
        observed = ds[var].variable.copy(deep=False)
        observed.attrs = {**ds[var].attrs,
                          "ancillary_variables": " ".join([f"{var}_qc", *names])}
        new[var] = observed
    out = ds.assign(new)  # one merge for all new variables, not one per variable
    report.run_seconds = time.perf_counter() - start
    return out, report


def _count(counts: NDArray[np.int64]) -> dict[QCFlag, int]:
    return {f: int(counts[int(f)]) for f in QCFlag}
