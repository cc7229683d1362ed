"""Buddy check against titanlib on the same inputs.

Station layouts and values are generated (labelled as such): there is no real dense
station network in the fixtures. Flags are compared with titanlib's 0/1 result as
flagged <-> SUSPECT; every other difference is a documented one and is tested apart.
"""

from __future__ import annotations

import numpy as np
import numpy.testing as npt
import pytest

from desktop_app.qc import _buddy, checks
from desktop_app.qc._threads import in_threads
from desktop_app.qc.neighbours import PARALLEL_MIN_STATIONS, StationIndex
from tests.qc.qc_data import generated_network

titanlib = pytest.importorskip("titanlib")  # in the dev extra; installed in CI


def _titan(lats: np.ndarray, lons: np.ndarray, elevs: np.ndarray, values: np.ndarray,
           radius: float | np.ndarray, num_min: int, threshold: float, max_elev_diff: float,
           elev_gradient: float, min_std: float, iterations: int) -> np.ndarray:
    points = titanlib.Points(lats, lons, elevs)
    radii = np.atleast_1d(np.asarray(radius, dtype=np.float64))
    return np.array(titanlib.buddy_check(
        points, values, radii, np.full(1, num_min, np.int32), threshold, max_elev_diff,
        elev_gradient, min_std, iterations,
    ))


@pytest.mark.parametrize(
    ("n", "radius", "num_min", "threshold", "max_elev_diff", "min_std", "iterations"),
    [
        (300, 30000.0, 3, 2.0, 200.0, 1.0, 1),
        (1000, 25000.0, 5, 2.5, 300.0, 0.5, 2),
        (1000, 40000.0, 2, 1.5, 0.0, 1.0, 3),
        (3000, 15000.0, 4, 2.0, 150.0, 0.8, 5),
    ],
)
def test_identical_flags_to_titanlib(n: int, radius: float, num_min: int, threshold: float,
                                     max_elev_diff: float, min_std: float,
                                     iterations: int) -> None:
    lats, lons, elevs, values = generated_network(n, seed=n + iterations)
    want = _titan(lats, lons, elevs, values, radius, num_min, threshold, max_elev_diff,
                  -0.0065, min_std, iterations)
    got = checks.buddy_check(lats, lons, elevs, values, radius, num_min, threshold,
                             max_elev_diff, -0.0065, min_std, iterations)
    assert want.sum() > 0  # the generated outliers are found at all
    npt.assert_array_equal(got == 3, want == 1)
    # what titanlib leaves 0 is ours PASS or NOT_EVALUATED (too few buddies)
    assert set(np.unique(got[want == 0])) <= {1, 2}


def test_per_station_radius_matches_titanlib() -> None:
    lats, lons, elevs, values = generated_network(800, seed=11)
    radius = np.where(np.arange(800) % 2 == 0, 20000.0, 45000.0)
    want = _titan(lats, lons, elevs, values, radius, 3, 2.0, 250.0, -0.0065, 1.0, 2)
    got = checks.buddy_check(lats, lons, elevs, values, radius, 3, 2.0, 250.0, -0.0065, 1.0, 2)
    npt.assert_array_equal(got == 3, want == 1)


def test_colocated_stations_are_not_buddies_like_titanlib() -> None:
    lats, lons = np.array([60.0, 60.0, 60.0]), np.array([10.0, 10.0, 10.0])
    values = np.array([5.0, 0.0, 0.1])
    want = _titan(lats, lons, np.zeros(3), values, 50000.0, 2, 2.0, 0.0, 0.0, 0.5, 1)
    got = checks.buddy_check(lats, lons, np.zeros(3), values, 50000.0, 2, 2.0, 0.0, 0.0, 0.5, 1)
    npt.assert_array_equal(want, [0, 0, 0])
    npt.assert_array_equal(got, [2, 2, 2])


def test_documented_difference_missing_values() -> None:
    """titanlib lets one NaN neighbour turn the buddy mean into NaN, so the obvious outlier
    beside it is not flagged (and an inf value is flagged); we skip missing buddies."""
    lats = np.array([60.0, 60.01, 60.02, 60.03, 60.04])
    lons, elevs = np.full(5, 10.0), np.zeros(5)
    values = np.array([0.0, np.nan, 0.2, -0.1, 5.0])
    want = _titan(lats, lons, elevs, values, 50000.0, 2, 2.0, 0.0, 0.0, 1.0, 1)
    got = checks.buddy_check(lats, lons, elevs, values, 50000.0, 2, 2.0, 0.0, 0.0, 1.0, 1)
    npt.assert_array_equal(want, [0, 0, 0, 0, 0])
    npt.assert_array_equal(got, [1, 9, 1, 1, 3])
    values[1] = np.inf
    want = _titan(lats, lons, elevs, values, 50000.0, 2, 2.0, 0.0, 0.0, 1.0, 1)
    got = checks.buddy_check(lats, lons, elevs, values, 50000.0, 2, 2.0, 0.0, 0.0, 1.0, 1)
    npt.assert_array_equal(want, [0, 1, 0, 0, 0])
    npt.assert_array_equal(got, [1, 9, 1, 1, 3])


