"""Several ERA5 files into one background, orography always present, pressure levels
kept: on real ERA5 cut from the Finse (Oct-Dec 2018) and Davos (Jan 2020) files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from desktop_app.errors import DataFileError
from desktop_app.sources.altitude import cell_mean_altitude
from desktop_app.sources.era5_files import open_era5
from desktop_app.sources.output import write_netcdf
from tests.cf_check import assert_cf_compliant, assert_georeferenced
from tests.sources.helpers import DATA

ERA5 = DATA / "era5"
FINSE = sorted((ERA5 / "finse").glob("SURF_2018*_1d.nc"))
DAVOS_SURF = ERA5 / "davos" / "SURF_202001_2d.nc"
DAVOS_PLEV = ERA5 / "davos" / "PLEV_202001_2d.nc"
LEGACY = sorted((ERA5 / "legacy").glob("ERA5_2022-08-31_*.nc"))
G = 9.80665


def test_finse_months_in_three_files_become_one_series() -> None:
    ds = open_era5(FINSE)
    assert ds.sizes == {"time": 72, "latitude": 7, "longitude": 10}
    time = ds["time"].values
    assert time[0] == np.datetime64("2018-10-31T00:00", "ns")
    assert time[24] == np.datetime64("2018-11-01T00:00", "ns")
    assert time[-1] == np.datetime64("2018-12-01T23:00", "ns")
    for path, block in zip(FINSE, (slice(0, 24), slice(24, 48), slice(48, 72)), strict=True):
        with xr.open_dataset(path) as raw:
            kelvin = raw["t2m"].values[:, ::-1, :]  # file latitude runs north to south
            z = raw["z"].values[0, ::-1, :]
        np.testing.assert_allclose(ds["temperature"].values[block], kelvin - 273.15,
                                   atol=1e-4)
        np.testing.assert_allclose(ds["elevation"].values, z / G, atol=1e-3)
    assert ds["elevation"].dims == ("latitude", "longitude")
    assert ds["elevation"].attrs["units"] == "m"
    assert ds.attrs["elevation_source"].startswith("ERA5 surface geopotential")
    assert "orography_fallback" not in ds.attrs
    # Finse: ERA5's smoothed Hardangervidda plateau, roughly 700-1,300 m
    assert 500 < ds["elevation"].values.min() < 1000 < ds["elevation"].values.max() < 1600


def test_davos_surface_and_pressure_levels() -> None:
    ds = open_era5([DAVOS_SURF, DAVOS_PLEV])
    assert ds["temperature_pl"].dims == ("time", "pressure_level", "latitude", "longitude")
    levels = ds["pressure_level"].values
    np.testing.assert_array_equal(levels, [1000, 700, 600, 500, 400, 300])
    assert ds["pressure_level"].attrs["units"] == "hPa"
    with xr.open_dataset(DAVOS_PLEV) as raw:
        t700 = raw["t"].sel(level=700).values[:, ::-1, :] - 273.15
        z500 = raw["z"].sel(level=500).values[:, ::-1, :] / G
    np.testing.assert_allclose(ds["temperature_pl"].sel(pressure_level=700).values, t700,
                               atol=1e-4)
    np.testing.assert_allclose(ds["geopotential_height_pl"].sel(pressure_level=500).values,
                               z500, atol=1e-2)
    assert ds["temperature_pl"].attrs["units"] == "degC"
    assert ds["geopotential_height_pl"].attrs["units"] == "m"
    for name in ("eastward_wind_pl", "relative_humidity_pl", "specific_humidity_pl"):
        assert name in ds
    # height grows from the ground up along the level axis, and it is cold aloft in January
    assert (np.diff(ds["geopotential_height_pl"].values, axis=1) > 0).all()
    assert float(ds["temperature_pl"].sel(pressure_level=300).max()) < -30.0
    # surface orography from SURF's z: Davos cells are Alpine (1,000-2,300 m)
    assert 1000 < float(ds["elevation"].min()) < float(ds["elevation"].max()) < 2400
    assert ds.sizes["time"] == 48 and "temperature" in ds


def test_davos_background_writes_and_reopens(tmp_path: Path) -> None:
    ds = open_era5([DAVOS_SURF, DAVOS_PLEV], variables=["temperature"])
    assert {"temperature", "elevation", "temperature_pl", "geopotential_height_pl"} <= set(
        ds.data_vars)  # the profile and orography travel with any selection
    back = xr.open_dataset(write_netcdf(ds, tmp_path / "bg.nc"))
    np.testing.assert_allclose(back["temperature_pl"].values, ds["temperature_pl"].values)
    np.testing.assert_array_equal(back["pressure_level"].values, ds["pressure_level"].values)
    back.close()
    assert_cf_compliant(tmp_path / "bg.nc", tmp_path)  # pressure levels too
    assert_georeferenced(tmp_path / "bg.nc", "temperature")


def _one_variable_files(tmp_path: Path) -> tuple[Path, Path]:
    # No fixture holds 10 m wind, so the legacy CDS "one variable per file" delivery is
    # rebuilt here from real Davos ERA5 wind: the 1000 hPa u and v of PLEV, relabelled
    # u10/v10 (what is tested is the file layout, not the wind's height).
    with xr.open_dataset(DAVOS_PLEV) as raw:
        level = raw.sel(level=1000).drop_vars("level").load()
    paths = []
    for short in ("u", "v"):
        one = level[[short]].rename({short: f"{short}10"})
        one[f"{short}10"].attrs["long_name"] = f"10 metre {short.upper()} wind component"
        path = tmp_path / f"ERA5_{short}10.nc"
        one.to_netcdf(path)
        paths.append(path)
    return paths[0], paths[1]


def test_u10_only_file_is_accepted_and_meets_v10(tmp_path: Path) -> None:
    u_file, v_file = _one_variable_files(tmp_path)
    alone = open_era5(u_file)
    assert "eastward_wind_10m" in alone and "wind_speed" not in alone
    assert "elevation" in alone  # fallback orography, announced
    both = open_era5([u_file, v_file, DAVOS_SURF])
    u, v = both["eastward_wind_10m"].values, both["northward_wind_10m"].values
    np.testing.assert_allclose(both["wind_speed"].values, np.hypot(u, v), rtol=1e-6)
    # meteorological convention, the direction the wind blows FROM: u > 0 and v > 0 is a
    # south-westerly (180-270), u > 0 and v < 0 a north-westerly (270-360), and so on
    direction = both["wind_direction"].values
    quadrant = {(True, True): (180, 270), (True, False): (270, 360),
                (False, True): (90, 180), (False, False): (0, 90)}
    for (east, north), (low, high) in quadrant.items():
        cells = ((u > 0) == east) & ((v > 0) == north)
        assert ((direction[cells] >= low) & (direction[cells] <= high)).all()
    assert both.attrs["elevation_source"].endswith("(SURF_202001_2d.nc)")


def test_unrelated_grids_are_an_error_naming_both_files() -> None:
    with pytest.raises(DataFileError, match="different grids") as info:
        open_era5([FINSE[0], DAVOS_SURF])
    assert FINSE[0].name in str(info.value) and DAVOS_SURF.name in str(info.value)


def test_invariant_file_gives_the_orography(tmp_path: Path) -> None:
    # The CDS invariant file holds surface geopotential on one time step, often for a
    # larger area than the data. Made here from Davos SURF's own (real) z, widened by one
    # column of no data (layout only) so that it must be cut to the data's grid.
    with xr.open_dataset(DAVOS_SURF) as raw:
        z = raw[["z"]].isel(time=[0]).load()
        expected = raw["z"].values[0, ::-1, :] / G
    lon = z["longitude"].values
    invariant = tmp_path / "era5_invariant.nc"
    z.reindex(longitude=np.r_[lon, lon[-1] + 0.25]).to_netcdf(invariant)
    ds = open_era5(DAVOS_PLEV, invariant=invariant)  # pressure levels: no surface z
    assert ds.attrs["elevation_source"] == f"ERA5 surface geopotential z / g ({invariant.name})"
    np.testing.assert_allclose(ds["elevation"].values, expected, atol=1e-3)
    with pytest.raises(DataFileError, match="does not cover the grid") as info:
        open_era5(LEGACY[1], invariant=invariant)  # the Rhine basin: another area
    assert invariant.name in str(info.value) and LEGACY[1].name in str(info.value)


def test_without_z_the_altitude_grid_fallback_is_announced() -> None:
    ds = open_era5(LEGACY)  # Rhine basin, sp and tp only
    assert ds.attrs["elevation_source"].startswith("fallback:")
    assert "invariant file" in ds.attrs["orography_fallback"]
    assert "fallback" in ds["elevation"].attrs["comment"]
    elev = ds["elevation"]
    assert np.isfinite(elev.values).all()
    # the Dutch polders lie below sea level, the Valais Alps (46N 8E) well above 1,500 m
    assert -20 < float(elev.sel(latitude=52.5, longitude=5.0)) < 20
    assert float(elev.sel(latitude=46.0, longitude=8.0)) > 1500


def test_fallback_grid_is_close_to_era5_orography() -> None:
    # How good the fallback is where both exist: Finse and Davos, real ERA5 z against the
    # 5 arc-minute grid averaged per 0.25 degree cell.
    for files in (FINSE[:1], [DAVOS_SURF]):
        ds = open_era5(files)
        alt = cell_mean_altitude(ds["latitude"].values, ds["longitude"].values)
        assert float(np.abs(alt - ds["elevation"].values).mean()) < 250.0
