"""The QC test registry: every test the runner, the live watch and the cluster run know.

One :class:`QCTest` per test says its config name, its parameter class (a frozen
dataclass from :mod:`.params`; a config table is read into it, strictly), whether it
looks at one station's series or at the whole network at each time, whether it is sound
on the live watch's short rolling window, and how to run it. :data:`QC_TESTS` is in run
order. The runner (:func:`desktop_app.qc.runner.run_qc`), the watch's incremental QC
and the batch QC's split into station and time slabs all read it, so a new test is one
:func:`register` call (or one entry below).

A per-series test gives ``series`` (a plain function of one station's values); the
built-in ones also give ``fused``, the row that runs them inside the one parallel Numba
pass over all stations (:mod:`._stations`). A network test gives ``network``, which
writes the flags of every station at once.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import xarray as xr
from numpy.typing import NDArray

from desktop_app.errors import ConfigError, lookup
from desktop_app.qc import _cutoffs, _kernels, _stations, checks
from desktop_app.qc import params as qcp
from desktop_app.qc.neighbours import StationIndex

Flags = NDArray[np.uint8]
SeriesCheck = Callable[[NDArray[np.float64]], Flags]


@dataclass
class TimeAxis:
    """What the per-series tests need from the shared time axis, computed once."""

    times: NDArray[np.datetime64]
    steps: NDArray[np.float64] = field(init=False)
    month: NDArray[np.int64] = field(init=False)

    def __post_init__(self) -> None:
        self.steps = _kernels.step_seconds(self.times.view(np.int64))
        self.month = checks.month_index(self.times)


@dataclass(frozen=True)
class Network:
    """What a network test sees: every station's values of one variable at once."""

    values: NDArray[np.float64]  # (station, time), C-ordered
    ds: xr.Dataset  # the station dataset: latitude, longitude, elevation coordinates
    index: Callable[[], StationIndex]  # the station index, built once per run when asked


@dataclass(frozen=True)
class Fused:
    """A per-series test as a row of the parallel Numba pass (:func:`._stations.per_series`)."""

    code: int
    row: list[float]
    monthly: tuple[NDArray[np.float64], NDArray[np.float64]] | None = None  # climatology


@dataclass(frozen=True)
class QCTest:
    name: str
    params: type  # the parameter dataclass a config table is read into
    scope: Literal["series", "network"]
    online: bool = False  # sound on the live watch's short rolling window
    series: Callable[[Any, TimeAxis], SeriesCheck] | None = None
    network: Callable[[Any, Network, Flags], None] | None = None
    fused: Callable[[Any, TimeAxis], Fused] | None = None
    # how far back (s) before the new values an online test must see to judge them
    lookback_s: Callable[[Any], float] = lambda _params: 0.0
    warm_up: Callable[[], object] | None = None  # compile/load its Numba kernels
    # CF standard name of its flags: QARTOD's own for the tests QARTOD defines
    standard_name: str = "quality_flag"

    def __post_init__(self) -> None:
        if self.scope == "series" and self.series is None:
            raise ConfigError(f"QC test {self.name!r}: a per-series test needs a series check")
        if self.scope == "network" and self.network is None:
            raise ConfigError(f"QC test {self.name!r}: a network test needs a network check")
        if self.online and self.scope != "series":
            raise ConfigError(f"QC test {self.name!r}: only per-series tests run online")


def _spike(p: qcp.Spike, axis: TimeAxis) -> SeriesCheck:
    def check(x: NDArray[np.float64]) -> Flags:
        # an empty live window is nothing to judge (the public check refuses it)
        return checks.spike(x, p.suspect_threshold, p.fail_threshold, p.method) if x.size \
            else np.empty(0, np.uint8)
    return check


def _flat_line_row(p: qcp.FlatLine, axis: TimeAxis) -> Fused:
    counts = checks.flat_line_counts(axis.times, p.suspect_threshold, p.fail_threshold)
    s, f = counts if counts is not None else (0, 0)
    return Fused(_stations.FLAT_LINE, [s, f, float(p.tolerance), float(counts is not None)])


def _rate_of_change_row(p: qcp.RateOfChange, axis: TimeAxis) -> Fused:
    threshold, fail, has_fail = checks.rate_of_change_args(p.threshold, p.fail_threshold)
    cuts = [math.nan, math.nan]  # an irregular time axis: one division per value
    step = float(axis.steps[0]) if axis.steps.size else math.nan
    if step > _cutoffs.CUTOFF_MIN_STEP and math.isfinite(step) and np.all(axis.steps == step):
        cuts = [_cutoffs.rate_cutoff(threshold, step),
                _cutoffs.rate_cutoff(fail, step) if has_fail else math.inf]
    return Fused(_stations.RATE_OF_CHANGE, [threshold, fail, float(has_fail), *cuts])


