"""Real ERA5 fields shared by the baseline and selection tests (tests/data/downscale)."""

from pathlib import Path

import pytest
import xarray as xr

DATA = Path(__file__).resolve().parents[1] / "data" / "downscale"


@pytest.fixture(scope="module")
def davos():
    return xr.open_dataset(DATA / "era5_davos_2020-01.nc", engine="netcdf4").load()


@pytest.fixture(scope="module")
def finse():
    return xr.open_dataset(DATA / "era5_finse_2018-12.nc", engine="netcdf4").load()
