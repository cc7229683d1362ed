"""Each hostile or careless input found by the hardening review (issue 19) gives one
line naming the problem and a non-zero exit, never a traceback or a crash at exit."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from desktop_app import paths
from desktop_app.cli import main
from desktop_app.cli.gui_cmd import check_display
from desktop_app.cli.trainer_cmd import read_or_create_token
from desktop_app.errors import ConfigError, MicroclimateError

ROOT = Path(__file__).resolve().parents[2]
GRIB = ROOT / "tests" / "data" / "sources" / "era5" / "era5-2mt-2019-03-uk.grib"


def sample(name: str) -> Path:
    return paths.sample_region_path().parent / name


def one_line_error(capsys: pytest.CaptureFixture[str], argv: list[str], *needles: str) -> str:
    """Run the command in-process; it must fail with exactly one error line on stderr
    holding every needle (progress lines and argparse's usage may come before it)."""
    try:
        rc = main(argv)
    except SystemExit as stop:  # argparse
        rc = stop.code  # type: ignore[assignment]
    err = capsys.readouterr().err.strip().splitlines()
    assert rc not in (0, None), err
    lines = [ln for ln in err if "error:" in ln]
    assert len(lines) == 1, err
    assert "Traceback" not in "\n".join(err)
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def bad_grib(tmp_path: Path) -> Path:
    """The real ERA5 GRIB cut inside its 90th message (as a broken download would)."""
    path = tmp_path / "cut.grib"
    path.write_bytes(GRIB.read_bytes()[:300_017])
    return path


def test_a_corrupt_grib_is_one_line_everywhere(capsys, tmp_path, bad_grib) -> None:
    one_line_error(capsys, ["forecast", "--input", str(bad_grib), "--dem",
                            str(sample("terrain.nc")), "--out", str(tmp_path / "f.nc"),
                            "--quiet"], "is a GRIB file")
    one_line_error(capsys, ["verify", str(bad_grib), "--obs", str(sample("stations.nc"))],
                   "is a GRIB file")
    one_line_error(capsys, ["export-map", str(bad_grib), "--variable", "temperature",
                            "--out", str(tmp_path / "m.png")], "is a GRIB file")
    one_line_error(capsys, ["fetch", "era5", "--from-file", str(bad_grib), "--out",
                            str(tmp_path / "e.nc")], "truncated")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cut.grib"]  # no .idx, no output


def test_batch_inputs_check_grib_framing_before_ecodes(bad_grib) -> None:
    from desktop_app.batch.inputs import open_inputs

    with pytest.raises(MicroclimateError, match="truncated: message 90 needs"):
        open_inputs([bad_grib], "station input")
    assert not list(bad_grib.parent.glob("*.idx"))


def test_an_error_after_reading_netcdf_exits_cleanly(tmp_path) -> None:
    """xarray guessing the engine loaded every backend and the process crashed at exit
    (double free, exit 134/139) after printing its one line."""
    proc = subprocess.run([sys.executable, "-m", "desktop_app", "verify",
                           str(sample("stations.nc")), "--obs", str(sample("coarse.nc"))],
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 1, proc.stderr[-500:]
    assert "not a grid" in proc.stderr and "Traceback" not in proc.stderr


def test_verify_with_swapped_arguments(capsys) -> None:
    one_line_error(capsys, ["verify", str(sample("stations.nc")), "--obs",
                            str(sample("coarse.nc"))], "forecast", "not a grid")
    one_line_error(capsys, ["verify", str(sample("coarse.nc")), "--obs",
                            str(sample("coarse.nc"))], "observations", "not station data")


def test_qc_on_station_data_without_time_steps(capsys, tmp_path) -> None:
    st = xr.load_dataset(sample("stations.nc"), engine="netcdf4")
    empty = tmp_path / "empty.nc"
    st.isel(time=slice(0, 0)).to_netcdf(empty, engine="netcdf4", unlimited_dims=["time"])
    one_line_error(capsys, ["qc", str(empty), "--out", str(tmp_path / "q.nc")],
                   "no time steps")
    assert not (tmp_path / "q.nc").exists()


@pytest.mark.parametrize(("text", "needle"), [
    (b"[variables.temperature]\nspike = { method = \"nosuch\" }\n", "unknown spike method"),
    (b"[variables.temperature]\nbuddy_check = { num_min = 0 }\n", "num_min: must be at least"),
    (b"[variables.temperature]\ngross_range = { fail_span = [nan, nan] }\n", "finite"),
    (b"[variables.temperature]\ngross_range = { fail_span = [60.0, -80.0] }\n", "low < high"),
    (b"[variables.temperature]\nspike = { suspect_threshold = 8.0, fail_threshold = 4.0 }\n",
     "must not exceed"),
    (b"[variables.temperature\xff]\n", "not UTF-8"),
])
def test_bad_qc_configs(capsys, tmp_path, text: bytes, needle: str) -> None:
    config = tmp_path / "qc.toml"
    config.write_bytes(text)
    one_line_error(capsys, ["qc", str(sample("stations.nc")), "--config", str(config),
                            "--out", str(tmp_path / "q.nc")], needle)


@pytest.mark.parametrize("argv", [
    ["fetch", "stations", "x.csv", "--format", "csv", "--utc-offset", "nan", "--out", "o.nc"],
    ["fetch", "openmeteo", "--bbox", "1,2,3,4", "--resolution", "nan", "--variables",
     "temperature", "--out", "o.nc"],
    ["fetch", "openmeteo", "--lat", "95", "--lon", "1", "--variables", "temperature",
     "--out", "o.nc"],
    ["fetch", "openmeteo", "--lat", "nan", "--lon", "1", "--variables", "temperature",
     "--out", "o.nc"],
    ["trainer", "serve", "--port", "99999"],
    ["watch", "serve", "--port", "99999"],
    ["export-map", "f.nc", "--variable", "temperature", "--out", "m.png", "--width", "1e9"],
    ["forecast", "--out", "f.nc", "--threads", "0"],
])
def test_absurd_numbers_on_the_command_line(capsys, tmp_path, monkeypatch, argv) -> None:
    monkeypatch.chdir(tmp_path)
    one_line_error(capsys, argv, "error")
    assert list(tmp_path.iterdir()) == []


def test_unknown_colormap_before_painting(capsys, tmp_path) -> None:
    one_line_error(capsys, ["export-map", str(sample("coarse.nc")), "--variable",
                            "temperature", "--cmap", "nosuch", "--out",
                            str(tmp_path / "m.png")], "'nosuch' is not a colormap")


@pytest.mark.parametrize(("rows", "needle"), [
    ("2024-01-01T00:00,1.0\n9999-12-31T00:00,2.0\n", "outside 1800..2200"),
    ("2024-01-01T00:00,1.0\n2024-01-01T01:00,inf\n", "infinite"),
    ("2024-01-01T00:00,1.0\n2024-01-01T01:00,1e400\n", "infinite"),
])
def test_csv_values_that_are_not_weather(capsys, tmp_path, rows: str, needle: str) -> None:
    csv = tmp_path / "st.csv"
    csv.write_text("Date,T\n" + rows)
    one_line_error(capsys, ["fetch", "stations", str(csv), "--format", "csv", "--columns",
                            "time=Date,temperature=T", "--lat", "1", "--lon", "2", "--out",
                            str(tmp_path / "st.nc")], needle)
    assert not (tmp_path / "st.nc").exists()


def test_csv_epoch_seconds_are_seconds(capsys, tmp_path) -> None:
    csv = tmp_path / "st.csv"
    csv.write_text("Date,T\n1700000000,1.0\n1700003600,2.0\n")
    assert main(["fetch", "stations", str(csv), "--format", "csv", "--columns",
                 "time=Date,temperature=T", "--lat", "1", "--lon", "2", "--out",
                 str(tmp_path / "st.nc")]) == 0
    times = xr.load_dataset(tmp_path / "st.nc", engine="netcdf4")["time"].values
    assert times[0] == np.datetime64("2023-11-14T22:13:20", "ns")


def _shifted(tmp_path: Path, name: str, **change: float) -> Path:
    coarse = xr.load_dataset(sample("coarse.nc"), engine="netcdf4")
    if "lon" in change:
        coarse = coarse.assign_coords(longitude=coarse["longitude"] + change["lon"])
    if "lat" in change:
        coarse = coarse.assign_coords(latitude=coarse["latitude"] - coarse["latitude"][0]
                                      + change["lat"])
    if "value" in change:
        coarse["temperature"] = coarse["temperature"] * 0 + change["value"]
    path = tmp_path / name
    coarse.to_netcdf(path, engine="netcdf4")
    return path


@pytest.mark.parametrize(("change", "needle"), [
    ({"lon": 20.0}, "do not overlap"),
    ({"lat": 95.0}, "latitude"),
    ({"value": 1e30}, "outside the physically possible range"),
])
def test_forecast_refuses_a_coarse_field_that_cannot_be_right(capsys, tmp_path, change,
                                                               needle) -> None:
    coarse = _shifted(tmp_path, "coarse.nc", **change)
    one_line_error(capsys, ["forecast", "--input", str(coarse), "--dem",
                            str(sample("terrain.nc")), "--out", str(tmp_path / "f.nc"),
                            "--quiet"], needle)
    assert not (tmp_path / "f.nc").exists()


@pytest.mark.parametrize(("latitude", "needle"), [("95.0", "between"), ("nan", "finite")])
def test_watch_config_coordinates(tmp_path, latitude: str, needle: str) -> None:
    from desktop_app.watch.config import load_config

    path = tmp_path / "watch.toml"
    path.write_text(f'[[stations]]\nid = "a"\nlatitude = {latitude}\nlongitude = 13.4\n')
    with pytest.raises(ConfigError, match=rf"stations\[0\]\.latitude\W.*{needle}"):
        load_config(path)


def test_a_token_file_that_is_not_text(tmp_path) -> None:
    token = tmp_path / "token"
    token.write_bytes(b"\xff\xfe" * 20)
    with pytest.raises(ConfigError, match="not UTF-8"):
        read_or_create_token(token, tmp_path)


def test_no_display_is_one_line() -> None:
    with pytest.raises(MicroclimateError, match="no display for the window"):
        check_display({})
    check_display({"DISPLAY": ":0"})
    check_display({"QT_QPA_PLATFORM": "offscreen"})
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY",
                                                             "QT_QPA_PLATFORM")}
    proc = subprocess.run([sys.executable, "-m", "desktop_app"], capture_output=True,
                          text=True, timeout=120, env={**env, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 1 and "no display" in proc.stderr
    assert proc.stderr.strip().count("\n") == 0
