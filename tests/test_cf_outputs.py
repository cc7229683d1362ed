"""Every kind of NetCDF the command line writes is valid CF-1.8 (IOOS compliance checker,
offline) and every gridded one opens georeferenced in GDAL; the app reads its own files
back into the canonical schema (uint8 flags, no grid-mapping variable). The window's
field export, the batch results and the watch's training set are checked with the
same helpers in their own tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from desktop_app.cli import main
from desktop_app.core.flags import FLAG_VALUES
from desktop_app.fsutil import load_netcdf
from desktop_app.qc.config import load_config
from desktop_app.qc.runner import run_qc
from desktop_app.sources.output import write_netcdf
from tests.cf_check import assert_cf_compliant, assert_georeferenced

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
SAMPLE = ROOT / "resources" / "sample_region"


@pytest.fixture(autouse=True)
def private_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MICROCLIMATE_HOME", str(tmp_path / "home"))


def test_fetched_era5_grid_is_cf_and_georeferenced(tmp_path: Path) -> None:
    out = tmp_path / "rhine.nc"
    legacy = sorted((DATA / "sources" / "era5" / "legacy").glob("*.nc"))
    assert main(["fetch", "era5", *[a for p in legacy for a in ("--from-file", str(p))],
                 "--out", str(out)]) == 0
    assert_cf_compliant(out, tmp_path)
    assert_georeferenced(out, "surface_pressure")
    with xr.open_dataset(out) as raw:
        assert raw["time"].encoding["dtype"] == np.float64
        assert "_FillValue" not in raw["latitude"].encoding or \
            raw["latitude"].encoding["_FillValue"] is None
        assert raw["surface_pressure"].attrs["grid_mapping"] == "crs"
        assert raw["crs"].attrs["grid_mapping_name"] == "latitude_longitude"
    back = load_netcdf(out)
    assert "crs" not in back.variables and "grid_mapping" not in back["surface_pressure"].attrs


def test_fetched_station_file_is_cf(tmp_path: Path) -> None:
    out = tmp_path / "crn.nc"
    assert main(["fetch", "stations", str(DATA / "sources" / "stations" / "CRN_with_problems.txt"),
                 "--format", "uscrn", "--out", str(out)]) == 0
    assert_cf_compliant(out, tmp_path)


def test_qc_output_is_cf_with_ioos_flags_and_reads_back_as_uint8(tmp_path: Path) -> None:
    src = SAMPLE / "stations.nc"
    out = tmp_path / "qc.nc"
    assert main(["qc", str(src), "--out", str(out)]) == 0
    assert_cf_compliant(out, tmp_path)
    with xr.open_dataset(out) as raw:
        agg = raw["temperature_qc"]
        assert agg.dtype == np.int8 and agg.attrs["flag_values"].dtype == np.int8
        assert agg.attrs["standard_name"] == "aggregate_quality_flag"
        assert list(agg.attrs["flag_values"]) == [1, 2, 3, 4, 9]
        assert raw["temperature_qc_spike"].attrs["standard_name"] == "spike_test_quality_flag"
        assert raw["temperature_qc_buddy_check"].attrs["standard_name"] == "quality_flag"
    flagged, _ = run_qc(load_netcdf(src), load_config(None))
    back = load_netcdf(out)
    for name in ("temperature_qc", "temperature_qc_spike", "temperature_qc_buddy_check"):
        assert back[name].dtype == np.uint8
        np.testing.assert_array_equal(back[name].values, flagged[name].values)
    np.testing.assert_array_equal(back["temperature_qc"].attrs["flag_values"], FLAG_VALUES)
    # a QC'd file QCs again (flags in the input are replaced, not misread)
    again = tmp_path / "qc2.nc"
    assert main(["qc", str(out), "--out", str(again)]) == 0
    np.testing.assert_array_equal(load_netcdf(again)["temperature_qc"].values,
                                  flagged["temperature_qc"].values)


def test_forecast_is_cf_and_every_field_georeferenced(tmp_path: Path) -> None:
    inf = DATA / "inference"
    out = tmp_path / "uk.nc"
    assert main(["forecast", "--input", str(inf / "era5_uk_coarse.nc"), "--dem",
                 str(inf / "era5_uk_fine.nc"), "--quiet", "--out", str(out)]) == 0
    assert_cf_compliant(out, tmp_path)
    with xr.open_dataset(out) as raw:
        gridded = [str(v) for v in raw.data_vars if raw[v].dims[-2:] == ("latitude", "longitude")]
    assert "temperature_baseline" in gridded
    for name in gridded:
        assert_georeferenced(out, name)


def test_writer_leaves_the_callers_dataset_alone(tmp_path: Path) -> None:
    ds = load_netcdf(SAMPLE / "coarse.nc")
    before = {str(v): dict(ds[v].attrs) for v in ds.variables}
    write_netcdf(ds, tmp_path / "c.nc")
    assert {str(v): dict(ds[v].attrs) for v in ds.variables} == before
    assert "crs" not in ds.variables
    assert_cf_compliant(tmp_path / "c.nc", tmp_path)
