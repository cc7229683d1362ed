import numpy as np
import pytest
import xarray as xr

from desktop_app.core.variables import get_variable
from desktop_app.downscale.baseline import (
    STANDARD_LAPSE_RATE,
    bilinear,
    interp_matrix,
    lapse_rate_baseline,
    saturation_vapour_pressure,
    separable_bilinear,
)
from desktop_app.errors import SchemaError
from desktop_app.sources.region import load_region


@pytest.fixture(scope="module")
def region():
    return load_region()


def test_bilinear_reproduces_a_linear_field_exactly():
    src_lat = np.array([34.0, 34.25, 34.5])
    src_lon = np.array([-118.5, -118.25, -118.0, -117.75])
    field = 3.0 * src_lat[:, None] - 2.0 * src_lon[None, :] + 1.0
    dst_lat = np.linspace(34.01, 34.49, 17)
    dst_lon = np.linspace(-118.49, -117.76, 23)
    got = bilinear(field, src_lat, src_lon, dst_lat, dst_lon)
    want = 3.0 * dst_lat[:, None] - 2.0 * dst_lon[None, :] + 1.0
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-9)


def test_bilinear_does_not_extrapolate_trends_outside_the_grid():
    got = bilinear(np.array([[0.0, 1.0], [2.0, 3.0]]), np.array([0.0, 1.0]),
                   np.array([0.0, 1.0]), np.array([-5.0, 6.0]), np.array([-5.0, 6.0]))
    np.testing.assert_array_equal(got, [[0.0, 1.0], [2.0, 3.0]])


def test_bilinear_on_real_coarse_steps_matches_four_neighbour_weights(region):
    """The matrix-product path against the definition: each fine cell from its four
    coarse neighbours, on the sample region's real grids and coarse steps."""
    coarse, terrain = region.coarse, region.terrain
    v = coarse["temperature"].values[:5].astype(float)
    sl, so = coarse["latitude"].values, coarse["longitude"].values
    dl, do = terrain["latitude"].values, terrain["longitude"].values
    got = bilinear(v, sl, so, dl, do)
    i = np.clip(np.searchsorted(sl, dl) - 1, 0, sl.size - 2)
    j = np.clip(np.searchsorted(so, do) - 1, 0, so.size - 2)
    fy = np.clip((dl - sl[i]) / (sl[i + 1] - sl[i]), 0, 1)[:, None]
    fx = np.clip((do - so[j]) / (so[j + 1] - so[j]), 0, 1)[None, :]
    ii, jj = i[:, None], j[None, :]
    want = ((1 - fy) * (1 - fx) * v[:, ii, jj] + (1 - fy) * fx * v[:, ii, jj + 1]
            + fy * (1 - fx) * v[:, ii + 1, jj] + fy * fx * v[:, ii + 1, jj + 1])
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-9)


def test_a_missing_coarse_value_spoils_only_the_cells_next_to_it():
    src = np.arange(6.0)
    field = np.add.outer(src, src)
    field[1, 4] = np.nan
    dst = np.linspace(0.0, 5.0, 26)
    got = bilinear(field, src, src, dst, dst)
    # (within one coarse step, both ends included: a zero weight times NaN is NaN)
    near = (np.abs(dst - 1.0) <= 1.0)[:, None] & (np.abs(dst - 4.0) <= 1.0)[None, :]
    assert np.isnan(got[5, 20])  # the missing cell itself (1.0, 4.0)
    assert not np.isnan(got[~near]).any()
    np.testing.assert_allclose(got[~near], np.add.outer(dst, dst)[~near], atol=1e-9)


def _constant_coarse(region, **values):
    c = region.coarse.isel(time=slice(0, 2))
    out = c.copy()
    for name, value in values.items():
        out[name] = xr.full_like(c[name], value)
    return out


def test_temperature_follows_the_lapse_rate_over_real_terrain(region):
    coarse = _constant_coarse(region, temperature=20.0)
    result = lapse_rate_baseline(coarse, region.terrain)
    z = region.terrain["elevation"].values
    z_coarse = bilinear(coarse["elevation"].values, coarse["latitude"].values,
                        coarse["longitude"].values, region.terrain["latitude"].values,
                        region.terrain["longitude"].values)
    want = 20.0 + STANDARD_LAPSE_RATE * (z - z_coarse) / 1000.0
    np.testing.assert_allclose(result["temperature"].values[0], want, atol=1e-4)
    # the coldest cell is the one standing highest above the coarse orography
    t0 = result["temperature"].values[0]
    dz = z - z_coarse
    assert np.unravel_index(t0.argmin(), t0.shape) == np.unravel_index(dz.argmax(), dz.shape)
    assert float(dz.max() - dz.min()) > 1000.0  # real relief, not a flat test field
    assert result["temperature"].attrs["units"] == get_variable("temperature").units


def test_a_custom_lapse_rate_is_applied(region):
    coarse = _constant_coarse(region, temperature=20.0)
    flat = lapse_rate_baseline(coarse, region.terrain, lapse_rate=0.0)
    np.testing.assert_allclose(flat["temperature"].values, 20.0, atol=1e-5)


