import csv
import os
import subprocess
import sys

import numpy as np
import pytest
import xarray as xr
from PySide6 import QtGui

from desktop_app.gui import exports
from tests.cf_check import assert_cf_compliant, assert_georeferenced

pytestmark = pytest.mark.gui


def test_export_map_png_from_the_window(window, tmp_path):
    out = exports.export_map_png(window, tmp_path / "map.png", 1200, 900, 120)
    image = QtGui.QImage(str(out))
    assert (image.width(), image.height()) == (1200, 900)
    assert round(image.dotsPerMeterX() * 0.0254) == 120
    assert image.text("Valid time") == "2024-07-15 00:00 UTC"
    assert "SYNTHETIC" in image.text("Source")


def test_export_field_netcdf_round_trips(window, tmp_path):
    window.time_slider.setValue(5)
    out = exports.export_field_netcdf(window, tmp_path / "field.nc")
    with xr.open_dataset(out) as ds:
        np.testing.assert_allclose(ds["temperature"].values[5], window.current_field())
        assert ds["temperature"].attrs["standard_name"] == "air_temperature"
        assert ds["temperature"].attrs["units"] == "degC"
        assert ds.attrs["generated_values"] == "yes"
        assert ds.attrs["Conventions"] == "CF-1.8"
    assert_cf_compliant(out, tmp_path)
    assert_georeferenced(out, "temperature")


def test_export_series_csv(window, tmp_path):
    window.select_station(1)
    out = exports.export_series_csv(window, tmp_path / "s.csv")
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == window.view.times.size
    obs = window.view.stations["temperature"].values[1]
    assert float(rows[30]["observed_temperature"]) == pytest.approx(obs[30], abs=1e-3)
    assert rows[0]["time_utc"] == "2024-07-15T00:00Z"


def test_export_series_png(window, tmp_path):
    out = exports.export_series_png(window, tmp_path / "s.png")
    assert not QtGui.QImage(str(out)).isNull()


def test_export_map_cli_works_without_a_display(window, tmp_path):
    field = exports.export_field_netcdf(window, tmp_path / "field.nc")
    out = tmp_path / "cli.png"
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["MICROCLIMATE_HOME"] = str(tmp_path / "home")
    proc = subprocess.run(
        [sys.executable, "-m", "desktop_app", "export-map", str(field), "--variable",
         "temperature", "--time", "2024-07-15T12:00", "--out", str(out), "--width", "800",
         "--height", "600", "--dpi", "100"],
        capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    image = QtGui.QImage(str(out))
    assert (image.width(), image.height()) == (800, 600)
    assert image.text("Valid time") == "2024-07-15 12:00 UTC"


@pytest.mark.parametrize(("args", "message"), [
    (["--variable", "snow"], "variable 'snow' is not in the file"),
    (["--variable", "temperature", "--time", "2030-01-01T00:00"], "is not a step of the file"),
    (["--variable", "temperature", "--time", "99"], "out of range"),
])
def test_export_map_cli_bad_input(window, tmp_path, args, message):
    field = exports.export_field_netcdf(window, tmp_path / "field.nc")
    out = tmp_path / "x.png"
    proc = subprocess.run([sys.executable, "-m", "desktop_app", "export-map", str(field),
                           *args, "--out", str(out)], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 1
    assert message in proc.stderr and "Traceback" not in proc.stderr
    assert not out.exists()