def test_flags_of_one_iteration_count_from_the_next() -> None:
    lats = np.array([60.0, 60.01, 60.02, 60.03, 60.04])
    lons, elevs = np.full(5, 10.0), np.zeros(5)
    values = np.array([0.0, 0.1, 8.0, -0.1, 5.0])
    for it, expected in ((1, [0, 0, 1, 0, 0]), (3, [0, 0, 1, 0, 1])):
        want = _titan(lats, lons, elevs, values, 50000.0, 2, 1.5, 0.0, 0.0, 1.0, it)
        got = checks.buddy_check(lats, lons, elevs, values, 50000.0, 2, 1.5, 0.0, 0.0, 1.0, it)
        npt.assert_array_equal(want, expected)
        npt.assert_array_equal(got == 3, want == 1)


def test_time_axis_is_many_independent_checks() -> None:
    lats, lons, elevs, values = generated_network(400, seed=5)
    rng = np.random.default_rng(6)
    series = values[:, None] + rng.normal(0, 0.5, (400, 6))  # generated
    got = checks.buddy_check(lats, lons, elevs, series, 30000.0, 3, 2.0, 200.0, -0.0065, 1.0, 2)
    for t in range(6):
        want = _titan(lats, lons, elevs, series[:, t].copy(), 30000.0, 3, 2.0, 200.0, -0.0065,
                      1.0, 2)
        npt.assert_array_equal(got[:, t] == 3, want == 1)


def test_large_network_takes_the_parallel_paths_and_matches_titanlib() -> None:
    lats, lons, elevs, values = generated_network(6000, seed=60)
    index = StationIndex(lats, lons)
    assert index.size >= PARALLEL_MIN_STATIONS
    assert index.neighbours(30000.0).indptr[-1] >= 500_000  # parallel buddy kernel too
    want = _titan(lats, lons, elevs, values, 30000.0, 3, 2.0, 200.0, -0.0065, 1.0, 2)
    got = checks.buddy_check(lats, lons, elevs, values, 30000.0, 3, 2.0, 200.0, -0.0065, 1.0, 2)
    npt.assert_array_equal(got == 3, want == 1)


def test_parallel_and_serial_time_drivers_agree() -> None:
    lats, lons, elevs, values = generated_network(500, seed=8)
    rng = np.random.default_rng(9)
    # generated; 300 steps: more than one time block, and outliers flagged in the first
    # iteration so that the later iterations run on some steps
    series = values[:, None] + rng.normal(0, 1.0, (500, 300))
    series[rng.random(series.shape) < 0.05] = np.nan
    nb = StationIndex(lats, lons).neighbours(30000.0)
    el, mins, check = elevs[nb.order], np.full(500, 3, np.int64), np.ones(500, np.bool_)
    lists = _buddy.prune(nb.indptr, nb.indices, el, 200.0, -0.0065)
    blocks, serial = (np.empty(series.shape, np.uint8) for _ in range(2))
    args = (series, nb.order, *lists, mins, check, 2.0, 1.0, 3)
    in_threads(_buddy.buddy_blocks, _buddy.n_blocks(300), *args, blocks)  # blocks in threads
    _buddy.buddy_blocks(*args, serial, 0, _buddy.n_blocks(300))
    npt.assert_array_equal(blocks, serial)
    assert (serial == 3).sum() > 50
    for t in range(300):  # the one-step driver (stations in parallel, unpruned lists)
        one = _buddy.buddy_one_step(np.ascontiguousarray(series[nb.order, t]), el, nb.indptr,
                                    nb.indices, mins, check, 2.0, 200.0, -0.0065, 1.0, 3)
        npt.assert_array_equal(one, serial[nb.order, t])


def test_later_iterations_on_many_steps_match_titanlib() -> None:
    """Clustered outliers (generated) at many steps: the first iteration flags some, the
    later ones (which only revisit the neighbours of new flags) flag more and clear some
    stations' buddies below num_min; every step as titanlib has it."""
    lats, lons, elevs, values = generated_network(500, seed=21)
    rng = np.random.default_rng(22)
    series = values[:, None] + rng.normal(0, 0.8, (500, 40))
    for t in range(40):  # a cluster of neighbouring stations off together at each step
        near = np.argsort(np.hypot(lats - lats[t * 7], lons - lons[t * 7]))[:6]
        series[near, t] += rng.choice([-1.0, 1.0]) * rng.uniform(4.0, 9.0)
    # (no missing values: titanlib's differ, see test_documented_difference_missing_values)
    got = checks.buddy_check(lats, lons, elevs, series, 35000.0, 3, 2.0, 200.0, -0.0065, 0.5,
                             4)
    later = 0
    for t in range(40):
        want = _titan(lats, lons, elevs, series[:, t].copy(), 35000.0, 3, 2.0, 200.0,
                      -0.0065, 0.5, 4)
        npt.assert_array_equal(got[:, t] == 3, want == 1)
        one = _titan(lats, lons, elevs, series[:, t].copy(), 35000.0, 3, 2.0, 200.0,
                     -0.0065, 0.5, 1)
        later += int((want != one).sum())
    assert later > 0  # the later iterations changed something