def test_pressure_and_humidity_move_consistently_with_height(region):
    coarse = _constant_coarse(region, temperature=15.0, surface_pressure=900.0,
                              relative_humidity=50.0)
    res = lapse_rate_baseline(coarse, region.terrain)
    z = region.terrain["elevation"].values
    hi = np.unravel_index(z.argmax(), z.shape)
    lo = np.unravel_index(z.argmin(), z.shape)
    p, t, rh = (res[v].values[0] for v in ("surface_pressure", "temperature",
                                           "relative_humidity"))
    z_coarse = bilinear(coarse["elevation"].values, coarse["latitude"].values,
                        coarse["longitude"].values, region.terrain["latitude"].values,
                        region.terrain["longitude"].values)
    dz = z - z_coarse
    assert p[hi] < p[lo]
    # hypsometric equation cell by cell, from the coarse surface to the fine one
    t_mean_k = 273.15 + 0.5 * (15.0 + t)
    np.testing.assert_allclose(p, 900.0 * np.exp(-9.80665 * dz / (287.05 * t_mean_k)),
                               rtol=1e-5)
    # constant specific humidity: vapour pressure scales with pressure
    e = rh / 100.0 * saturation_vapour_pressure(t)
    e_coarse = 0.5 * saturation_vapour_pressure(np.float64(15.0))
    np.testing.assert_allclose(e, e_coarse * p / 900.0, rtol=1e-4)
    up = dz > 200
    assert np.all(rh[up] > 50.0) and rh.max() <= 100.0


def test_missing_orography_is_a_schema_error(region):
    with pytest.raises(SchemaError, match="'elevation'"):
        lapse_rate_baseline(region.coarse.drop_vars("elevation"), region.terrain)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_saturation_vapour_pressure_is_the_magnus_formula_to_the_bit(dtype):
    t = np.random.default_rng(3).normal(5.0, 20.0, (4, 30, 40)).astype(dtype)
    t[0, 0, :3] = [np.nan, -80.0, 60.0]
    formula = 6.1094 * np.exp(17.625 * t / (t + 243.04))
    got = saturation_vapour_pressure(t)
    assert got.dtype == formula.dtype
    np.testing.assert_array_equal(got, formula)
    assert saturation_vapour_pressure(15.0) == 6.1094 * np.exp(17.625 * 15.0 / (15.0 + 243.04))


def whole_stack_baseline(coarse, terrain, lapse_rate=STANDARD_LAPSE_RATE):
    """The fixed-lapse-rate baseline written out over the whole stack at once (the
    arithmetic the block-wise version must repeat, value for value)."""
    wy = interp_matrix(coarse["latitude"].values, terrain["latitude"].values
                       ).astype(np.float32)
    wx = interp_matrix(coarse["longitude"].values, terrain["longitude"].values
                       ).astype(np.float32)

    def interp(name):
        values = coarse[name].values
        if np.isfinite(values).all():
            return separable_bilinear(values, wy, wx)
        return bilinear(values, coarse["latitude"].values, coarse["longitude"].values,
                        terrain["latitude"].values, terrain["longitude"].values
                        ).astype(np.float32)

    dz = terrain["elevation"].values.astype(np.float32) - interp("elevation")
    t_interp = interp("temperature")
    t_fine = t_interp + np.float32(lapse_rate / 1000.0) * dz
    # exp(-g dz / (Rd T_mean)) as the reciprocal of the mean temperature times g dz / Rd
    ratio = np.exp(np.reciprocal((t_interp + t_fine) * np.float32(0.5) + np.float32(273.15))
                   * (np.float32(-9.80665 / 287.05) * dz))
    e = interp("relative_humidity") * (saturation_vapour_pressure(t_interp)
                                       / np.float32(100.0)) * ratio
    return {"temperature": t_fine,
            "surface_pressure": interp("surface_pressure") * ratio,
            "relative_humidity": np.clip(e / saturation_vapour_pressure(t_fine)
                                         * np.float32(100.0), 0.0, 100.0),
            "wind_speed": np.maximum(interp("wind_speed"), 0.0)}


@pytest.mark.parametrize("block", [1, 5, 8, 1000])
def test_the_baseline_worked_out_in_blocks_of_steps_is_the_whole_stack_value_for_value(
        region, monkeypatch, block):
    """Blocks of 1, 5 (the sample's 72 steps leave a short last block), the default, and
    more than the stack, on the real sample with a few coarse values removed (those
    variables take the gap-aware interpolation)."""
    import desktop_app.downscale.baseline as baseline

    coarse = region.coarse.copy(deep=True)
    coarse["wind_speed"][3, 1, 1] = np.nan
    coarse["temperature"][70, 0, 2] = np.nan
    monkeypatch.setattr(baseline, "BLOCK_STEPS", block)
    got = lapse_rate_baseline(coarse, region.terrain)
    want = whole_stack_baseline(coarse, region.terrain)
    assert np.isnan(got["temperature"].values[70]).any()
    for name, values in want.items():
        assert got[name].dtype == np.float32
        np.testing.assert_array_equal(got[name].values, values, err_msg=name)
