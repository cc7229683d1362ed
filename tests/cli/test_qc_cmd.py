"""``microclimate qc``: end to end on a real station file, and its failure modes."""

from __future__ import annotations

from pathlib import Path

import pytest
import xarray as xr

from desktop_app.cli import main
from tests.qc.qc_data import tmy3_station_dataset


@pytest.fixture()
def station_nc(tmp_path: Path) -> Path:
    path = tmp_path / "stations.nc"
    tmy3_station_dataset().to_netcdf(path)
    return path


def test_qc_writes_flags_and_prints_table(station_nc: Path, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "flagged.nc"
    assert main(["qc", str(station_nc), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "surface_pressure" in printed and "flat_line" in printed
    assert "kernel compile" in printed
    with xr.open_dataset(out) as ds:
        # stored as ioos_qc stores flags: signed bytes (CF-1.8 has no unsigned types)
        assert ds["temperature_qc"].dtype == "int8"
        assert ds["temperature_qc"].attrs["flag_values"].dtype == "int8"
        assert ds["temperature_qc_gross_range"].attrs["standard_name"] == \
            "gross_range_test_quality_flag"
        assert "temperature_qc" in ds["temperature"].attrs["ancillary_variables"]
        assert int((ds["surface_pressure_qc"] == 4).sum()) > 8000


def test_qc_with_config(station_nc: Path, tmp_path: Path) -> None:
    cfg = tmp_path / "qc.toml"
    cfg.write_text("use_defaults = false\n[variables.temperature]\n"
                   "gross_range = { fail_span = [-10, 30] }\n")
    out = tmp_path / "flagged.nc"
    assert main(["qc", str(station_nc), "--config", str(cfg), "--out", str(out)]) == 0
    with xr.open_dataset(out) as ds:
        assert "surface_pressure_qc" not in ds
        assert int((ds["temperature_qc"] == 4).sum()) > 0


@pytest.mark.parametrize("case", ["missing", "not_station", "bad_key", "not_netcdf"])
def test_bad_input_one_line_no_output(case: str, station_nc: Path, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out.nc"
    args = ["qc", str(station_nc), "--out", str(out)]
    if case == "missing":
        args[1] = str(tmp_path / "nope.nc")
    elif case == "not_station":
        other = tmp_path / "grid.nc"
        xr.Dataset({"t": (("y",), [1.0])}).to_netcdf(other)
        args[1] = str(other)
    elif case == "bad_key":
        cfg = tmp_path / "qc.toml"
        cfg.write_text("[variables.temperature]\nspike = { treshold = 3 }\n")
        args += ["--config", str(cfg)]
    else:
        junk = tmp_path / "junk.nc"
        junk.write_bytes(b"not a netcdf file")
        args[1] = str(junk)
    assert main(args) != 0
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("microclimate qc: error:")
    if case == "bad_key":
        assert "variables.temperature.spike.treshold" in err
    assert not out.exists()
    assert not list(tmp_path.glob(".out.nc*"))  # no temp file left behind
