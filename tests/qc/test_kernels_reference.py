"""Numba kernels against the plain NumPy reference (``desktop_app.qc.reference``).

Property tests with hypothesis: NaN and +-inf, constant series, irregular and zero time
steps, one station, stations without neighbours. Both sides get identical inputs.
"""

from __future__ import annotations

import numpy as np
import numpy.testing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from desktop_app.qc import _cutoffs, _kernels, checks, reference
from desktop_app.qc._select import finite_median
from desktop_app.qc.neighbours import StationIndex
from tests.qc.qc_data import read_ioos_series, tmy3_station_dataset

SETTINGS = settings(max_examples=80, deadline=None)

element = st.one_of(
    st.integers(-5, 5).map(float),
    st.floats(-20, 20, allow_nan=False),
    st.sampled_from([np.nan, np.inf, -np.inf]),
)
series = st.one_of(
    st.lists(element, min_size=0, max_size=60).map(np.array),
    # constant series, with or without a gap
    st.tuples(st.floats(-5, 5), st.integers(1, 60), st.booleans()).map(
        lambda a: np.where(np.arange(a[1]) == a[1] // 2, np.nan if a[2] else a[0], a[0])
    ),
)
series = series.map(lambda x: np.asarray(x, dtype=np.float64))


@SETTINGS
@given(x=series, lo=st.floats(-10, 0), width=st.floats(0, 20), has_suspect=st.booleans())
def test_gross_range(x: np.ndarray, lo: float, width: float, has_suspect: bool) -> None:
    args = (lo, lo + width, lo + width / 4, lo + width / 2, has_suspect)
    npt.assert_array_equal(_kernels.gross_range(x, *args), reference.gross_range(x, *args))


@SETTINGS
@given(x=series, steps=st.lists(st.sampled_from([0.0, 1.0, 2.0, 60.0, 3600.0, -60.0, -1.0]),
                                min_size=60, max_size=60),
       thr=st.floats(0, 2), has_fail=st.booleans())
def test_rate_of_change(x: np.ndarray, steps: list[float], thr: float, has_fail: bool) -> None:
    dt = np.array(steps[: max(x.size - 1, 0)])
    t_ns = (np.concatenate([[0.0], np.cumsum(dt)]) * 7.3e8).astype(np.int64)[: x.size]
    args = (thr, thr * 3, has_fail)
    npt.assert_array_equal(_kernels.rate_of_change(x, t_ns, *args),
                           reference.rate_of_change(x, t_ns, *args))


@SETTINGS
@given(x=series.filter(lambda a: a.size > 0), s=st.floats(0, 5), f=st.floats(0, 10),
       use_s=st.booleans(), use_f=st.booleans(), differential=st.booleans())
def test_spike(x: np.ndarray, s: float, f: float, use_s: bool, use_f: bool,
               differential: bool) -> None:
    args = (s, f, use_s, use_f, differential)
    npt.assert_array_equal(_kernels.spike(x, *args), reference.spike(x, *args))


@SETTINGS
@given(x=series, s=st.integers(0, 8), f=st.integers(0, 12), tol=st.sampled_from([0, 0.5, 3.0]),
       evaluate=st.booleans())
def test_flat_line(x: np.ndarray, s: int, f: int, tol: float, evaluate: bool) -> None:
    npt.assert_array_equal(_kernels.flat_line(x, s, f, tol, evaluate),
                           reference.flat_line(x, s, f, tol, evaluate))


def test_flat_line_on_real_series() -> None:
    """Real hourly series (a stuck pressure sensor among them), with and without gaps: the
    stretches between steps of at least the tolerance are scanned only where they are
    long enough to hold a flat window, and the flags still equal the reference's."""
    tmy3 = tmy3_station_dataset()
    real = [tmy3["temperature"].values[0], tmy3["surface_pressure"].values[1],
            tmy3["relative_humidity"].values[0]]
    gappy = real[0].copy()
    gappy[::5] = np.nan
    gappy[3::17] = np.inf
    for x in [*real, gappy]:
        for s, f, tol in [(6, 12, 0.05), (3, 6, 0.5), (0, 4, 0.05), (2, 3, 2.0), (6, 12, 0.0)]:
            npt.assert_array_equal(_kernels.flat_line(x, s, f, tol, True),
                                   reference.flat_line(x, s, f, tol, True))


@SETTINGS
@given(x=series, sz=st.floats(1, 5), fz=st.floats(1, 10), n=st.integers(0, 30))
def test_robust_outlier(x: np.ndarray, sz: float, fz: float, n: int) -> None:
    npt.assert_array_equal(_kernels.robust_outlier(x, sz, fz, n),
                           reference.robust_outlier(x, sz, fz, n))


@SETTINGS
@given(x=series, lo=st.lists(st.sampled_from([np.nan, -3.0, 0.0, 1.0]), min_size=12,
                             max_size=12))
def test_climatology(x: np.ndarray, lo: list[float]) -> None:
    month = np.arange(x.size, dtype=np.int64) % 12
    lows = np.array(lo)
    highs = lows + 4
    npt.assert_array_equal(_kernels.climatology(x, month, lows, highs),
                           reference.climatology(x, month, lows, highs))


stations = st.integers(1, 40).flatmap(
    lambda n: st.tuples(
        st.lists(st.floats(59.0, 59.6), min_size=n, max_size=n),
        st.lists(st.floats(10.0, 10.8), min_size=n, max_size=n),
        st.lists(st.sampled_from([0.0, 50.0, 300.0, 900.0]), min_size=n, max_size=n),
        st.lists(st.one_of(st.integers(-4, 4).map(float), st.just(np.nan),
                           st.floats(-30, 30)), min_size=n, max_size=n),
    )
)


@settings(max_examples=60, deadline=None)
@given(data=stations, radius=st.sampled_from([5000.0, 20000.0, 60000.0]),
       num_min=st.integers(1, 4), threshold=st.sampled_from([1.3, 2.1, 3.7]),
       max_elev_diff=st.sampled_from([0.0, 100.0, 500.0]), iterations=st.integers(1, 3),
       colocate=st.booleans())
def test_buddy_check(data: tuple[list[float], ...], radius: float, num_min: int,
                     threshold: float, max_elev_diff: float, iterations: int,
                     colocate: bool) -> None:
    lats, lons, elevs, values = (np.array(a) for a in data)
    if colocate and lats.size > 2:  # stations sharing a position are never buddies
        lats[1], lons[1] = lats[0], lons[0]
    mins = np.full(lats.size, num_min, np.int64)
    radii = np.full(lats.size, radius)
    want = reference.buddy_check(lats, lons, elevs, values, radii, mins, threshold,
                                 max_elev_diff, -0.0065, 0.7, iterations)
    got = checks.buddy_check(lats, lons, elevs, values, radius, num_min, threshold,
                             max_elev_diff, -0.0065, 0.7, iterations)
    npt.assert_array_equal(got, want)


def test_buddy_one_station_and_no_neighbours() -> None:
    one = checks.buddy_check([60.0], [10.0], [0.0], [5.0], 50000.0, 1, 2.0, 0.0, 0.0, 1.0, 2)
    npt.assert_array_equal(one, [2])
    far = checks.buddy_check([60.0, 0.0], [10.0, 100.0], [0.0, 0.0], [5.0, np.nan], 50000.0,
                             1, 2.0, 0.0, 0.0, 1.0, 2)
    npt.assert_array_equal(far, [2, 9])


def test_neighbour_index_matches_brute_force() -> None:
    rng = np.random.default_rng(3)  # generated station layout
    lats, lons = rng.uniform(-89, 89, 500), rng.uniform(-180, 180, 500)
    lats[:100], lons[:100] = rng.uniform(45, 46, 100), rng.uniform(7, 8, 100)
    index = StationIndex(lats, lons)
    order, indptr, indices = index.neighbours(40000.0)
    d = np.sqrt(((index.xyz[:, None] - index.xyz[None]) ** 2).sum(-1))
    for p in range(500):
        i = order[p]
        want = set(np.flatnonzero((d[i] < 40000.0) & (np.arange(500) != i)))
        assert set(order[indices[indptr[p]:indptr[p + 1]]]) == want


_SCRIPT = """
import numpy as np
from desktop_app.qc import checks
rng = np.random.default_rng(0)
x = np.round(rng.normal(0, 2, 300), 1); x[::17] = np.nan; x[100:130] = 1.0
t = np.datetime64("2020-01-01", "ns") + np.cumsum(rng.choice([60, 600, 3600], 300)).astype(
    "timedelta64[s]")
lats, lons = rng.uniform(59, 60, 300), rng.uniform(10, 11, 300)
flags = [checks.gross_range(x, (-4, 4), (-3, 3)), checks.rate_of_change(x, t, 0.001, 0.01),
         checks.spike(x, 1, 3), checks.flat_line(x, t, 3600, 7200, 0.05),
         checks.robust_outlier(x, 2, 3, 10), checks.climatology(x, t, [-2] * 12, [2] * 12),
         checks.buddy_check(lats, lons, np.zeros(300), x, 20000.0, 3, 2.0, 0.0, 0.0, 0.5, 2)]
print(np.concatenate(flags).tobytes().hex())
"""


def test_same_flags_with_jit_disabled() -> None:
    """NUMBA_DISABLE_JIT=1 (for coverage and debuggers) runs the kernels as Python."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    runs = [
        subprocess.run([sys.executable, "-c", _SCRIPT], cwd=root, capture_output=True,
                       text=True, check=True,
                       env={**os.environ, "NUMBA_DISABLE_JIT": flag}).stdout
        for flag in ("0", "1")
    ]
    assert runs[0] == runs[1] and len(runs[0]) > 100


def _long_series() -> list[np.ndarray]:
    """Real long series (the bracketed median path needs >= 1,024 values), and the
    shapes that defeat a sampled bracket: sorted, constant, mostly missing, infinities."""
    _, ioos = read_ioos_series()
    tmy3 = tmy3_station_dataset()
    real = [ioos, tmy3["temperature"].values[0], tmy3["surface_pressure"].values[1]]
    base = real[1].copy()
    holes = base.copy()
    holes[::3] = np.nan
    holes[5::7] = np.inf
    holes[6::11] = -np.inf
    return [*real, np.sort(base), base[::-1].copy(), np.full(5000, 7.5), holes,
            base[:1025], base[:1024],
            # deviations that overflow to inf from finite values
            np.concatenate([np.full(2000, -1.7e308), np.full(9000, 1.7e308), base]),
            # heavy ties (whole degrees), an even count of them, and middle values whose
            # spread is too small (subnormal) or too large for the bracket's histogram
            np.round(base), np.round(base[:4000]), base * 1e-310,
            np.concatenate([base[:3000] * 1e306, [-1.7e308, 1.7e308]]),
            _misleading_sample(base), _split_middle(base)]


def _split_middle(base: np.ndarray) -> np.ndarray:
    """``base`` (an even count) with its upper half raised by 100: the two middle values
    lie far apart, in different buckets of the bracket's histogram."""
    x = base.copy()
    x[np.argsort(x, kind="stable")[x.size // 2:]] += 100.0
    return x


def _misleading_sample(base: np.ndarray) -> np.ndarray:
    """``base`` with the values at the positions the bracketing sample reads raised far
    above all others: the sample's bracket then misses the middle and the median must
    come from the fallback selection on all values."""
    x = base.copy()
    j = np.arange(256, dtype=np.uint64)
    picks = (((j * np.uint64(2654435761)) & np.uint64(0xFFFFFFFF)) * np.uint64(x.size)) \
        >> np.uint64(32)
    x[picks.astype(np.int64)] = 1e6 + np.arange(256)
    return x


def test_finite_median_equals_numpy_on_long_series() -> None:
    for x in _long_series():
        good = x[np.isfinite(x)]
        scratch = np.empty(x.size)
        med, count = finite_median(x, 0.0, False, scratch)
        assert count == good.size
        with np.errstate(over="ignore"):  # the last series overflows on purpose
            assert med == np.median(good)
            want = np.median(np.abs(good - med))
            assert finite_median(x, med, True, scratch)[0] == want
            npt.assert_array_equal(_kernels.robust_outlier(x, 3.0, 5.0, 24),
                                   reference.robust_outlier(x, 3.0, 5.0, 24))


def test_finite_median_of_nothing_finite() -> None:
    x = np.full(3000, np.nan)
    x[::4] = np.inf
    med, count = finite_median(x, 0.0, False, np.empty(x.size))
    assert np.isnan(med) and count == 0


def test_finite_median_equals_numpy_on_short_series() -> None:
    """Below 1,024 values the selection runs on all finite values: odd and even counts,
    ties, one value."""
    _, ioos = read_ioos_series()
    for x in [ioos[:1023], ioos[:1022], np.round(ioos[:600]), ioos[:1], ioos[:2]]:
        good = x[np.isfinite(x)]
        med, count = finite_median(x, 0.0, False, np.empty(x.size))
        assert count == good.size and med == np.median(good)


@SETTINGS
@given(x=series, step=st.sampled_from([4.0000001, 5.0, 60.0, 3600.0, 86400.0, 1e300]),
       thr=st.one_of(st.floats(-1, 30), st.sampled_from(
           [0.0, -0.0, 5e-324, 1e-310, 1e300, 1.7e308, np.inf, -np.inf, np.nan])),
       fail=st.one_of(st.none(), st.floats(0, 60), st.sampled_from([np.inf, np.nan])),
       at_cut=st.lists(st.integers(0, 59), max_size=8))
def test_rate_of_change_cutoffs_equal_the_division(
    x: np.ndarray, step: float, thr: float, fail: float | None, at_cut: list[int]
) -> None:
    """On a regular axis the runner compares |dv| with cutoffs instead of dividing by the
    step: the same flags for every threshold, with changes placed exactly at, just below
    and just above the cutoffs, huge, tiny and infinite values."""
    cut_s = _cutoffs.rate_cutoff(thr, step)
    cut_f = np.inf if fail is None else _cutoffs.rate_cutoff(fail, step)
    x = x.copy()
    with np.errstate(over="ignore"):  # (a cutoff next to the largest double)
        for j, i in enumerate(at_cut):
            cut = cut_s if j % 2 else cut_f
            if 0 < i < x.size and np.isfinite(x[i - 1]) and np.isfinite(cut):
                near = [cut, np.nextafter(cut, np.inf), np.nextafter(cut, -np.inf)]
                x[i] = x[i - 1] + near[j % 3]
    want = np.empty(x.size, np.uint8)
    _kernels.rate_of_change_into(x, np.full(max(x.size - 1, 0), step), thr,
                                 0.0 if fail is None else fail, fail is not None, want)
    got = np.empty(x.size, np.uint8)
    _kernels.rate_of_change_cut_into(x, cut_s, cut_f, got)
    npt.assert_array_equal(got, want)


def test_rate_cutoff_only_for_long_steps() -> None:
    for step in (4.0, 1.0, 0.0, -3600.0, np.inf, np.nan):
        with pytest.raises(ValueError, match="no rate cutoff"):
            _cutoffs.rate_cutoff(1.0, step)
    assert _cutoffs.rate_cutoff(np.nan, 60.0) == np.inf
    assert _cutoffs.rate_cutoff(-1.0, 60.0) == -np.inf
    assert _cutoffs.rate_cutoff(np.inf, 60.0) == np.inf
    cut = _cutoffs.rate_cutoff(0.5, 3600.0)
    assert cut / 3600.0 <= 0.5 < np.nextafter(cut, np.inf) / 3600.0


huge = st.sampled_from([1.7e308, -1.7e308, 9e307, -9e307, 2.0 ** 1023, -(2.0 ** 1023),
                        np.nextafter(2.0 ** 1023, 0), 4.5e307, 5e-324, np.nan, np.inf])
extreme_series = st.lists(st.one_of(element, huge), min_size=1, max_size=60).map(
    lambda a: np.asarray(a, dtype=np.float64))


@SETTINGS
@given(x=extreme_series, s=st.sampled_from([0.0, 1.0, 4.0, 1e308, np.inf]),
       f=st.sampled_from([0.0, 8.0, 1e308, np.inf]), use_s=st.booleans(),
       use_f=st.booleans(), differential=st.booleans())
def test_spike_near_the_largest_doubles(x: np.ndarray, s: float, f: float, use_s: bool,
                                        use_f: bool, differential: bool) -> None:
    """Sums of neighbours at and around 2**1023, where ioos_qc's masked division stops
    giving a reference value, and differences that overflow."""
    args = (s, f, use_s, use_f, differential)
    with np.errstate(over="ignore", invalid="ignore"):
        want = reference.spike(x, *args)
    npt.assert_array_equal(_kernels.spike(x, *args), want)


@SETTINGS
@given(noise=st.lists(st.sampled_from([0.0, 0.0, 0.3, 1.0, np.nan]), min_size=0, max_size=400),
       flat=st.lists(st.tuples(st.integers(0, 399), st.integers(1, 60)), max_size=4),
       s=st.integers(1, 45), f=st.integers(1, 50))
def test_flat_line_long_windows(noise: list[float], flat: list[tuple[int, int]], s: int,
                                f: int) -> None:
    """Windows on both sides of the reach up to which flat_line_into tests for a quiet
    stretch before its walk, on long series with and without flat stretches."""
    x = np.cumsum(np.nan_to_num(noise)) + np.where(np.isnan(noise), np.nan, 0.0)
    for start, length in flat:
        x[start:start + length] = 1.0
    npt.assert_array_equal(_kernels.flat_line(x, s, f, 0.05, True),
                           reference.flat_line(x, s, f, 0.05, True))


@SETTINGS
@given(z=st.one_of(st.floats(0, 1e308, exclude_min=True), st.sampled_from([4.0, 6.0, 5e-324])),
       scale=st.one_of(st.floats(0, 1e308, exclude_min=True),
                       st.sampled_from([5e-324, 1e-310, 1.4826, 1.7e308])))
def test_robust_outlier_cutoff_is_the_last_unflagged_deviation(z: float, scale: float) -> None:
    """The robust-outlier flags compare |v - median| with this cutoff instead of dividing
    by the scale: exact where it is found (NaN: the kernel divides)."""
    cut = _cutoffs.z_cutoff(z, scale)
    if not np.isnan(cut):
        assert not cut / scale > z
        with np.errstate(over="ignore"):
            assert np.nextafter(cut, np.inf) / scale > z
