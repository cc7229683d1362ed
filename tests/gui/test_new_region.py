"""File ▸ New region in a real window: a region made from a real DEM subset in the
dialog shows on the map; a box drawn on the map fills the dialog; bad input is a message;
File ▸ Open takes a forecast file the app wrote."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from desktop_app import paths
from desktop_app.sources.output import write_netcdf

pytestmark = pytest.mark.gui

DEM = Path(__file__).resolve().parents[1] / "data" / "region" / "davos_srtm30m_utm32n.tif"


def test_dialog_creates_a_region_and_the_map_shows_it(window, qtbot):
    dialog = window.show_new_region()
    dialog.name_edit.setText("davos")
    window.map.bbox_drawn.emit(46.76, 9.83, 46.84, 9.94)  # what a Shift+drag emits
    assert dialog.bbox_edit.text() == "46.7600,9.8300,46.8400,9.9400"
    dialog.resolution_box.setCurrentIndex(dialog.resolution_box.findData("250m"))
    dialog.dem_edit.setText(str(DEM))
    dialog.background_box.setCurrentIndex(dialog.background_box.findData("none"))
    assert dialog.folder_label.text() == str(paths.regions_dir() / "davos")
    with qtbot.waitSignal(window.tasks.finished, timeout=60000) as done:
        assert dialog.start_create()
        assert window.tasks.cancel_button.isVisible()  # progress and Cancel while it runs
    assert done.args[0] == "New region"
    qtbot.waitUntil(lambda: window.view.region.name == "davos", timeout=10000)
    assert not dialog.isVisible()
    view = window.view
    assert view.elevation.shape == (36, 34)
    # the map (its model, which the canvas draws) is on the new grid
    assert window.map_model.field.lat[0] == pytest.approx(view.lat[0])
    assert window.map_model.field.lon[-1] == pytest.approx(view.lon[-1])
    assert window.layer_box.currentText() == "Terrain"
    assert window.variable == "elevation"
    field = window.current_field()
    np.testing.assert_array_equal(field, view.elevation)
    assert 1400 < float(field.min()) < float(field.max()) < 3000
    assert (paths.regions_dir() / "davos" / "region.json").is_file()
    assert "davos" in window.windowTitle()


def test_bad_input_is_a_message_and_nothing_starts(window, qtbot, messages):
    dialog = window.show_new_region()
    dialog.name_edit.setText("x")
    dialog.bbox_edit.setText("47,170,48,-170")
    dialog.dem_edit.setText(str(DEM))
    assert not dialog.start_create()
    assert "crosses the antimeridian" in dialog.message.text()
    assert not window.tasks.busy
    dialog.bbox_edit.setText("46.70,9.83,46.84,9.94")  # beyond the DEM: fails in the worker
    with qtbot.waitSignal(window.tasks.failed, timeout=60000):
        assert dialog.start_create()
    assert "does not cover the south part" in dialog.message.text()
    assert len(messages) == 1 and "does not cover the south part" in messages[0]
    assert dialog.create_button.isEnabled()
    assert not (paths.regions_dir() / "x").exists()


def test_open_takes_a_forecast_file(window, qtbot, tmp_path):
    from desktop_app.inference.predictor import run_forecast

    region = window.view.region
    assert region.coarse is not None
    coarse = region.coarse.isel(time=slice(0, 3))  # three steps are enough to open
    forecast = run_forecast((coarse, region.terrain), references=True)
    path = write_netcdf(forecast, tmp_path / "f.nc")
    with qtbot.waitSignal(window.tasks.finished, timeout=60000):
        assert window.open_region(path)
    view = window.view
    assert view.layer == "forecast"
    assert view.region.coarse is None and view.region.fields is not None
    t = window.time_index
    np.testing.assert_allclose(window.current_field(),
                               forecast[window.variable].values[t], atol=1e-5)
    layers = [window.layer_box.itemText(i) for i in range(window.layer_box.count())]
    assert "Baseline (physical)" in layers and "Forecast − baseline" in layers
