"""From ERA5 files to a forecast with no hand edit: ``fetch era5`` of the real Davos
surface + pressure-level files, then ``forecast --input --dem`` on a terrain NetCDF whose
``elevation`` says only ``units = "m"`` (no standard_name), as other tools write it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from desktop_app.cli import main
from desktop_app.sources.altitude import CELLS_PER_DEGREE, _grid
from tests.sources.helpers import DATA

DAVOS = DATA / "era5" / "davos"


@pytest.fixture(autouse=True)
def private_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MICROCLIMATE_HOME", str(tmp_path / "home"))


def _plain_dem(path: Path) -> Path:
    """A real (coarse) DEM of the Davos box: the bundled 5 arc-minute altitude grid cut
    to 46.5-47.15N 9.35-10.25E, latitude north to south, written without CF names."""
    grid = _grid()
    lat = 90.0 - (np.arange(grid.shape[0]) + 0.5) / CELLS_PER_DEGREE
    lon = -180.0 + (np.arange(grid.shape[1]) + 0.5) / CELLS_PER_DEGREE
    rows = (lat > 46.5) & (lat < 47.15)
    cols = (lon > 9.35) & (lon < 10.25)
    xr.Dataset({"elevation": (("latitude", "longitude"), grid[rows][:, cols], {"units": "m"})},
               coords={"latitude": lat[rows], "longitude": lon[cols]}).to_netcdf(path)
    return path


def test_fetch_era5_then_forecast(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    background = tmp_path / "davos.nc"
    assert main(["fetch", "era5", "--from-file", str(DAVOS / "SURF_202001_2d.nc"),
                 str(DAVOS / "PLEV_202001_2d.nc"), "--out", str(background)]) == 0
    assert "note:" not in capsys.readouterr().err  # ERA5's own orography: nothing to say
    dem = _plain_dem(tmp_path / "dem.nc")
    out = tmp_path / "forecast.nc"
    assert main(["forecast", "--input", str(background), "--dem", str(dem), "--provider",
                 "cpu", "--threads", "1", "--quiet", "--out", str(out)]) == 0
    with xr.open_dataset(out) as fc, xr.open_dataset(dem) as terrain:
        assert fc.sizes["time"] == 48
        assert fc.sizes["latitude"] == terrain.sizes["latitude"]
        t = fc["temperature"].values
        assert np.isfinite(t).all()
        # January in the Alps: below freezing on the high cells, colder where higher
        assert float(t.mean()) < 0.0
        elev = fc["elevation"].values
        high, low = elev > np.percentile(elev, 75), elev < np.percentile(elev, 25)
        assert t[:, high].mean() < t[:, low].mean()


def test_dem_in_other_units_is_refused(tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    dem = _plain_dem(tmp_path / "dem.nc")
    with xr.open_dataset(dem) as ds:
        feet = ds.load()
    feet["elevation"].attrs["units"] = "ft"
    feet.to_netcdf(tmp_path / "feet.nc")
    code = main(["forecast", "--input", str(DATA / "era5" / "davos" / "SURF_202001_2d.nc"),
                 "--dem", str(tmp_path / "feet.nc"), "--quiet", "--out",
                 str(tmp_path / "f.nc")])
    err = capsys.readouterr().err
    assert code != 0 and "must be in metres, has units='ft'" in err
    assert not (tmp_path / "f.nc").exists()


def test_fetch_era5_invariant_and_unrelated_grids(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    # the CDS invariant file: surface geopotential on one step (Davos SURF's real z)
    with xr.open_dataset(DAVOS / "SURF_202001_2d.nc") as raw:
        raw[["z"]].isel(time=[0]).load().to_netcdf(tmp_path / "invariant.nc")
    out = tmp_path / "plev.nc"
    assert main(["fetch", "era5", "--from-file", str(DAVOS / "PLEV_202001_2d.nc"),
                 "--invariant", str(tmp_path / "invariant.nc"), "--out", str(out)]) == 0
    assert "note:" not in capsys.readouterr().err
    with xr.open_dataset(out) as ds:
        assert ds.attrs["elevation_source"].endswith("(invariant.nc)")
        assert "temperature_pl" in ds and "elevation" in ds
    finse = DATA / "era5" / "finse" / "SURF_201810_1d.nc"
    bad = tmp_path / "bad.nc"
    code = main(["fetch", "era5", "--from-file", str(finse), str(DAVOS / "SURF_202001_2d.nc"),
                 "--out", str(bad)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and not bad.exists()
    assert "different grids" in err[-1] and finse.name in err[-1]
