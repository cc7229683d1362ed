import numpy as np
import pytest
import xarray as xr

from desktop_app.downscale.baseline import bilinear, separable_bilinear
from desktop_app.downscale.features import (
    FEATURES,
    FeatureBuilder,
    box_mean,
    calendar_features,
    interp_matrix,
    required_variables,
    slope_aspect,
    solar_geometry,
    topographic_position,
)
from desktop_app.errors import SchemaError
from desktop_app.sources.region import load_region

LAT = 45.0 + 0.001 * np.arange(30)
LON = 7.0 + 0.001 * np.arange(40)


def _plane(east_per_m=0.0, north_per_m=0.0):
    dy = 0.001 * 111_320.0
    dx = 0.001 * 111_320.0 * np.cos(np.deg2rad(LAT))
    y = np.arange(LAT.size)[:, None] * dy
    x = np.arange(LON.size)[None, :] * dx[:, None]
    return 1000.0 + east_per_m * x + north_per_m * y


def test_slope_of_a_plane():
    slope, _, _ = slope_aspect(_plane(east_per_m=0.1), LAT, LON)
    np.testing.assert_allclose(slope, np.degrees(np.arctan(0.1)), atol=0.05)


def test_aspect_points_downhill():
    _, s, c = slope_aspect(_plane(east_per_m=-0.2), LAT, LON)  # falls to the east
    np.testing.assert_allclose(s, 1.0, atol=1e-3)
    np.testing.assert_allclose(c, 0.0, atol=1e-3)
    _, s, c = slope_aspect(_plane(north_per_m=0.2), LAT, LON)  # falls to the south
    np.testing.assert_allclose(c, -1.0, atol=1e-3)


def test_flat_ground_has_no_aspect():
    slope, s, c = slope_aspect(np.full((5, 6), 300.0), LAT[:5], LON[:6])
    assert (slope == 0).all() and (s == 0).all() and (c == 0).all()


def test_box_mean_matches_a_naive_window_mean():
    v = np.random.default_rng(0).normal(size=(9, 11))
    got = box_mean(v, 2, 3)
    for i in range(9):
        for j in range(11):
            want = v[max(0, i - 2):i + 3, max(0, j - 3):j + 4].mean()
            assert got[i, j] == pytest.approx(want)


def test_topographic_position_marks_valleys_and_ridges():
    z = np.zeros((30, 40))
    z[15, 20] = -50.0  # a pit
    z[5, 5] = 80.0  # a peak
    tpi = topographic_position(z, LAT, LON, radius_m=300.0)
    assert tpi[15, 20] < 0 < tpi[5, 5]
    np.testing.assert_allclose(topographic_position(_plane(0.1), LAT, LON, 300.0)[10:20, 10:30],
                               0.0, atol=1e-6)


def test_solar_noon_at_the_equator_on_the_equinox():
    times = np.array(["2024-03-20T12:00", "2024-03-20T00:00"], "datetime64[ns]")
    ha, el = solar_geometry(times, np.array([0.0]), np.array([0.0]))
    assert el.shape == (2, 1, 1)
    assert el[0, 0, 0] > 85.0 and abs(ha[0, 0, 0]) < 3.0
    assert el[1, 0, 0] < -85.0


def test_hour_angle_moves_with_longitude():
    times = np.array(["2024-06-21T12:00"], "datetime64[ns]")
    ha, el = solar_geometry(times, np.array([50.0]), np.array([0.0, 15.0]))
    assert ha[0, 0, 1] - ha[0, 0, 0] == pytest.approx(15.0)
    assert 60.0 < el[0, 0, 0] < 65.0  # 90 - 50 + 23.4


def test_calendar_features_are_on_the_unit_circle():
    cal = calendar_features(np.array(["2024-01-01T06:00", "2024-07-01T18:00"],
                                     "datetime64[ns]"))
    np.testing.assert_allclose(cal["hour_sin"], [1.0, -1.0], atol=1e-12)
    np.testing.assert_allclose(cal["day_of_year_sin"] ** 2 + cal["day_of_year_cos"] ** 2, 1.0)


def test_unknown_feature_is_named():
    with pytest.raises(SchemaError, match="unknown feature 'cloudiness'"):
        required_variables(["elevation", "cloudiness"])
    assert required_variables(["temperature_interp", "slope"]) == ["temperature"]


def test_separable_interpolation_matches_the_baseline_bilinear():
    src_lat, src_lon = np.array([34.0, 34.25, 34.5]), np.array([-118.5, -118.25, -118.0])
    values = np.random.default_rng(3).normal(size=(4, 3, 3)) * 10
    dst_lat, dst_lon = np.linspace(33.9, 34.6, 23), np.linspace(-118.6, -117.9, 31)
    want = bilinear(values, src_lat, src_lon, dst_lat, dst_lon)
    got = separable_bilinear(values, interp_matrix(src_lat, dst_lat),
                             interp_matrix(src_lon, dst_lon))
    np.testing.assert_allclose(got, want, atol=1e-4)


def test_every_feature_has_units():
    assert all(f.units for f in FEATURES.values())


@pytest.fixture(scope="module")
def builder():
    region = load_region()
    return FeatureBuilder(region.coarse, region.terrain, list(FEATURES))


def test_a_tile_is_the_slice_of_the_whole(builder):
    whole = builder.build(3, 6)
    tile = builder.build(3, 6, slice(10, 40), slice(100, 150))
    np.testing.assert_allclose(tile, whole[:, :, 10:40, 100:150], rtol=0, atol=1e-4)
    assert whole.dtype == np.float32 and np.isfinite(whole).all()


def test_normalised_build_equals_normalising_the_physical_features():
    region = load_region()
    names = list(FEATURES)
    mean = np.linspace(-3.0, 5.0, len(names))
    std = np.linspace(0.5, 40.0, len(names))
    raw = FeatureBuilder(region.coarse, region.terrain, names).build(2, 5, slice(0, 20))
    norm = FeatureBuilder(region.coarse, region.terrain, names,
                          normalisation=(mean, std)).build(2, 5, slice(0, 20))
    want = (raw - mean[None, :, None, None]) / std[None, :, None, None]
    np.testing.assert_allclose(norm, want, rtol=1e-5, atol=1e-4)


def test_elevation_difference_is_fine_minus_coarse(builder):
    k = list(FEATURES).index("elevation_difference")
    x = builder.build(0, 1)
    np.testing.assert_allclose(x[0, k], builder.static("elevation")
                               - builder.static("coarse_elevation"), atol=1e-3)


def test_missing_coarse_variable_is_named():
    region = load_region()
    coarse = region.coarse.drop_vars("wind_speed")
    with pytest.raises(SchemaError, match="no 'wind_speed'"):
        FeatureBuilder(coarse, region.terrain, ["wind_speed_interp"])
    with pytest.raises(SchemaError, match="'elevation'"):
        FeatureBuilder(region.coarse, xr.Dataset(coords=region.terrain.coords), ["slope"])
