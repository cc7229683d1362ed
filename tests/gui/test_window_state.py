import shutil

import pytest
from PySide6 import QtCore, QtGui, QtWidgets

from desktop_app.gui.main_window import MainWindow
from desktop_app.gui.region_view import RegionView
from desktop_app.paths import sample_region_path
from tests.gui.conftest import close_window

pytestmark = pytest.mark.gui


@pytest.fixture
def region_copy(tmp_path):
    dst = tmp_path / "My region"
    shutil.copytree(sample_region_path().parent, dst, ignore=shutil.ignore_patterns("source"))
    return dst


def test_open_region_in_background_and_remember_it(window, qtbot, region_copy):
    with qtbot.waitSignal(window.tasks.finished, timeout=20000):
        assert window.open_region(region_copy)
    assert window.view.region.path == region_copy
    recent = [a.text() for a in window.recent_menu.actions()]
    assert recent == [str(region_copy)]


def test_corrupt_region_shows_a_message_and_the_window_keeps_working(
        window, qtbot, region_copy, messages):
    (region_copy / "terrain.nc").write_bytes(b"CDF\x01 truncated")
    before = window.view
    with qtbot.waitSignal(window.tasks.failed, timeout=20000):
        window.open_region(region_copy)
    assert messages and "terrain.nc" in messages[0]
    assert window.view is before
    window.time_slider.setValue(7)  # still usable
    assert window.time_label.text() == "2024-07-15 07:00 UTC"
    assert not window.tasks.busy


def test_arrow_keys_step_through_time(window, qtbot):
    window.map.widget.setFocus()
    window.time_slider.setValue(10)
    window.step_time(1)
    assert window.time_index == 11
    window.step_time(-6)
    assert window.time_index == 5
    window.step_time(-100)
    assert window.time_index == 0


def test_scroll_zooms_the_map(window, qtbot):
    rect = window.map.view.camera.rect
    before = (rect.width, rect.height)
    pos = QtCore.QPointF(window.map.widget.width() / 2, window.map.widget.height() / 2)
    event = QtGui.QWheelEvent(pos, window.map.widget.mapToGlobal(pos), QtCore.QPoint(0, 0),
                              QtCore.QPoint(0, 240), QtCore.Qt.MouseButton.NoButton,
                              QtCore.Qt.KeyboardModifier.NoModifier,
                              QtCore.Qt.ScrollPhase.NoScrollPhase, False)
    QtWidgets.QApplication.sendEvent(window.map.widget, event)
    qtbot.wait(50)
    after = window.map.view.camera.rect
    assert after.width < before[0] and after.height < before[1]


def test_choices_are_restored_in_the_next_session(window, qtbot, qapp, sample_region):
    window.variable_box.setCurrentIndex(window.variable_box.findData("relative_humidity"))
    window.cmap_box.setCurrentText("viridis")
    window.shading_box.setChecked(False)
    window.close()
    again = MainWindow(RegionView(sample_region))
    qtbot.addWidget(again)
    assert again.variable == "relative_humidity"
    assert again.cmap_box.currentText() == "viridis"
    assert not again.shading_box.isChecked()
    again.variable_box.setCurrentIndex(again.variable_box.findData("temperature"))
    assert again.cmap_box.currentText() == "coolwarm"  # per-variable default kept
    close_window(again, qapp)
