"""The static-feature cache between runs: a hit gives what a fresh build gives; any
change to the terrain, the region's grids or the model's features is a miss."""

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from desktop_app.downscale import feature_cache
from desktop_app.downscale.features import FeatureBuilder

DATA = Path(__file__).resolve().parents[1] / "data" / "inference"
NAMES = ["temperature_interp", "elevation", "coarse_elevation", "elevation_difference",
         "slope", "topographic_position", "solar_elevation"]


@pytest.fixture(scope="module")
def era5() -> tuple[xr.Dataset, xr.Dataset]:
    coarse = xr.open_dataset(DATA / "era5_uk_coarse.nc", engine="netcdf4").load()
    fine = xr.open_dataset(DATA / "era5_uk_fine.nc", engine="netcdf4").load()
    return coarse.isel(time=slice(0, 4)), fine[["elevation"]]


@pytest.fixture(autouse=True)
def empty_cache():
    feature_cache.clear()
    yield
    feature_cache.clear()


def _fresh(coarse: xr.Dataset, terrain: xr.Dataset, names=NAMES, **kw) -> np.ndarray:
    feature_cache.clear()
    return FeatureBuilder(coarse, terrain, names, **kw).build(0, 4)


def test_a_second_run_reuses_the_statics_and_gets_the_same_features(era5) -> None:
    coarse, terrain = era5
    first = FeatureBuilder(coarse, terrain, NAMES)
    second = FeatureBuilder(coarse.copy(deep=True), terrain.copy(deep=True), NAMES)
    assert second.static("slope") is first.static("slope")  # equal content: a hit
    np.testing.assert_array_equal(second.build(0, 4), _fresh(coarse, terrain))
    with pytest.raises(ValueError, match="read-only"):
        second.static("elevation")[0, 0] = 0.0  # the next run must see what this one did


def test_changed_terrain_grid_or_features_are_misses(era5) -> None:
    coarse, terrain = era5
    base = FeatureBuilder(coarse, terrain, NAMES)
    k = NAMES.index("elevation")
    raised = terrain.copy(deep=True)
    raised["elevation"][10, 20] += 150.0  # one cell of the terrain
    got = FeatureBuilder(coarse, raised, NAMES)
    assert got.static("elevation")[10, 20] == pytest.approx(base.static("elevation")[10, 20]
                                                           + 150.0)
    np.testing.assert_array_equal(got.build(0, 4), _fresh(coarse, raised))
    assert not np.array_equal(got.build(0, 4)[:, k], base.build(0, 4)[:, k])
    moved = terrain.assign_coords(longitude=terrain["longitude"] + 0.1)  # the region moved
    np.testing.assert_array_equal(FeatureBuilder(coarse, moved, NAMES).build(0, 4),
                                  _fresh(coarse, moved))
    lowered = coarse.copy(deep=True)
    lowered["elevation"][2, 3] -= 80.0  # the coarse orography
    np.testing.assert_array_equal(FeatureBuilder(lowered, terrain, NAMES).build(0, 4),
                                  _fresh(lowered, terrain))
    norm = (np.arange(len(NAMES), dtype=float), np.full(len(NAMES), 3.0))
    np.testing.assert_array_equal(
        FeatureBuilder(coarse, terrain, NAMES, normalisation=norm).build(0, 4),
        _fresh(coarse, terrain, normalisation=norm))
    np.testing.assert_array_equal(
        FeatureBuilder(coarse, terrain, NAMES, tpi_radius_m=30_000.0).build(0, 4),
        _fresh(coarse, terrain, tpi_radius_m=30_000.0))


def test_a_grid_over_the_limit_is_not_kept(era5, monkeypatch) -> None:
    coarse, terrain = era5
    monkeypatch.setattr(feature_cache, "MAX_BYTES", 1000)
    first = FeatureBuilder(coarse, terrain, NAMES)
    assert FeatureBuilder(coarse, terrain, NAMES).static("slope") is not first.static("slope")
