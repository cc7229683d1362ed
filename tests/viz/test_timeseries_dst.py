"""The series' time axis in local time across a real daylight-saving change: the UK
clocks went forward at 01:00 UTC on 31 March 2019 (GMT -> BST), inside the March 2019
ERA5 month of the fixtures. Ticks must sit on local hours and midnights on both sides
and read the local wall clock of their own instant, not today's offset."""

from __future__ import annotations

import datetime as dt
import time

import numpy as np
import pytest

from desktop_app.viz.timeseries import Series, TimeSeriesPlot

pytestmark = pytest.mark.gui

TIMES = np.arange(np.datetime64("2019-03-30T12:00"), np.datetime64("2019-04-01T00:00"),
                  np.timedelta64(1, "h")).astype("datetime64[ns]")


@pytest.fixture
def london(monkeypatch):
    monkeypatch.setenv("TZ", "Europe/London")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def _ticks(plot: TimeSeriesPlot, width_px: int) -> dict[str, list[tuple[str, str]]]:
    """(UTC time of the tick, its label) per tick level, as the axis would draw them."""
    axis = plot.plot.getAxis("bottom")
    lo, hi = plot.plot.viewRange()[0]
    out = {}
    for spacing, values in axis.tickValues(lo, hi, width_px):
        labels = axis.tickStrings(values, 1.0, spacing)
        out["day" if spacing >= 86400 else "hour"] = [
            (dt.datetime.fromtimestamp(v, dt.UTC).strftime("%d %H:%M"), s)
            for v, s in zip(values, labels, strict=True)]
    return out


def _plot(qtbot, zone: str) -> TimeSeriesPlot:
    plot = TimeSeriesPlot()
    qtbot.addWidget(plot)
    plot.resize(900, 400)
    plot.set_series("DST", TIMES, [Series("t", np.linspace(5, 10, TIMES.size), "#fff")], "°C")
    plot.set_time_zone(zone)
    plot.plot.setXRange(*(TIMES[[0, -1]].astype(np.int64) / 1e9), padding=0)
    plot.show()
    qtbot.waitExposed(plot)
    # the axis measures its labels (to choose a tick level) once it has been painted
    qtbot.waitUntil(lambda: hasattr(plot.plot.getAxis("bottom"), "fontMetrics"))
    return plot


def test_local_ticks_follow_the_clock_change(qtbot, london) -> None:
    ticks = _ticks(_plot(qtbot, "local"), 900)
    hours = dict(ticks["hour"])
    assert hours["30 18:00"] == "18:00"  # GMT: local = UTC
    assert hours["31 05:00"] == "06:00"  # BST: local = UTC + 1, still on the 6-h grid
    assert hours["31 11:00"] == "12:00"
    assert "31 06:00" not in hours  # (a fixed offset put a tick here, labelled 06:00 or 07:00)
    # local midnights: 00 UTC before the change, 23 UTC after it (a 23-hour day)
    assert ticks["day"] == [("31 00:00", "31 Mar"), ("31 23:00", "01 Apr")]


def test_utc_ticks_ignore_the_local_zone(qtbot, london) -> None:
    plot = _plot(qtbot, "UTC")
    ticks = _ticks(plot, 900)
    assert ("31 06:00", "06:00") in ticks["hour"]
    assert ticks["day"] == [("31 00:00", "31 Mar")]
    assert plot.plot.getAxis("bottom").labelText == "time (UTC)"
    plot.set_time_zone("local")
    assert plot.plot.getAxis("bottom").labelText == "time (local)"
    assert ("31 05:00", "06:00") in _ticks(plot, 900)["hour"]
