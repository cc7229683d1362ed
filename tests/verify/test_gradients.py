"""Vertical temperature gradients from real winter stations: IMIS (seven Swiss stations,
1,630-2,390 m, Dec 2008 - Jan 2009) and Rofental (two stations, 2,659 and 2,805 m)."""

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from desktop_app.verify.gradients import summary, vertical_gradients

DATA = Path(__file__).resolve().parents[1] / "data" / "verify"


@pytest.fixture(scope="module")
def imis():
    return xr.open_dataset(DATA / "imis_ta_2008-12.nc").load()


def test_gradients_match_a_per_step_polyfit(imis):
    t = imis["temperature"].values
    z = imis["elevation"].values
    got = vertical_gradients(t, z)
    assert np.isfinite(got).sum() > 1400  # nearly every hour has >= 3 stations
    for k in range(0, t.shape[1], 97):
        ok = np.isfinite(t[:, k])
        if ok.sum() >= 3:
            want = np.polyfit(z[ok] / 1000.0, t[ok, k], 1)[0]
            assert got[k] == pytest.approx(want, abs=1e-9)


def test_imis_winter_gradients_centre_near_standard_but_include_inversions(imis):
    s = summary(vertical_gradients(imis["temperature"].values, imis["elevation"].values))
    assert -8.0 < s["median"] < -5.0
    assert s["share_inversion"] > 0.01  # real inversion hours, the fixed rate's blind spot
    assert s["p95"] > -2.0 and s["p05"] < -10.0  # far wider than one fixed rate


def test_two_stations_give_the_difference_over_the_height():
    rof = xr.open_dataset(DATA / "rofental_ta_2020-12.nc").load()
    t = rof["temperature"].values
    g = vertical_gradients(t, rof["elevation"].values, min_stations=2)
    dz_km = (rof["elevation"].values[0] - rof["elevation"].values[1]) / 1000.0
    ok = np.isfinite(t).all(axis=0)
    np.testing.assert_allclose(g[ok], (t[0, ok] - t[1, ok]) / dz_km, rtol=1e-5)
    assert np.isnan(g[~ok]).all()
    assert summary(g)["share_inversion"] > 0.05
