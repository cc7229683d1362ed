import re

import numpy as np
import pytest
from PySide6 import QtCore

from desktop_app.core.flags import QCFlag
from desktop_app.gui.region_view import COLORMAPS
from tests.gui.helpers import canvas_image, expected_rgb, hover, qpoint

pytestmark = pytest.mark.gui

# cells away from stations and edges, in different terrain
CELLS = [(20, 40), (55, 128), (90, 200), (70, 20)]


def _pixel_of_cell(window, i, j):
    x, y = window.map.canvas_pos_of(float(window.view.lat[i]), float(window.view.lon[j]))
    return round(x), round(y)


def _unshaded(window, qtbot):
    _plain(window)
    with qtbot.waitSignal(window.map.drawn, timeout=5000):
        window.shading_box.setChecked(False)
    qtbot.wait(50)


def _plain(window):
    """The field alone: no lines or labels that could cross a sampled cell."""
    for name in ("basemap", "graticule", "places", "stations", "scalebar"):
        window.map_actions[name].setChecked(False)


def test_map_pixels_show_the_field_through_the_colormap(window, qtbot):
    _unshaded(window, qtbot)
    img = canvas_image(window)
    field = window.current_field()
    clim = window.map_model.field.scale.clim
    for i, j in CELLS:
        x, y = _pixel_of_cell(window, i, j)
        want = expected_rgb(COLORMAPS["temperature"], float(field[i, j]), clim)
        got = img[y, x].astype(float)
        assert np.abs(got - want).max() <= 6, (i, j, got, want)
    # not blank: the map area holds many distinct colours
    x0, y0 = _pixel_of_cell(window, 0, 0)
    x1, y1 = _pixel_of_cell(window, field.shape[0] - 1, field.shape[1] - 1)
    area = img[y1:y0, x0:x1].reshape(-1, 3)
    assert len(np.unique(area, axis=0)) > 100  # (round colour limits: fewer than the data)


def test_colorbar_shows_gradient_limits_and_units(window):
    img = canvas_image(window)
    bar = window.map.colorbar
    tr = bar.view.scene.node_transform(window.map.canvas.scene)
    lo, hi = bar.clim
    for frac in (0.02, 0.5, 0.98):
        x, y = tr.map([0.5, frac])[:2]
        want = expected_rgb(bar.cmap, lo + frac * (hi - lo), (lo, hi))
        assert np.abs(img[round(y), round(x)].astype(float) - want).max() <= 8
    assert (lo, hi) == window.map_model.field.scale.clim
    ticks = [float(text.replace("−", "-")) for _, text in bar.ticks]
    assert ticks[0] == pytest.approx(lo) and ticks[-1] == pytest.approx(hi)
    # round ticks: one 1-2-5 step apart, the ends on whole steps
    step = ticks[1] - ticks[0]
    assert np.allclose(np.diff(ticks), step)
    assert step / 10 ** np.floor(np.log10(step)) in (1.0, 2.0, 5.0)
    assert all(abs(t / step - round(t / step)) < 1e-9 for t in ticks)
    values = window.view.field["temperature"].values
    assert lo <= np.nanmin(values) and hi >= np.nanmax(values)
    assert bar.label.text == "2 m air temperature (°C)"
    assert list(bar.tick_labels.text) == [text for _, text in bar.ticks]


def test_hover_value_matches_the_data_at_that_cell(window, qtbot):
    field = window.current_field()
    size = window.map.widget.size()
    for i, j in CELLS:
        hover(window.map.widget, QtCore.QPoint(2, 2))
        assert window.hover_label.text() == "outside the grid"
        hover(window.map.widget, qpoint(window.map.canvas_pos_of(
            float(window.view.lat[i]), float(window.view.lon[j]))))
        text = window.hover_label.text()
        assert "°N" in text, (i, j, text)
        lat, lon = (float(v) for v in re.search(r"(\d+\.\d{4})°N, (\d+\.\d{4})°W",
                                                 text).groups())
        i2 = int(np.abs(window.view.lat - lat).argmin())
        j2 = int(np.abs(window.view.lon + lon).argmin())
        # the readout names the cell under the cursor, even for a move that follows the
        # previous one within 10 ms (vispy drops those; the map reads Qt's) ...
        assert (i2, j2) == (i, j), text
        # ... and everything it says is that cell's data
        assert f"elev {window.view.elevation[i2, j2]:.0f} m" in text
        shown = float(re.search(r"temperature (-?\d+\.\d) °C", text).group(1))
        assert shown == pytest.approx(float(field[i2, j2]), abs=0.05)
        assert window.map.widget.size() == size  # the readout did not move the map


