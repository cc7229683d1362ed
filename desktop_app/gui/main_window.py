"""The main window: map on the left, the selected station's time series on the right."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr
from PySide6 import QtCore, QtGui, QtWidgets

from desktop_app import __version__
from desktop_app.core.display import conversion, format_lat_lon, format_time
from desktop_app.core.variables import get_variable
from desktop_app.gui import window_state, workflow
from desktop_app.gui.about import add_help_menu
from desktop_app.gui.file_menu import add_file_menu, fill_recent_menu, load_view
from desktop_app.gui.map_menu import add_map_menu, display_units, load_display_settings
from desktop_app.gui.region_view import RegionView
from desktop_app.gui.widgets import NEW_REGION_TASK
from desktop_app.gui.workers import TaskRunner
from desktop_app.viz.hillshade import hillshade

if TYPE_CHECKING:
    from desktop_app.gui.new_region import NewRegionDialog
    from desktop_app.gui.panels.data_panel import DataPanel
    from desktop_app.gui.panels.forecast_panel import ForecastPanel
    from desktop_app.gui.panels.models_panel import ModelsPanel
    from desktop_app.gui.panels.qc_panel import QCPanel
    from desktop_app.gui.panels.training_panel import TrainingPanel
    from desktop_app.gui.panels.watch_panel import WatchPanel
    from desktop_app.viz.timeseries import TimeSeriesPlot
from desktop_app.viz.map_canvas import MapCanvas
from desktop_app.viz.map_model import MapModel
from desktop_app.viz.map_model.colour import prime_ranges

CMAP_CHOICES = ("coolwarm", "viridis", "RdBu", "GrBu", "hot", "ice", "grays")
SHADED_OPACITY = 0.8


class MainWindow(QtWidgets.QMainWindow):
    """Shows one region: a field on the map, a time slider, linked station series."""

    # built after the first map frame (gui.workflow): asking for one builds them all
    data_panel: DataPanel
    qc_panel: QCPanel
    forecast_panel: ForecastPanel
    models_panel: ModelsPanel
    training_panel: TrainingPanel
    watch_panel: WatchPanel
    # the series plot (pyqtgraph, ~0.5 s to import) is also built after the first frame
    series: TimeSeriesPlot
    _building_panels = False

    def __getattr__(self, name: str) -> Any:
        if name == "series":
            self._build_series()
            return vars(self)["series"]
        if name in workflow.ATTRIBUTES:
            workflow.build(self)
            return vars(self)[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __init__(self, view: RegionView) -> None:
        super().__init__()
        self.view = view
        self.selected_station: int | None = None
        self.resize(1600, 900)

        self.display_settings = load_display_settings()
        self.map_model = MapModel()
        self.variable_box = QtWidgets.QComboBox()
        self.time_slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.time_slider.setPageStep(6)
        self.time_label = QtWidgets.QLabel()
        self.time_label.setMinimumWidth(150)
        self.play_button = QtWidgets.QPushButton("Play")
        self.play_button.setCheckable(True)
        self.play_button.setToolTip("Animate through the valid times (Space)")
        self.play_button.setShortcut(QtGui.QKeySequence(QtCore.Qt.Key.Key_Space))
        self.play_timer = QtCore.QTimer(self)
        self.play_timer.setInterval(250)
        self.cmap_box = QtWidgets.QComboBox()
        for name in CMAP_CHOICES:
            self.cmap_box.addItem(name)
        self.layer_box = QtWidgets.QComboBox()
        self.layer_box.setToolTip("Which field the map shows")
        for box in (self.layer_box, self.variable_box, self.cmap_box):
            box.setSizeAdjustPolicy(QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.shading_box = QtWidgets.QCheckBox("Terrain shading")
        self.shading_box.setChecked(True)
        self.shading_box.setToolTip("Show the hillshade through the field (80% opacity)")

        self.provenance = QtWidgets.QLabel()
        self.provenance.setObjectName("provenance")
        self.provenance.setWordWrap(True)

        self.map = MapCanvas(self.map_model)
        # holds the series plot once it is built; until then it is an empty pane
        self.series_pane = QtWidgets.QWidget()
        QtWidgets.QVBoxLayout(self.series_pane).setContentsMargins(0, 0, 0, 0)

        # two rows, so no box is cut short in a narrow map pane ("2 m air t")
        top = QtWidgets.QGridLayout()
        top.addWidget(QtWidgets.QLabel("Field"), 0, 0)
        top.addWidget(self.layer_box, 0, 1)
        top.addWidget(QtWidgets.QLabel("Variable"), 0, 2)
        top.addWidget(self.variable_box, 0, 3)
        top.addWidget(QtWidgets.QLabel("Colormap"), 1, 0)
        top.addWidget(self.cmap_box, 1, 1)
        top.addWidget(self.shading_box, 1, 2, 1, 2)
        top.setColumnStretch(4, 1)
        controls = QtWidgets.QHBoxLayout()
        controls.addWidget(self.play_button)
        controls.addWidget(QtWidgets.QLabel("Valid time"))
        controls.addWidget(self.time_slider, 1)
        controls.addWidget(self.time_label)

        left = QtWidgets.QWidget()
        left_layout = QtWidgets.QVBoxLayout(left)
        left_layout.setContentsMargins(6, 6, 6, 6)
        left_layout.addWidget(self.provenance)
        left_layout.addLayout(top)
        left_layout.addWidget(self.map.widget, 1)
        left_layout.addLayout(controls)

        self.splitter = splitter = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(self.series_pane)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        self.setCentralWidget(splitter)

        self.hover_label = QtWidgets.QLabel("Move the cursor over the map")
        self.hover_label.setObjectName("hoverLabel")
        # long readouts must not resize the layout (the map would shift under the cursor)
        self.hover_label.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored,
                                       QtWidgets.QSizePolicy.Policy.Preferred)
        self.hover_label.setMinimumWidth(200)
        self.statusBar().addWidget(self.hover_label, 1)
        self.data_badge = QtWidgets.QLabel()
        self.data_badge.setStyleSheet("color: #ffb000; font-weight: bold;")
        self.statusBar().addPermanentWidget(self.data_badge)

        self.new_region_dialog: NewRegionDialog | None = None
        self.tasks = TaskRunner(self.statusBar())
        self.tasks.finished.connect(self._on_task_done)
        self._build_menus()
        self.layer_box.currentIndexChanged.connect(self._on_layer)
        self.panels = workflow.add_dock(self)
        # the map first: the panels are built once its first frame is on screen
        self.map.drawn.connect(self._build_panels_soon)
        add_help_menu(self)
        self.variable_box.currentIndexChanged.connect(self._on_variable)
        self.cmap_box.currentTextChanged.connect(self._on_cmap)
        self.shading_box.toggled.connect(self._on_shading)
        self.time_slider.valueChanged.connect(self._on_time)
        self.play_button.toggled.connect(self._on_play)
        self.play_timer.timeout.connect(self._step)
        self.map.hovered.connect(self._on_hover)
        self.map.station_clicked.connect(self.select_station)
        self._on_shading(self.shading_box.isChecked())
        self.set_view(view)
        window_state.restore(self)

    def _build_panels_soon(self) -> None:
        self.map.drawn.disconnect(self._build_panels_soon)
        QtCore.QTimer.singleShot(0, self._build_series)
        QtCore.QTimer.singleShot(0, lambda: workflow.build(self))

    def _series_plot(self) -> TimeSeriesPlot | None:
        """The series plot if it has been built (nothing to update before that)."""
        plot: TimeSeriesPlot | None = vars(self).get("series")
        return plot

    def _build_series(self) -> None:
        """Build the series plot and draw what the window shows now into it."""
        if self._series_plot() is not None:
            return
        from desktop_app.viz.timeseries import TimeSeriesPlot

        plot = TimeSeriesPlot()
        self.series = plot
        layout = self.series_pane.layout()
        assert layout is not None
        layout.addWidget(plot)
        sizes = self.splitter.sizes()
        if sizes[1] == 0 and sum(sizes) > 0:
            # the splitter was laid out while the pane was empty, and a pane of width 0
            # stays collapsed: give it its share (3:2), or the plot would never show
            self.splitter.setSizes([sum(sizes) * 3 // 5, sum(sizes) - sum(sizes) * 3 // 5])
        plot.set_time_zone(self.display_settings.time_zone)
        self._draw_series()
        plot.set_cursor(self.view.times[self.time_index])

    def _build_menus(self) -> None:
        self.recent_menu = add_file_menu(self)
        view_menu = self.menuBar().addMenu("&View")
        for text, key, delta in (("Previous step", "Left", -1), ("Next step", "Right", 1),
                                 ("Back 6 h", "PgUp", -6), ("Forward 6 h", "PgDown", 6)):
            action = view_menu.addAction(text)
            action.setShortcut(QtGui.QKeySequence(key))
            action.triggered.connect(lambda _c=False, d=delta: self.step_time(d))
        self.map_actions = add_map_menu(self, view_menu)

    def apply_display_settings(self) -> None:
        """Units, time zone or palette changed: the map, readouts and series follow."""
        s = self.display_settings
        self.map_model.field.set_style(units=display_units(s), stepped=s.stepped_palette)
        plot = self._series_plot()
        if plot is not None:
            plot.set_time_zone(s.time_zone)
        self._on_time()
        self._draw_series()

    # -- region -----------------------------------------------------------------------
    def set_view(self, view: RegionView) -> None:
        """Show another region (everything region-specific is reset here)."""
        self.view = view
        # the first station is selected from the start: the map then draws its stations
        # once, not unselected and again selected (an overlay rebuild of 15-25 ms)
        has_stations = view.stations is not None and bool(view.stations.sizes["station"])
        self.selected_station = 0 if has_stations else None
        self.setWindowTitle(f"Microclimate Desk {__version__} — {view.region.name}")
        self.provenance.setText(self._provenance_text())
        self.data_badge.setText(
            "SAMPLE · synthetic weather on real terrain" if view.region.generated else "")
        previous = self.variable_box.currentData()
        self.variable_box.blockSignals(True)
        self.variable_box.clear()
        for name in view.variables:
            self.variable_box.addItem(get_variable(name).long_name, name)
        index = max(0, self.variable_box.findData(previous))
        self.variable_box.setCurrentIndex(index)
        self.variable_box.setMinimumWidth(self.variable_box.sizeHint().width())
        self.variable_box.blockSignals(False)
        self.time_slider.blockSignals(True)
        self.time_slider.setRange(0, view.times.size - 1)
        self.time_slider.setValue(0)
        self.time_slider.blockSignals(False)
        self.map_model.hillshade.set(hillshade(view.elevation, view.lat, view.lon),
                                     view.lat, view.lon)
        self.map_model.watch.set(np.zeros(0), np.zeros(0), [])  # a watch is per region
        self._fill_layers()
        self._on_variable()  # the field, the stations and the series

    def open_region(self, folder: Path) -> bool:
        """Load a region folder in the background; errors show a message."""
        return self.tasks.start("Open region", lambda progress, cancel: load_view(
            folder, progress, cancel))

    def show_new_region(self) -> NewRegionDialog:
        """File ▸ New region: the dialog (not modal, so a box can be drawn on the map)."""
        from desktop_app.gui.new_region import NewRegionDialog  # httpx, the providers

        if self.new_region_dialog is None:
            self.new_region_dialog = NewRegionDialog(self)
        self.new_region_dialog.show()
        self.new_region_dialog.raise_()
        return self.new_region_dialog

    def _on_task_done(self, name: str, result: object) -> None:
        if name in ("Open region", NEW_REGION_TASK) and isinstance(result, RegionView):
            self.set_view(result)
            if result.region.path is not None:
                window_state.remember_region(result.region.path)
                fill_recent_menu(self.recent_menu, self.open_region)

    def show_forecast(self, forecast: xr.Dataset) -> None:
        """A forecast for the shown region: keep it and switch the map to it."""
        self.view.set_forecast(forecast)
        self._fill_layers()
        self.provenance.setText(self._provenance_text())
        self._on_variable()

    def show_qc(self, stations: xr.Dataset) -> None:
        """Stations with QC flags: markers and series now show the flags."""
        self.view.set_stations(stations)
        self._draw_stations()
        self._draw_series()

    def show_observation(self, variable: str, station: int, t: int) -> None:
        index = self.variable_box.findData(variable)
        if index >= 0:
            self.variable_box.setCurrentIndex(index)
        self.time_slider.setValue(t)
        self.select_station(station)

    def _fill_layers(self) -> None:
        self.layer_box.blockSignals(True)
        self.layer_box.clear()
        for layer in self.view.available_layers():
            self.layer_box.addItem(self.view.layer_name(layer), layer)
        self.layer_box.setCurrentIndex(self.layer_box.findData(self.view.layer))
        self.layer_box.setMinimumWidth(self.layer_box.sizeHint().width())
        self.layer_box.blockSignals(False)

    def _on_layer(self) -> None:
        layer = self.layer_box.currentData()
        if layer and layer != self.view.layer:
            self.view.set_layer(str(layer))
            self.provenance.setText(self._provenance_text())
            self._on_variable()

    def step_time(self, delta: int) -> None:
        n = self.view.times.size
        self.time_slider.setValue(max(0, min(n - 1, self.time_index + delta)))

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:  # noqa: N802 - Qt's name
        self.play_timer.stop()
        self.tasks.cancel()
        if workflow.built(self):
            self.watch_panel.shutdown()
        window_state.save(self)
        super().closeEvent(event)

    # -- state ------------------------------------------------------------------------
    @property
    def variable(self) -> str:
        return str(self.variable_box.currentData())

    @property
    def time_index(self) -> int:
        return int(self.time_slider.value())

    def current_field(self) -> np.ndarray:
        """The (lat, lon) array the map shows right now."""
        return self.view.frame(self.variable, self.time_index)

    def _provenance_text(self) -> str:
        region = self.view.region
        attrs = self.view.field.attrs
        method = attrs.get("method") or (
            f"ran on {str(attrs['provider']).upper()}" if "provider" in attrs else "")
        text = f"<b>{region.name}</b> — field: {self.view.field_label}"
        if method:
            text += f" ({method})"
        note = self.view.step_note(self.time_index)
        if note:
            colour = "#7fd17f" if note == "this step: model" else "#ffb000"
            text += f" — <span style='color:{colour}'>{note}</span>"
        if region.generated:
            text += (" — <span style='color:#ffb000'>sample data: the weather "
                     f"({', '.join(region.generated)}) is synthetic, not a forecast</span>")
        return text

    # -- updates ----------------------------------------------------------------------
    def _on_variable(self) -> None:
        var = self.variable
        cmap = self.view.cmap_for(var)
        remembered = window_state.colormap_for(var)
        if not self.view.is_difference and remembered and self.cmap_box.findText(
                remembered) >= 0:
            cmap = remembered
        self.cmap_box.blockSignals(True)
        self.cmap_box.setCurrentText(cmap)
        self.cmap_box.blockSignals(False)
        s = self.display_settings
        field = self.map_model.field
        field.set_data(self.view.field[var].values, self.view.lat, self.view.lon, var,
                       difference=self.view.is_difference, t=self.time_index, cmap=cmap,
                       units=display_units(s), stepped=s.stepped_palette)
        # the other variables' colour ranges, worked out off the GUI thread: a switch
        # to one of them then costs no pass over a week of frames
        prime_ranges([self.view.field[v].values for v in self.view.variables if v != var])
        self._on_time()
        self._draw_series()

    def _on_cmap(self, name: str) -> None:
        self.map_model.field.set_style(cmap=name)
        if not self.view.is_difference:
            window_state.remember_colormap(self.variable, name)

    def _on_time(self) -> None:
        t = self.time_index
        self.map_model.field.set_time(t)
        self.time_label.setText(format_time(self.view.times[t], self.display_settings.time_zone))
        if self.view.forecast is not None:  # the guard's verdict can change per step
            self.provenance.setText(self._provenance_text())
        self._draw_stations()
        plot = self._series_plot()
        if plot is not None:  # the series themselves do not change
            plot.set_cursor(self.view.times[t])

    def _on_shading(self, on: bool) -> None:
        self.map_model.hillshade.set_visible(on)
        self.map_model.field.set_style(opacity=SHADED_OPACITY if on else 1.0)

    def _on_play(self, playing: bool) -> None:
        self.play_button.setText("Pause" if playing else "Play")
        if playing:
            self.play_timer.start()
        else:
            self.play_timer.stop()
            self._on_time()

    def _step(self) -> None:
        self.time_slider.setValue((self.time_index + 1) % self.view.times.size)

    def _draw_stations(self) -> None:
        st = self.view.stations
        if st is None:
            return
        names = st["station_name"].values if "station_name" in st.coords else st["station_id"]
        self.map_model.stations.set(st["latitude"].values, st["longitude"].values,
                                    self.view.station_flags(self.variable, self.time_index),
                                    [str(n) for n in np.asarray(names)], self.selected_station)

    def select_station(self, k: int) -> None:
        self.selected_station = k
        self._draw_stations()
        self._draw_series()

    def _draw_series(self) -> None:
        plot = self._series_plot()
        if plot is None:
            return  # drawn when it is built
        if self.selected_station is None:
            plot.show_empty(self.view.times, "No stations in this region")
            return
        from desktop_app.gui.station_series import show_station_series

        show_station_series(plot, self.view, self.selected_station, self.variable,
                            display_units(self.display_settings), self.time_index)

    def hover_text(self, i: int, j: int) -> str:
        var = get_variable(self.variable)
        conv = conversion(var.units, display_units(self.display_settings),
                          self.view.is_difference)
        value = float(conv(float(self.current_field()[i, j])))
        zone = self.display_settings.time_zone
        shown = "no data" if np.isnan(value) else f"{value:.1f} {conv.symbol}"
        return (f"{format_lat_lon(float(self.view.lat[i]), float(self.view.lon[j]))} · "
                f"elev {float(self.view.elevation[i, j]):.0f} m · "
                f"{format_time(self.view.times[self.time_index], zone)} · "
                f"{var.long_name} {shown}")

    def _on_hover(self, i: int, j: int) -> None:
        self.hover_label.setText(self.hover_text(i, j) if i >= 0 else "outside the grid")

