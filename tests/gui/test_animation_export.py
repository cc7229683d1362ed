"""File ▸ Export ▸ Animation… and the GeoTIFF exports, driven in a real window on the
bundled sample region."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from PySide6 import QtWidgets

from desktop_app.gui import exports
from desktop_app.gui.animation_dialog import TASK, AnimationDialog

pytestmark = pytest.mark.gui


def _export_menu(window) -> QtWidgets.QMenu:
    file_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&File")
    return next(a.menu() for a in file_menu.actions() if a.text() == "&Export")


def test_animation_dialog_writes_the_chosen_frames(window, qtbot, tmp_path):
    labels = [a.text() for a in _export_menu(window).actions()]
    assert "Animation (GIF/MP4)…" in labels and "Shown step as GeoTIFF…" in labels
    dialog = AnimationDialog(window)
    qtbot.addWidget(dialog)
    dialog.start_box.setCurrentIndex(3)
    dialog.stop_box.setCurrentIndex(10)
    assert dialog.count_label.text() == "8 frames"
    dialog.fps_box.setValue(5)
    dialog.width_box.setValue(480)
    dialog.height_box.setValue(320)
    out = tmp_path / "loop.gif"
    dialog.path_edit.setText(str(out))
    with qtbot.waitSignal(window.tasks.finished, timeout=120_000) as done:
        dialog.buttons.button(QtWidgets.QDialogButtonBox.StandardButton.Save).click()
    assert done.args == [TASK, out]
    assert window.statusBar().currentMessage() == f"exported {out}"
    with Image.open(out) as im:
        assert im.n_frames == 8 and im.size == (480, 320) and im.info["duration"] == 200
        im.seek(7)
        last = np.asarray(im.convert("RGB"))
    # the frame is a map: the field's colours fill its middle, not a blank page
    middle = last[120:200, 100:300].reshape(-1, 3)
    assert len(np.unique(middle, axis=0)) > 20


def test_cancel_leaves_no_file(window, qtbot, tmp_path):
    dialog = AnimationDialog(window)
    qtbot.addWidget(dialog)
    out = tmp_path / "loop.mp4"
    dialog.path_edit.setText(str(out))
    with qtbot.waitSignal(window.tasks.cancelled, timeout=120_000):
        assert dialog.start()
        window.tasks.cancel_button.click()
    assert list(tmp_path.iterdir()) == []  # neither the file nor a temp file


def test_bad_file_name_is_a_message_and_nothing_starts(window, qtbot, tmp_path, messages):
    dialog = AnimationDialog(window)
    qtbot.addWidget(dialog)
    dialog.path_edit.setText(str(tmp_path / "loop.avi"))
    assert not dialog.start()
    assert ".gif or .mp4" in messages[-1] and not window.tasks.busy


def test_geotiff_exports_from_the_window(window, tmp_path):
    import rasterio

    window.time_slider.setValue(4)
    one = exports.export_step_geotiff(window, tmp_path / "step.tif")
    every = exports.export_all_steps_geotiff(window, tmp_path / "all.tif")
    with rasterio.open(one) as src:
        assert src.count == 1 and src.crs.to_epsg() == 4326
        np.testing.assert_allclose(src.read(1), window.current_field()[::-1], rtol=1e-6)
    with rasterio.open(every) as src:
        assert src.count == window.view.times.size