def test_terrain_shading_blends_the_hillshade_under_the_field(window, qtbot):
    from desktop_app.gui.main_window import SHADED_OPACITY
    from desktop_app.viz.hillshade import hillshade

    assert window.shading_box.isChecked()
    _plain(window)
    qtbot.wait(100)
    img = canvas_image(window)
    shade = hillshade(window.view.elevation, window.view.lat, window.view.lon)
    clim = window.map_model.field.scale.clim
    to_cells = window.map.canvas.scene.node_transform(window.map.image)
    for i, j in CELLS:
        x, y = _pixel_of_cell(window, i, j)
        field = expected_rgb("coolwarm", float(window.current_field()[i, j]), clim)
        # the hillshade is drawn with linear interpolation: expect its value where the
        # pixel's centre falls, not at the cell's centre (steep terrain changes fast)
        cx, cy = to_cells.map([x + 0.5, y + 0.5])[:2] - 0.5
        j0, i0 = int(np.floor(cx)), int(np.floor(cy))
        fx, fy = cx - j0, cy - i0
        here = ((1 - fy) * ((1 - fx) * shade[i0, j0] + fx * shade[i0, j0 + 1])
                + fy * ((1 - fx) * shade[i0 + 1, j0] + fx * shade[i0 + 1, j0 + 1]))
        want = SHADED_OPACITY * field + (1 - SHADED_OPACITY) * 255.0 * here
        assert np.abs(img[y, x].astype(float) - want).max() <= 8, (i, j)


def test_time_slider_changes_the_image_and_time(window, qtbot):
    _unshaded(window, qtbot)
    uploads = window.map.image.uploads
    assert window.map.resident
    before = canvas_image(window)
    first_time = window.time_label.text()
    with qtbot.waitSignal(window.map.drawn, timeout=5000):
        window.time_slider.setValue(12)
    qtbot.wait(50)
    after = canvas_image(window)
    assert window.time_label.text() == "2024-07-15 12:00 UTC" != first_time
    np.testing.assert_array_equal(window.current_field(),
                                  window.view.field["temperature"].values[12])
    assert np.abs(after.astype(int) - before.astype(int)).sum() > 1000
    i, j = CELLS[1]
    x, y = _pixel_of_cell(window, i, j)
    want = expected_rgb("coolwarm", float(window.current_field()[i, j]),
                        window.map_model.field.scale.clim)
    assert np.abs(after[y, x].astype(float) - want).max() <= 6
    for t in (30, 5, 71, 0):  # scrubbing: a uniform changes, no frame is re-uploaded
        window.time_slider.setValue(t)
    assert window.map.image.uploads == uploads


def test_play_animates_through_time(window, qtbot):
    window.play_button.click()
    qtbot.waitUntil(lambda: window.time_index >= 3, timeout=5000)
    window.play_button.click()
    assert not window.play_timer.isActive()
    assert window.play_button.text() == "Play"


def test_colormap_choice_recolours_without_upload(window, qtbot):
    _unshaded(window, qtbot)
    uploads = window.map.image.uploads
    with qtbot.waitSignal(window.map.drawn, timeout=5000):
        window.cmap_box.setCurrentText("viridis")
    qtbot.wait(50)
    img = canvas_image(window)
    i, j = CELLS[0]
    x, y = _pixel_of_cell(window, i, j)
    want = expected_rgb("viridis", float(window.current_field()[i, j]),
                        window.map_model.field.scale.clim)
    assert np.abs(img[y, x].astype(float) - want).max() <= 6
    assert window.map.colorbar.cmap == "viridis"
    assert window.map.image.uploads == uploads


