"""Linked time series: one station's observations, the field at that station, flags."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from pyqtgraph.graphicsItems.DateAxisItem import adjustTimestampToPreferredUtcOffset
from PySide6 import QtCore, QtWidgets

pg.setConfigOptions(antialias=True, background="#20242a", foreground="#d0d4da")


AXIS_WIDTH = 64


class DayTimeAxis(pg.DateAxisItem):
    """pyqtgraph's date axis, but day ticks read "15 Jul" (not a bare "15") and hour
    ticks at midnight name the day, so a multi-day series says which days it shows.

    ``utcOffset`` 0 is UTC; None is the machine's local time with the offset of each
    tick's own instant (pyqtgraph places the ticks on local hours and midnights across a
    daylight-saving change: 06:00 stays 06:00 when the clocks move)."""

    def tickStrings(self, values: list[float], scale: float,  # noqa: N802 - Qt's name
                    spacing: float) -> list[str]:
        import datetime as dt

        if spacing < 3600 or spacing >= 28 * 86400:
            return list(super().tickStrings(values, scale, spacing))
        out = []
        for v in values:
            t = dt.datetime.fromtimestamp(adjustTimestampToPreferredUtcOffset(
                v, self.utcOffset), dt.UTC)  # the local wall clock, read as if UTC
            midnight = t.hour == 0 and t.minute == 0
            out.append(t.strftime("%d %b") if spacing >= 86400 or midnight
                       else t.strftime("%H:%M"))
        return out


@dataclass(frozen=True)
class Series:
    name: str
    values: np.ndarray
    color: str
    dashed: bool = False
    symbols: bool = False


def to_epoch_seconds(times: np.ndarray) -> np.ndarray:
    """UTC datetime64 -> float seconds since 1970 (pyqtgraph's DateAxisItem unit)."""
    return np.asarray(times, dtype="datetime64[ns]").astype(np.int64) / 1e9


class TimeSeriesPlot(QtWidgets.QWidget):
    """A titled pyqtgraph plot with a UTC date axis and a cursor synced to the map time."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.title = QtWidgets.QLabel("No station selected")
        self.title.setObjectName("seriesTitle")
        layout.addWidget(self.title)
        self._utc_offset: int | None = 0  # the axes' DayTimeAxis.utcOffset (0: UTC)
        self.plot = pg.PlotWidget(axisItems={"bottom": DayTimeAxis(utcOffset=0)})
        self.plot.showGrid(x=True, y=True, alpha=0.25)
        self.plot.addLegend(offset=(8, 8))
        self.plot.setLabel("bottom", "time (UTC)")
        self.plot.getAxis("left").setWidth(AXIS_WIDTH)
        layout.addWidget(self.plot)
        self.time_cursor = pg.InfiniteLine(angle=90, movable=False,
                                           pen=pg.mkPen("#ffcc33", width=1))
        self.plot.addItem(self.time_cursor, ignoreBounds=True)
        self._curves: dict[str, pg.PlotDataItem] = {}
        self._layout = layout
        self.context: list[tuple[pg.PlotWidget, pg.InfiniteLine]] = []
        self.flagged = pg.ScatterPlotItem(size=11, pen=pg.mkPen("#ff3030", width=2),
                                          brush=None, symbol="o", name="QC flagged")

    def set_series(self, title: str, times: np.ndarray, series: list[Series],
                   units: str, flagged: np.ndarray | None = None) -> None:
        """Replace the plotted series; ``flagged`` marks points QC did not pass."""
        self.title.setText(title)
        self.plot.clear()
        legend = self.plot.plotItem.legend
        if legend is not None:
            legend.clear()
        self.plot.addItem(self.time_cursor, ignoreBounds=True)
        self._curves.clear()
        x = to_epoch_seconds(times)
        for s in series:
            style = QtCore.Qt.PenStyle.DashLine if s.dashed else QtCore.Qt.PenStyle.SolidLine
            curve = self.plot.plot(
                x, np.asarray(s.values, float), name=s.name, connect="finite",
                pen=pg.mkPen(s.color, width=2, style=style),
                symbol="o" if s.symbols else None, symbolSize=4, symbolBrush=s.color,
                symbolPen=None,
            )
            self._curves[s.name] = curve
        if flagged is not None and len(series) and np.any(flagged):
            y = np.asarray(series[0].values, float)
            self.flagged.setData(x[flagged], y[flagged])
            self.plot.addItem(self.flagged)
        self.plot.setLabel("left", units)
        self.plot.getAxis("left").setStyle(showValues=True)
        self.plot.enableAutoRange()

    def set_context(self, times: np.ndarray,
                    panels: list[tuple[str, list[Series]]]) -> None:
        """Smaller plots of other variables below the main one, on the same time axis
        (panning or zooming time in one moves all of them). Plots are reused, never
        deleted: destroying pyqtgraph widgets while Python still holds them is unsafe."""
        while len(self.context) < len(panels):
            plot = pg.PlotWidget(axisItems={"bottom": DayTimeAxis(utcOffset=self._utc_offset)})
            plot.setMaximumHeight(150)
            plot.showGrid(x=True, y=True, alpha=0.25)
            plot.getAxis("left").setWidth(AXIS_WIDTH)  # same width: times line up
            plot.setXLink(self.plot)
            cursor = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen("#ffcc33", width=1))
            self._layout.addWidget(plot)
            self.context.append((plot, cursor))
        x = to_epoch_seconds(times)
        for k, (plot, cursor) in enumerate(self.context):
            plot.clear()
            if k >= len(panels):
                plot.hide()
                continue
            label, series = panels[k]
            name, _, units = label.rpartition(" (")
            plot.setTitle(name or label, size="8pt")
            plot.setLabel("left", units.rstrip(")") if name else "")
            for s in series:
                style = QtCore.Qt.PenStyle.DashLine if s.dashed else QtCore.Qt.PenStyle.SolidLine
                plot.plot(x, np.asarray(s.values, float), connect="finite",
                          pen=pg.mkPen(s.color, width=1.5, style=style))
            cursor.setValue(self.time_cursor.value())
            plot.addItem(cursor, ignoreBounds=True)
            plot.show()

    def show_empty(self, times: np.ndarray, title: str) -> None:
        """No station to show: an empty plot over the region's valid times, so the axis
        reads dates (left alone it spans 0..1 s of 1970 and shows "00.250" ticks)."""
        self.title.setText(title)
        self.plot.clear()
        legend = self.plot.plotItem.legend
        if legend is not None:
            legend.clear()
        self._curves.clear()
        self.set_context(times, [])
        self.plot.addItem(self.time_cursor, ignoreBounds=True)
        x = to_epoch_seconds(times)
        if x.size:
            self.plot.setXRange(float(x[0]), float(x[-1]), padding=0.02)
        self.plot.setLabel("left", "")
        self.plot.getAxis("left").setStyle(showValues=False)  # no data: no value scale

    @property
    def visible_context(self) -> list[tuple[pg.PlotWidget, pg.InfiniteLine]]:
        return [(p, c) for p, c in self.context if not p.isHidden()]

    def curve_data(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """The (x, y) arrays a named curve currently draws."""
        x, y = self._curves[name].getData()
        return np.asarray(x), np.asarray(y)

    def set_time_zone(self, time_zone: str) -> None:
        """Label the time axes in UTC or the machine's local time (data stay UTC). Local
        time takes each tick's own offset (None), not today's: a fixed offset put every
        tick on the other side of a daylight-saving change an hour off."""
        offset = 0 if time_zone == "UTC" else None
        self._utc_offset = offset  # for context plots made later too
        plots = [self.plot, *(p for p, _ in self.context)]
        for plot in plots:
            axis = plot.getAxis("bottom")
            if isinstance(axis, pg.DateAxisItem):
                axis.utcOffset = offset
                axis.picture = None
                axis.update()
        self.plot.setLabel("bottom", "time (UTC)" if time_zone == "UTC" else "time (local)")

    def set_cursor(self, time: np.datetime64) -> None:
        value = float(to_epoch_seconds(np.array([time]))[0])
        self.time_cursor.setValue(value)
        for _, cursor in self.context:
            cursor.setValue(value)
