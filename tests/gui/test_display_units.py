"""The View menu's display switches, driven in the real window and read off the screen:
units (°C→°F, m/s→kt) change the colorbar, the hover readout and the series; the time
zone changes the time label; the stepped palette changes the map's pixels."""

from __future__ import annotations

import datetime as dt
import re
import time

import numpy as np
import pytest

from tests.gui.helpers import canvas_image
from tests.gui.test_main_window import CELLS, _pixel_of_cell, _unshaded

pytestmark = pytest.mark.gui


def _ticks(window) -> list[float]:
    return [float(t.replace("−", "-")) for t in window.map.colorbar.tick_labels.text]


def _hover_value(window, i, j, unit):
    text = window.hover_text(i, j)
    return float(re.search(rf"(-?\d+\.\d) {re.escape(unit)}$", text).group(1))


def _select(window, variable):
    window.variable_box.setCurrentIndex(window.variable_box.findData(variable))
    assert window.variable == variable


def test_temperature_and_wind_units_switch_what_is_on_screen(window, qtbot):
    field = window.current_field()
    i, j = CELLS[1]
    bar = window.map.colorbar
    assert bar.label.text.endswith("(°C)")
    celsius = _hover_value(window, i, j, "°C")
    assert celsius == pytest.approx(float(field[i, j]), abs=0.05)
    c_ticks = _ticks(window)
    c_series = window.series.curve_data("coarse (bilinear)")[1].copy()

    with qtbot.waitSignal(window.map.drawn, timeout=5000):
        window.map_actions["temperature_unit:°F"].trigger()
    assert bar.label.text == "2 m air temperature (°F)"
    assert window.display_settings.temperature_unit == "°F"
    assert _hover_value(window, i, j, "°F") == pytest.approx(
        float(field[i, j]) * 9 / 5 + 32, abs=0.05)
    f_ticks = _ticks(window)
    # round numbers of °F spanning the data, not the °C ticks converted (5 °C steps
    # would read 41, 50, 59 ...)
    values = window.view.field["temperature"].values * 9 / 5 + 32
    assert f_ticks[0] <= np.nanmin(values) and f_ticks[-1] >= np.nanmax(values)
    assert f_ticks != [c * 9 / 5 + 32 for c in c_ticks]
    assert all(t % 5 == 0 for t in f_ticks)
    np.testing.assert_allclose(window.series.curve_data("coarse (bilinear)")[1],
                               c_series * 9 / 5 + 32, rtol=1e-5)

    _select(window, "wind_speed")
    wind = window.current_field()
    assert bar.label.text.endswith("(m/s)")
    ms = _hover_value(window, i, j, "m/s")
    with qtbot.waitSignal(window.map.drawn, timeout=5000):
        window.map_actions["wind_unit:kt"].trigger()
    assert bar.label.text.endswith("(kt)")
    kt = _hover_value(window, i, j, "kt")
    assert kt == pytest.approx(float(wind[i, j]) * 3600 / 1852, abs=0.05)
    assert kt == pytest.approx(ms * 3600 / 1852, abs=0.1)


def test_time_zone_switch_changes_the_time_label(window, qtbot, monkeypatch):
    monkeypatch.setenv("TZ", "America/Denver")  # a zone with a known offset from UTC
    time.tzset()
    try:
        window.time_slider.setValue(5)
        utc_text = window.time_label.text()
        assert utc_text.endswith(" UTC")
        utc = dt.datetime.strptime(utc_text[:-4], "%Y-%m-%d %H:%M").replace(tzinfo=dt.UTC)
        window.map_actions["time_zone:local"].trigger()
        local_text = window.time_label.text()
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d M[SD]T", local_text), local_text
        local = dt.datetime.strptime(local_text[:16], "%Y-%m-%d %H:%M")
        offset = -7 if local_text.endswith("MST") else -6
        assert local == (utc + dt.timedelta(hours=offset)).replace(tzinfo=None)
        assert local_text[-3:] in window.hover_text(*CELLS[0])  # the readout follows
        window.map_actions["time_zone:UTC"].trigger()
        assert window.time_label.text() == utc_text
    finally:
        monkeypatch.undo()
        time.tzset()


def test_stepped_palette_changes_the_map_pixels(window, qtbot):
    _unshaded(window, qtbot)
    field = window.current_field()
    x0, y0 = _pixel_of_cell(window, 0, 0)
    x1, y1 = _pixel_of_cell(window, field.shape[0] - 1, field.shape[1] - 1)
    smooth = canvas_image(window)[y1:y0, x0:x1].reshape(-1, 3)
    with qtbot.waitSignal(window.map.drawn, timeout=5000):
        window.map_actions["stepped"].trigger()
    qtbot.wait(50)
    steps = window.map_model.field.scale.steps
    assert steps is not None and steps >= 2
    stepped = canvas_image(window)[y1:y0, x0:x1].reshape(-1, 3)
    assert (np.abs(stepped.astype(int) - smooth.astype(int)).max(axis=1) > 8).mean() > 0.2
    # bands: the field now shows about as many colours as the palette has steps (a few
    # more where linear interpolation blends two bands at a boundary pixel)
    assert len(np.unique(smooth, axis=0)) > 100
    colours, counts = np.unique(stepped, axis=0, return_counts=True)
    assert counts[counts.argsort()[::-1][:steps]].sum() > 0.9 * len(stepped)