def _buddy(p: qcp.BuddyCheck, net: Network, out: Flags) -> None:
    checks.buddy_check_prepared(
        net.index(), net.ds["elevation"].values, net.values, p.radius, p.num_min,
        p.threshold, p.max_elev_diff, p.elev_gradient, p.min_std, p.num_iterations, out=out)


def _qartod(test: str) -> str:
    """The CF standard name of a QARTOD test's flags, as ioos_qc names them."""
    return f"{test}_test_quality_flag"


_BUILT_IN = (
    QCTest("gross_range", qcp.GrossRange, "series", online=True,
           standard_name=_qartod("gross_range"),
           series=lambda p, a: lambda x: checks.gross_range(x, p.fail_span, p.suspect_span),
           fused=lambda p, a: Fused(_stations.GROSS_RANGE, [
               float(v) for v in checks.gross_range_args(p.fail_span, p.suspect_span)]),
           warm_up=_kernels.warm_up),
    QCTest("rate_of_change", qcp.RateOfChange, "series", online=True,
           standard_name=_qartod("rate_of_change"),
           series=lambda p, a: lambda x: checks.rate_of_change(x, a.times, p.threshold,
                                                               p.fail_threshold),
           fused=_rate_of_change_row,
           warm_up=_kernels.warm_up),
    QCTest("spike", qcp.Spike, "series", online=True, standard_name=_qartod("spike"),
           series=_spike,
           fused=lambda p, a: Fused(_stations.SPIKE, [float(v) for v in checks.spike_args(
               p.suspect_threshold, p.fail_threshold, p.method)]),
           warm_up=_kernels.warm_up),
    QCTest("flat_line", qcp.FlatLine, "series", online=True, standard_name=_qartod("flat_line"),
           series=lambda p, a: lambda x: checks.flat_line(
               x, a.times, p.suspect_threshold, p.fail_threshold, p.tolerance),
           fused=_flat_line_row, lookback_s=lambda p: float(p.fail_threshold),
           warm_up=_kernels.warm_up),
    # the whole series' median and spread: not meaningful on a short live window
    QCTest("robust_outlier", qcp.RobustOutlier, "series",
           series=lambda p, a: lambda x: checks.robust_outlier(x, p.suspect_z, p.fail_z,
                                                               p.min_count),
           fused=lambda p, a: Fused(_stations.ROBUST_OUTLIER,
                                    [float(p.suspect_z), float(p.fail_z), int(p.min_count)]),
           warm_up=_kernels.warm_up),
    # needs a climate of the station's months; kept for archives
    QCTest("climatology", qcp.Climatology, "series", standard_name=_qartod("climatology"),
           series=lambda p, a: lambda x: checks.climatology(x, a.times, p.monthly_min,
                                                            p.monthly_max),
           fused=lambda p, a: Fused(_stations.CLIMATOLOGY, [], checks.climatology_bounds(
               p.monthly_min, p.monthly_max)),
           warm_up=_kernels.warm_up),
    QCTest("buddy_check", qcp.BuddyCheck, "network", network=_buddy,
           warm_up=checks.buddy_warm_up),
)
QC_TESTS: dict[str, QCTest] = {t.name: t for t in _BUILT_IN}


def register(test: QCTest) -> None:
    """Add a test (run after those registered before it); a taken name is an error."""
    if test.name in QC_TESTS:
        raise ConfigError(f"a QC test named {test.name!r} is already registered")
    QC_TESTS[test.name] = test


def known_tests() -> tuple[str, ...]:
    return tuple(QC_TESTS)


def qc_test(name: str) -> QCTest:
    return lookup(QC_TESTS, name, "QC test")


def online_tests(tests: dict[str, Any]) -> dict[str, Any]:
    """The tests of a variable's configuration that the live watch can run."""
    return {name: p for name, p in tests.items() if qc_test(name).online}


def series_check(name: str, params: Any, axis: TimeAxis) -> SeriesCheck:
    """A per-series test as a function of one station's values at ``axis.times``."""
    test = qc_test(name)
    if test.series is None:
        raise ConfigError(f"QC test {name!r} needs every station at once, not one series")
    return test.series(params, axis)


def warm_up() -> float:
    """Compile (or load) the kernels of every registered test and the per-series driver,
    each once; the seconds taken."""
    start = time.perf_counter()
    done: list[Callable[[], object]] = []
    for fn in [*(t.warm_up for t in QC_TESTS.values()), _stations.warm_up]:
        if fn is not None and fn not in done:
            fn()
            done.append(fn)
    return time.perf_counter() - start
