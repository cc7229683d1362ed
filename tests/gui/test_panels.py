import json
import shutil

import numpy as np
import pytest
from PySide6 import QtGui

from desktop_app.gui import exports
from desktop_app.paths import bundled_models_dir
from desktop_app.viz import export
from tests.gui.helpers import expected_rgb
from tests.inference.helpers import BUNDLED_SPEC as BUNDLED
from tests.inference.helpers import BUNDLED_VERSION

pytestmark = pytest.mark.gui


def _run_forecast(window, qtbot):
    with qtbot.waitSignal(window.tasks.finished, timeout=60000):
        window.forecast_panel.run_button.click()


def test_forecast_panel_runs_the_model_and_the_map_shows_it(window, qtbot):
    assert "CPU" in window.forecast_panel.status_label.text()
    assert window.layer_box.count() == 1
    _run_forecast(window, qtbot)
    assert [window.layer_box.itemData(i) for i in range(window.layer_box.count())] == [
        "baseline", "forecast", "difference"]
    assert window.view.layer == "forecast"
    window.time_slider.setValue(9)
    fc = window.view.forecast
    np.testing.assert_array_equal(window.current_field(), fc["temperature"].values[9])
    spec = f"{fc.attrs['model_name']}@{fc.attrs['model_version']}"
    assert spec in window.provenance.text()
    # the sample region (California, ~150 m) is outside the UK model's training domain:
    # the guard's verdict is in the map title for the shown step and in the panel
    assert f"this step: {fc.attrs['baseline_method']} baseline — guard: 100% of inputs outside" in (
        window.provenance.text())
    assert "guard: 72 of 72 steps outside" in window.forecast_panel.result_label.text()
    # the card's limits are in front of the forecaster, not only in a file
    assert "NOT verified" in window.forecast_panel.card_label.text()
    _, y = window.series.curve_data("model forecast")
    assert y.size == window.view.times.size


def test_difference_layer_is_forecast_minus_baseline_on_a_symmetric_scale(window, qtbot):
    _run_forecast(window, qtbot)
    window.layer_box.setCurrentIndex(window.layer_box.findData("difference"))
    window.time_slider.setValue(20)
    want = (window.view.forecast["temperature"].values[20]
            - window.view.baseline["temperature"].values[20])
    np.testing.assert_allclose(window.current_field(), want, atol=1e-6)
    lo, hi = window.map_model.field.scale.clim
    assert lo == -hi
    assert window.map.colorbar.clim == (lo, hi)
    assert "forecast − baseline" in window.map.colorbar.label.text
    window.layer_box.setCurrentIndex(window.layer_box.findData("baseline"))
    np.testing.assert_array_equal(window.current_field(),
                                  window.view.baseline["temperature"].values[20])


def test_cuda_requested_without_gpu_fails_cleanly(window, qtbot, messages):
    window.forecast_panel.provider_box.setCurrentText("cuda")
    with qtbot.waitSignal(window.tasks.failed, timeout=60000):
        window.forecast_panel.run_button.click()
    assert "CUDA" in messages[0]
    assert window.view.forecast is None and window.view.layer == "baseline"


def test_models_panel_lists_installs_uses_and_rolls_back(window, tmp_path, messages):
    panel = window.models_panel
    assert panel.table.rowCount() == 1
    assert panel.table.item(0, 0).text() == BUNDLED
    assert panel.table.item(0, 2).text() == "yes"
    assert "NOT verified" in panel.info.toPlainText()  # the card, shown as written
    # a second version of the same graph, with its own card
    src = bundled_models_dir()
    for ext in ("onnx", "json"):
        shutil.copy(src / f"{BUNDLED.replace('@', '-')}.{ext}", tmp_path / f"m.{ext}")
    card = json.loads((tmp_path / "m.json").read_text())
    card.update(version="99.0.0", onnx_file="m.onnx")
    (tmp_path / "m.json").write_text(json.dumps(card))
    assert panel.install(tmp_path / "m.onnx")
    assert panel.table.rowCount() == 2
    row = [panel.table.item(r, 0).text() for r in range(2)].index(
        BUNDLED.replace(BUNDLED_VERSION, "99.0.0"))
    panel.table.selectRow(row)
    assert panel.use_selected()
    assert panel.table.item(row, 4).text() == "temperature"
    assert panel.rollback()
    other = 1 - row
    assert panel.table.item(other, 4).text() == "temperature"
    assert window.forecast_panel.model_box.count() == 3  # active + two versions


def test_installing_a_corrupt_model_is_refused_with_a_message(window, tmp_path, messages):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model")
    shutil.copy(bundled_models_dir() / f"{BUNDLED.replace('@', '-')}.json",
                tmp_path / "bad.json")
    assert not window.models_panel.install(bad)
    assert len(messages) == 1
    assert "bad.onnx" in messages[0] and "sha256" in messages[0]
    assert window.models_panel.table.rowCount() == 1


def test_exported_difference_png_is_centred_on_zero_and_says_difference(window, qtbot,
                                                                       tmp_path):
    _run_forecast(window, qtbot)
    window.layer_box.setCurrentIndex(window.layer_box.findData("difference"))
    window.shading_box.setChecked(False)  # exact colours: no hillshade under the field
    for name in ("basemap", "graticule", "places", "stations", "scalebar"):
        window.map_model.layers[name].set_visible(False)
    window.time_slider.setValue(20)
    out = exports.export_map_png(window, tmp_path / "diff.png", 1200, 900, 96)
    image = QtGui.QImage(str(out))
    assert image.text("Title").startswith("Difference (forecast − baseline)")
    assert image.text("Colour scale").startswith("Difference:")
    model = window.map_model
    lo, hi = model.field.scale.clim
    assert lo == -hi  # the range is centred on zero, not the field's min/max
    # the cell whose difference is nearest zero is painted the colormap's middle colour
    diff = window.current_field()
    i, j = np.unravel_index(np.nanargmin(np.abs(diff)), diff.shape)
    r = export.map_rect(model, 1200, 900, 96)
    west, south, east, north = model.extent()
    x = r.x() + (window.view.lon[j] - west) / (east - west) * r.width()
    y = r.bottom() - (window.view.lat[i] - south) / (north - south) * r.height()
    c = image.pixelColor(round(x), round(y))
    got = np.array([c.red(), c.green(), c.blue()], float)
    want = expected_rgb("coolwarm", float(diff[i, j]), (lo, hi))
    assert np.abs(got - want).max() <= 6
    assert np.abs(got - expected_rgb("coolwarm", 0.0, (lo, hi))).max() <= 8


def test_models_panel_shows_the_card_while_shift_is_held(window, qtbot):
    """The panel's first row is selected outright: with Shift held (the state the last
    input event left, e.g. a Shift+drag of a region box), selectRow() selected nothing and
    the model card stayed empty."""
    from PySide6 import QtCore, QtGui

    from desktop_app.gui.panels.models_panel import ModelsPanel

    qtbot.keyPress(window.map.widget, QtCore.Qt.Key.Key_Shift,
                   QtCore.Qt.KeyboardModifier.ShiftModifier)
    try:
        assert QtGui.QGuiApplication.keyboardModifiers() & QtCore.Qt.KeyboardModifier.ShiftModifier
        panel = ModelsPanel(window)
        qtbot.addWidget(panel)
        assert panel.selected() is not None
        assert "NOT verified" in panel.info.toPlainText()
    finally:
        qtbot.keyRelease(window.map.widget, QtCore.Qt.Key.Key_Shift)
