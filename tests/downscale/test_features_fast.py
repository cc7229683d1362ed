"""The in-place feature kernels (interp_into, solar_elevation_into) against the plain
formulas they replace, on the REAL ERA5 UK fields of tests/data/inference."""

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from desktop_app.downscale.baseline import separable_bilinear
from desktop_app.downscale.features import (
    FeatureBuilder,
    calendar_features,
    interp_into,
    interp_matrix,
    solar_elevation_into,
    solar_geometry,
    two_tap_rows,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "inference"


@pytest.fixture(scope="module")
def era5() -> tuple[xr.Dataset, xr.Dataset]:
    coarse = xr.open_dataset(DATA / "era5_uk_coarse.nc", engine="netcdf4").load()
    fine = xr.open_dataset(DATA / "era5_uk_fine.nc", engine="netcdf4").load()
    return coarse, fine


def _fine_axes(fine: xr.Dataset, n: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """The fixture's fine grid, or one ``n`` times finer over the same extent (the
    fine grid reaches past the coarse one: edge clamping is exercised)."""
    lat, lon = fine["latitude"].values, fine["longitude"].values
    return (np.linspace(lat[0], lat[-1], n * lat.size),
            np.linspace(lon[0], lon[-1], n * lon.size))


@pytest.mark.parametrize("finer", [1, 9])
def test_interp_into_is_the_separable_product(era5, finer) -> None:
    coarse, fine = era5
    lat, lon = _fine_axes(fine, finer)
    values = coarse["temperature"].values[:6].astype(np.float32)
    wy = interp_matrix(coarse["latitude"].values, lat).astype(np.float32)
    wx = interp_matrix(coarse["longitude"].values, lon).astype(np.float32)
    want = separable_bilinear(values, wy, wx)
    got = np.full(want.shape, np.nan, np.float32)
    interp_into(got, values, wy, wx)
    # the same two-term sums in another order: float32 rounding apart (|T| < 20 degC)
    np.testing.assert_allclose(got, want, rtol=0, atol=4e-6)
    # a tile (rows and columns cut anywhere) is the slice of the whole
    rows, cols = slice(lat.size // 5, lat.size - 3), slice(3, lon.size // 2 + 1)
    tile = np.empty((6, rows.stop - rows.start, cols.stop - cols.start), np.float32)
    interp_into(tile, values, wy[rows], wx[cols])
    np.testing.assert_array_equal(tile, got[:, rows, cols])


def test_interp_into_single_coarse_row_and_any_matrix(era5) -> None:
    coarse, fine = era5
    values = coarse["temperature"].values[:3, :1].astype(np.float32)  # one coarse row
    wy = interp_matrix(coarse["latitude"].values[:1], fine["latitude"].values)
    wx = interp_matrix(coarse["longitude"].values, fine["longitude"].values)
    got = np.empty((3, fine.sizes["latitude"], fine.sizes["longitude"]), np.float32)
    interp_into(got, values, wy, wx)
    np.testing.assert_allclose(got, separable_bilinear(values, wy, wx), rtol=0, atol=4e-6)
    # a smoothing matrix (three weights a row) is no interpolation: the plain product
    smooth = np.zeros((fine.sizes["latitude"], coarse.sizes["latitude"]))
    for i in range(smooth.shape[0]):
        j = min(i // 4, smooth.shape[1] - 3)
        smooth[i, j:j + 3] = 1 / 3
    assert two_tap_rows(smooth) is None
    assert two_tap_rows(wy) is not None
    full = coarse["temperature"].values[:3].astype(np.float32)
    interp_into(got, full, smooth, wx)
    np.testing.assert_allclose(got, separable_bilinear(full, smooth, wx), rtol=0, atol=4e-6)


def test_solar_elevation_into_is_solar_geometry(era5) -> None:
    coarse, fine = era5
    times = coarse["time"].values[::7]  # 35 steps over the ten days, all hours
    lat, lon = _fine_axes(fine, 3)
    _, el = solar_geometry(times, lat, lon)
    mean, std = np.float32(-4.3), np.float32(25.2)
    got64 = np.empty(el.shape)
    solar_elevation_into(got64, times, lat, lon, float(mean), float(std))
    np.testing.assert_allclose(got64, (el - mean) / std, rtol=0, atol=1e-12)
    got32 = np.empty(el.shape, np.float32)
    solar_elevation_into(got32, times, lat, lon, float(mean), float(std))
    # float64 until the cast: at most the last bit of the float32 result differs
    want32 = ((el - mean) / std).astype(np.float32)
    assert np.abs(got32 - want32).max() <= np.spacing(np.abs(want32)).max()


def test_builder_features_equal_the_plain_formulas_on_real_era5(era5) -> None:
    coarse, fine = era5
    names = ["temperature_interp", "elevation", "solar_elevation", "hour_angle",
             "hour_cos"]
    mean = np.array([7.2, 70.9, -4.3, 1.5, 0.0])
    std = np.array([2.1, 102.5, 25.2, 103.0, 0.7])
    builder = FeatureBuilder(coarse, fine[["elevation"]], names, normalisation=(mean, std))
    rows, cols = slice(3, 29), slice(5, 44)
    got = builder.build(40, 52, rows, cols)
    m, s = mean.astype(np.float32), std.astype(np.float32)
    lat, lon = fine["latitude"].values[rows], fine["longitude"].values[cols]
    times = coarse["time"].values[40:52]
    wy = interp_matrix(coarse["latitude"].values, lat).astype(np.float32)
    wx = interp_matrix(coarse["longitude"].values, lon).astype(np.float32)
    t = (coarse["temperature"].values[40:52].astype(np.float32) - m[0]) / s[0]
    ha, el = solar_geometry(times, lat, lon)
    want = [separable_bilinear(t, wy, wx),
            np.broadcast_to((fine["elevation"].values[rows, cols] - m[1]) / s[1], el.shape),
            (el - m[2]) / s[2], (ha - m[3]) / s[3],
            np.broadcast_to(((calendar_features(times)["hour_cos"] - m[4]) / s[4])
                            [:, None, None], el.shape)]
    for k, name in enumerate(names):
        w = np.asarray(want[k], np.float32)
        np.testing.assert_allclose(got[:, k], w, rtol=0,
                                   atol=2 * float(np.spacing(np.abs(w)).max()),
                                   err_msg=name)
