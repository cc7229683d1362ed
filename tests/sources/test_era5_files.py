"""ERA5 readers on the real legacy NetCDF, new-CDS zip and GRIB files."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from desktop_app.errors import DataFileError, UnknownVariableError
from desktop_app.sources.era5_files import normalise, open_era5
from desktop_app.sources.output import write_netcdf
from desktop_app.sources.stations import read_uscrn
from tests.sources.helpers import DATA

ERA5 = DATA / "era5"
LEGACY = sorted((ERA5 / "legacy").glob("ERA5_2022-08-31_*.nc"))
NEW_ZIP = ERA5 / "new_layout" / "era5_2022-08-31_rhine.zip"
GRIB = ERA5 / "era5-2mt-2019-03-uk.grib"


def test_legacy_netcdf_unpacked_flipped_converted() -> None:
    ds = open_era5(LEGACY)
    assert ds["surface_pressure"].dims == ("time", "latitude", "longitude")
    assert (np.diff(ds["latitude"].values) > 0).all()  # file has it descending
    assert ds["surface_pressure"].attrs["units"] == "hPa"
    assert ds["precipitation"].attrs["units"] == "mm"
    assert "time: sum" in ds["precipitation"].attrs["cell_methods"]
    assert ds.attrs["dropped_variables"] == "e"
    with xr.open_dataset(ERA5 / "legacy" / "ERA5_2022-08-31_sp.nc") as raw:
        pa = raw["sp"].sel(latitude=55.0, longitude=0.0).values  # north-west corner, Pa
        tp_raw = xr.open_dataset(ERA5 / "legacy" / "ERA5_2022-08-31_tp.nc")["tp"]
    np.testing.assert_allclose(ds["surface_pressure"].values[:, -1, 0], pa / 100.0, rtol=1e-6)
    np.testing.assert_allclose(ds["precipitation"].values[:, ::-1, :],
                               np.clip(tp_raw.values * 1000.0, 0, None), atol=1e-4)
    assert ds["time"].dtype == np.dtype("datetime64[ns]") and ds.sizes["time"] == 24


def test_new_layout_zip_matches_legacy() -> None:
    legacy, new = open_era5(LEGACY), open_era5(NEW_ZIP)
    assert set(new.data_vars) == {"surface_pressure", "precipitation", "elevation"}
    for name in new.data_vars:
        np.testing.assert_allclose(new[name].values, legacy[name].values, atol=1e-3)
    np.testing.assert_array_equal(new["time"].values, legacy["time"].values)


def test_grib_month() -> None:
    ds = open_era5(GRIB, variables=["temperature"])
    assert ds.sizes == {"time": 744, "latitude": 33, "longitude": 49}
    assert ds["temperature"].attrs["units"] == "degC"
    assert ds["time"].values[0] == np.datetime64("2019-03-01T00:00", "ns")
    t = ds["temperature"].values
    assert -30 < np.nanmin(t) < np.nanmax(t) < 30  # March in the UK, degC not K


def test_longitudes_0_360_become_minus180_180() -> None:
    # The same real GRIB values with longitudes re-labelled 0..360, as a CDS request in
    # that convention delivers them; normalise must give back the -180..180 grid.
    with xr.open_dataset(GRIB, engine="cfgrib", backend_kwargs={"indexpath": ""}) as raw:
        raw = raw.isel(time=slice(0, 3)).load()
    shifted = raw.assign_coords(longitude=raw["longitude"].values % 360.0)
    direct = normalise(raw)
    wrapped = normalise(shifted.sortby("longitude"))
    assert wrapped["longitude"].values.min() == -10.0
    np.testing.assert_array_equal(wrapped["longitude"].values, direct["longitude"].values)
    np.testing.assert_array_equal(wrapped["temperature"].values, direct["temperature"].values)


def test_legacy_expver_dimension_is_merged() -> None:
    # Legacy files mixing ERA5 (expver 1) and ERA5T (expver 5) carry an expver dimension
    # with NaN where a version has no data; built here from the real sp values.
    with xr.open_dataset(LEGACY[1]) as raw:
        sp = raw.load()
    final = sp.where(sp["time"] < sp["time"][12])
    preliminary = sp.where(sp["time"] >= sp["time"][12])
    mixed = xr.concat([final, preliminary], dim=xr.DataArray([1, 5], dims="expver",
                                                              name="expver"))
    mixed["sp"].attrs = sp["sp"].attrs
    out = normalise(mixed)
    np.testing.assert_allclose(out["surface_pressure"].values, normalise(sp)[
        "surface_pressure"].values)


@pytest.mark.parametrize(("source", "cut"), [(LEGACY[1], 50_000), (GRIB, 1_000_000),
                                             (NEW_ZIP, 100_000)])
def test_truncated_files_fail_clearly(tmp_path: Path, source: Path, cut: int) -> None:
    bad = tmp_path / source.name
    bad.write_bytes(source.read_bytes()[:cut])
    with pytest.raises(DataFileError, match="corrupt or truncated") as info:
        open_era5(bad)
    assert str(bad) in str(info.value)


def test_wrong_layouts(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match="not a NetCDF, GRIB or zip"):
        open_era5(DATA / "stations" / "723170TYA.CSV")
    station_nc = write_netcdf(read_uscrn(DATA / "stations" / "CRN_with_problems.txt"),
                              tmp_path / "stations.nc")
    with pytest.raises(DataFileError, match="not an ERA5 grid"):
        open_era5(station_nc)
    with pytest.raises(DataFileError, match="no known ERA5 variable .*found e"):
        open_era5(ERA5 / "legacy" / "ERA5_2022-08-31_e.nc")
    with pytest.raises(DataFileError, match="not found"):
        open_era5(tmp_path / "missing.nc")
    misnamed = tmp_path / "data.grib"
    shutil.copy(LEGACY[1], misnamed)  # content wins over the suffix
    assert "surface_pressure" in open_era5(misnamed)


def test_unknown_or_absent_variable() -> None:
    with pytest.raises(UnknownVariableError, match="'temperature' is not in the ERA5 data"):
        open_era5(NEW_ZIP, variables=["temperature"])
    with pytest.raises(UnknownVariableError, match="unknown variable 'snow'"):
        open_era5(NEW_ZIP, variables=["snow"])