def test_click_a_station_shows_its_series(window, qtbot):
    st = window.view.stations
    k = 3
    pos = qpoint(window.map.canvas_pos_of(float(st.latitude[k]), float(st.longitude[k])))
    qtbot.mouseClick(window.map.widget, QtCore.Qt.MouseButton.LeftButton, pos=pos)
    qtbot.waitUntil(lambda: window.selected_station == k, timeout=3000)
    assert str(st.station_id.values[k]) in window.series.title.text()
    _, y = window.series.curve_data("observed")
    np.testing.assert_allclose(y, st["temperature"].values[k], equal_nan=True)


def test_station_markers_say_not_evaluated_or_missing_without_qc(window):
    t = 11  # SYN-05 has an injected gap at 10..13 UTC on the first day
    window.time_slider.setValue(t)
    flags = window.view.station_flags("temperature", t)
    assert flags[4] == QCFlag.MISSING
    assert set(np.delete(flags, 4)) == {QCFlag.NOT_EVALUATED}


def test_switching_variable_updates_colorbar_units(window, qtbot):
    idx = window.variable_box.findData("relative_humidity")
    with qtbot.waitSignal(window.map.drawn, timeout=5000):
        window.variable_box.setCurrentIndex(idx)
    assert window.map.colorbar.label.text == "2 m relative humidity (%)"
    assert "degC" not in window.series.plot.getAxis("left").labelText


def test_other_variables_share_the_time_axis_below(window, qtbot):
    window.select_station(2)
    labels = [plot.plotItem.titleLabel.text for plot, _ in window.series.visible_context]
    assert len(labels) == len(window.view.variables) - 1
    assert any("relative humidity" in label for label in labels)
    plot, cursor = window.series.visible_context[0]
    window.time_slider.setValue(40)
    assert cursor.value() == window.series.time_cursor.value()
    t = window.series.time_cursor.value()
    window.series.plot.setXRange(t - 6 * 3600, t + 6 * 3600, padding=0)
    qtbot.wait(100)

    def screen_x(widget, value):
        scene = widget.plotItem.vb.mapViewToScene(QtCore.QPointF(value, 0.0))
        return widget.mapToGlobal(widget.mapFromScene(scene)).x()

    for value in (t - 3 * 3600, t, t + 3 * 3600):  # a time is at the same x in every plot
        assert abs(screen_x(plot, value) - screen_x(window.series.plot, value)) <= 1


def test_the_series_pane_gets_its_share_on_a_second_launch(qtbot, qapp, sample_region,
                                                            tmp_path, monkeypatch):
    # a returning user's window state (docks) lays the splitter out while the pane is
    # still empty (its plot comes after the first map frame): the pane got width 0, and a
    # pane left at width 0 stays collapsed, so the plot did not show (seen in a screenshot)
    from desktop_app.gui.main_window import MainWindow
    from desktop_app.gui.region_view import RegionView
    from tests.gui.conftest import close_window

    monkeypatch.setenv("MICROCLIMATE_HOME", str(tmp_path / "home"))
    for launch in ("first", "second"):  # the first saves its window state on close
        win = MainWindow(RegionView(sample_region))
        try:
            win.show()
            qtbot.waitUntil(lambda w=win: "series" in vars(w), timeout=20000)
            left, pane = win.splitter.sizes()
            assert pane > 0.3 * (left + pane), (launch, left, pane)
            qtbot.waitUntil(win.series.isVisible, timeout=5000)
            assert win.series.width() > 100
        finally:
            close_window(win, qapp)


def test_the_window_opens_with_its_first_station_ringed_drawing_the_stations_once(
        qtbot, qapp, sample_region, tmp_path, monkeypatch):
    from desktop_app.gui.main_window import MainWindow
    from desktop_app.gui.region_view import RegionView
    from desktop_app.viz.map_model.layers import StationsLayer
    from tests.gui.conftest import close_window

    monkeypatch.setenv("MICROCLIMATE_HOME", str(tmp_path / "home"))
    changes = []
    changed = StationsLayer.changed
    monkeypatch.setattr(StationsLayer, "changed",
                        lambda self: (changes.append(self.selected), changed(self)))
    win = MainWindow(RegionView(sample_region))
    try:
        assert changes == [0]  # one rebuild of the station overlay, already selected
        assert win.selected_station == 0 and win.map_model.stations.selected == 0
        win.show()
        qtbot.waitUntil(lambda: "series" in vars(win), timeout=20000)
        assert str(sample_region.stations.station_id.values[0]) in win.series.title.text()
    finally:
        close_window(win, qapp)
