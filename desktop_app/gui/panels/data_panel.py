"""Data ("Get data"): fetch Open-Meteo, ERA5 files or a station file into a CF NetCDF,
in the background with progress and cancel; work offline from the cache."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import xarray as xr
from PySide6 import QtWidgets

from desktop_app.core.grid import BBox
from desktop_app.core.variables import get_variable
from desktop_app.errors import CancelledError, MicroclimateError
from desktop_app.gui.widgets import add_rows, day_range_edits
from desktop_app.settings import Settings, load_settings, save_settings
from desktop_app.sources.cache import RequestCache
from desktop_app.sources.context import FetchContext
from desktop_app.sources.era5_files import Era5FileFetch
from desktop_app.sources.openmeteo import OpenMeteoFetch
from desktop_app.sources.output import write_netcdf
from desktop_app.sources.providers import PROVIDERS, fetch_notes, run_fetch
from desktop_app.sources.station_formats import StationFileFetch, formats_without_mapping

if TYPE_CHECKING:
    from desktop_app.gui.main_window import MainWindow

TASK = "Get data"
# The entries this form can fill in, per provider request type (None: the provider's own
# title). The source list is the registry's providers that have a form here, in the
# registry's order; one that needs more than this form asks (the CDS key) is not offered.
FORMS: dict[type, tuple[tuple[str, str | None], ...]] = {
    OpenMeteoFetch: (("openmeteo", "Open-Meteo forecast"),
                     ("archive", "Open-Meteo archive (ERA5-based)")),
    Era5FileFetch: (("era5", None),),
    StationFileFetch: (("stations", "Station file (" + " / ".join(
        f.name.upper() for f in formats_without_mapping()) + ")"),),
}


def offered_sources() -> dict[str, str]:
    """key -> label of the sources the panel offers (registered and with a form)."""
    return {key: label or provider.title
            for kind, provider in PROVIDERS.items() if kind in FORMS
            for key, label in FORMS[kind]}

VARIABLES = ("temperature", "relative_humidity", "surface_pressure", "wind_speed",
             "precipitation")


class DataPanel(QtWidgets.QWidget):
    def __init__(self, window: MainWindow) -> None:
        super().__init__()
        self.window_ = window
        # Tests (and a self-hosted setup) can supply the HTTP client and cache to use.
        self.context_factory: Callable[[Settings], FetchContext] = (
            lambda settings: FetchContext(settings=settings))
        form = QtWidgets.QFormLayout(self)
        self.source_box = QtWidgets.QComboBox()
        for key, text in offered_sources().items():
            self.source_box.addItem(text, key)
        self.where_box = QtWidgets.QComboBox()
        self.where_box.addItem("at the region's stations", "stations")
        self.where_box.addItem("on a grid over the box", "grid")
        self.bbox_edit = QtWidgets.QLineEdit()
        self.bbox_edit.setToolTip("south,west,north,east in degrees; Shift+drag on the map")
        self.resolution = QtWidgets.QDoubleSpinBox()
        self.resolution.setRange(0.01, 1.0)
        self.resolution.setSingleStep(0.05)
        self.resolution.setValue(0.1)
        self.resolution.setSuffix("°")
        self.start, self.end = day_range_edits()
        self.var_boxes = {name: QtWidgets.QCheckBox(get_variable(name).long_name)
                          for name in VARIABLES}
        for name in ("temperature", "relative_humidity"):
            self.var_boxes[name].setChecked(True)
        variables = QtWidgets.QVBoxLayout()
        for box in self.var_boxes.values():
            variables.addWidget(box)
        self.file_edit = QtWidgets.QLineEdit()
        browse = QtWidgets.QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        file_row = QtWidgets.QHBoxLayout()
        file_row.addWidget(self.file_edit, 1)
        file_row.addWidget(browse)
        self.format_box = QtWidgets.QComboBox()
        for fmt in formats_without_mapping():
            self.format_box.addItem(fmt.description, fmt.name)
        self.offline_box = QtWidgets.QCheckBox("Work offline (cache only)")
        self.refresh_box = QtWidgets.QCheckBox("Refresh (ask the server again)")
        self.refresh_box.setToolTip("Ignore cached answers, even ones still fresh")
        self.cache_label = QtWidgets.QLabel()
        self.fetch_button = QtWidgets.QPushButton("Get data…")
        self.result_label = QtWidgets.QLabel()
        self.result_label.setWordWrap(True)
        add_rows(form, [
            ("Source", self.source_box),
            ("Where", self.where_box),
            ("Box", self.bbox_edit),
            ("Grid step", self.resolution),
            ("From", self.start),
            ("To", self.end),
            ("Variables", variables),
            ("File", file_row),
            ("Format", self.format_box),
            self.offline_box,
            self.refresh_box,
            ("Cache", self.cache_label),
            self.fetch_button,
            self.result_label,
        ])
        self.offline_box.setChecked(self._settings().offline)
        self.offline_box.toggled.connect(self._set_offline)
        self.fetch_button.clicked.connect(self._ask_fetch)
        window.map.bbox_drawn.connect(self.set_bbox)
        window.tasks.finished.connect(self._on_done)
        self.set_bbox(*_bbox_tuple(window.view.region.bbox))
        self.refresh_cache()

    # -- state ------------------------------------------------------------------------
    def _settings(self) -> Settings:
        try:
            return load_settings()
        except MicroclimateError as exc:
            self.result_label.setText(f"settings: {exc}")
            return Settings()

    def _set_offline(self, on: bool) -> None:
        settings = self._settings()
        settings.offline = on
        save_settings(settings)
        self.refresh_cache()

    def refresh_cache(self) -> None:
        settings = self._settings()
        used = RequestCache(max_bytes=settings.cache_max_mb * 2**20).total_bytes() / 2**20
        badge = " · OFFLINE" if settings.offline else ""
        self.cache_label.setText(f"{used:.1f} MB of {settings.cache_max_mb} MB{badge}")

    def set_bbox(self, south: float, west: float, north: float, east: float) -> None:
        self.bbox_edit.setText(f"{south:.4f},{west:.4f},{north:.4f},{east:.4f}")

    def _browse(self) -> None:
        names, _ = QtWidgets.QFileDialog.getOpenFileNames(self, "Data file(s)")
        if names:
            self.file_edit.setText("; ".join(names))

    # -- fetching ---------------------------------------------------------------------
    def request(self) -> OpenMeteoFetch | Era5FileFetch | StationFileFetch:
        """The fetch the form describes; a MicroclimateError names what is wrong."""
        source = self.source_box.currentData()
        if source in ("era5", "stations"):
            # several files (ERA5 months/levels, one SMET per station) separated by ';'
            paths = [Path(p.strip()) for p in self.file_edit.text().split(";") if p.strip()]
            if not paths:
                raise MicroclimateError("choose a file to read first")
            if source == "era5":
                return Era5FileFetch(paths=tuple(paths))
            return StationFileFetch(path=paths[0], format=str(self.format_box.currentData()),
                                    more=tuple(paths[1:]))
        variables = tuple(n for n, b in self.var_boxes.items() if b.isChecked())
        if not variables:
            raise MicroclimateError("tick at least one variable")
        start = dt.date.fromisoformat(self.start.date().toString("yyyy-MM-dd"))
        end = dt.date.fromisoformat(self.end.date().toString("yyyy-MM-dd"))
        if end < start:
            raise MicroclimateError(f"the end date {end} is before the start date {start}")
        common: dict[str, Any] = dict(variables=variables, start=start, end=end,
                                      archive=source == "archive")
        if self.where_box.currentData() == "grid":
            return OpenMeteoFetch(bbox=BBox.parse(self.bbox_edit.text()),
                                  grid_resolution=self.resolution.value(), **common)
        st = self.window_.view.stations
        if st is None:
            raise MicroclimateError("this region has no stations: fetch on a grid instead")
        return OpenMeteoFetch(latitudes=tuple(float(v) for v in st["latitude"].values),
                              longitudes=tuple(float(v) for v in st["longitude"].values),
                              **common)

    def _ask_fetch(self) -> None:
        name, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Save fetched data", "",
                                                        "NetCDF (*.nc)")
        if name:
            self.fetch(Path(name))

    def fetch(self, out: Path) -> bool:
        try:
            request = self.request()
        except MicroclimateError as exc:
            self.result_label.setText(f"Cannot fetch: {exc}")
            return False
        context = self.context_factory(self._settings())
        context.refresh = self.refresh_box.isChecked()

        def job(progress: Any, cancel: threading.Event) -> tuple[Path, str, list[str]]:
            ds = run_fetch(request, context=context, progress=progress, cancel=cancel)
            if cancel.is_set():  # cancelled while the last answer was on its way
                raise CancelledError("fetch cancelled: nothing written")
            write_netcdf(ds, out)
            return out, describe(ds), fetch_notes(ds)

        self.result_label.setText("Fetching…")
        return self.window_.tasks.start(TASK, job)

    def _on_done(self, name: str, result: object) -> None:
        if name != TASK:
            return
        assert isinstance(result, tuple)
        out, summary, notes = str(result[0]), str(result[1]), list(result[2])
        self.result_label.setText(f"Wrote {out}: {summary}" + "".join(
            f"\n{line}" for line in notes))
        if notes:  # stale data or a stand-in orography: the status bar says so too
            self.window_.statusBar().showMessage(" · ".join(notes))
        self.refresh_cache()


def describe(ds: xr.Dataset) -> str:
    dims = ", ".join(f"{k} {v}" for k, v in ds.sizes.items())
    names = ", ".join(str(v) for v in ds.data_vars)
    return f"{names} ({dims})"


def _bbox_tuple(box: BBox) -> tuple[float, float, float, float]:
    return box.south, box.west, box.north, box.east
