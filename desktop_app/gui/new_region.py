"""File ▸ New region: a box (typed, or Shift+drag on the map), a resolution, DEM files
or the elevation service, a background; built in a worker with progress and Cancel,
then the window shows the new region."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6 import QtWidgets

from desktop_app import paths
from desktop_app.errors import MicroclimateError
from desktop_app.gui.region_view import RegionView
from desktop_app.gui.widgets import NEW_REGION_TASK, day_range_edits
from desktop_app.settings import Settings, load_settings
from desktop_app.sources.context import FetchContext
from desktop_app.sources.region import load_region
from desktop_app.sources.region_build import (
    RESOLUTIONS,
    RegionRequest,
    build_region,
    parse_region_box,
    target_folder,
)

if TYPE_CHECKING:
    from desktop_app.gui.main_window import MainWindow

__all__ = ["NEW_REGION_TASK", "NewRegionDialog"]

BACKGROUNDS = {"none": "None (terrain only)", "era5": "ERA5 files",
               "openmeteo": "Open-Meteo (fetch)"}


class NewRegionDialog(QtWidgets.QDialog):
    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window_ = window
        self.setWindowTitle("New region")
        # Tests (and a self-hosted setup) can supply the HTTP client and cache to use.
        self.context_factory: Callable[[Settings], FetchContext] = (
            lambda settings: FetchContext(settings=settings))
        self.name_edit = QtWidgets.QLineEdit()
        self.bbox_edit = QtWidgets.QLineEdit()
        self.bbox_edit.setPlaceholderText("south,west,north,east — or Shift+drag on the map")
        self.resolution_box = QtWidgets.QComboBox()
        for key in RESOLUTIONS:
            self.resolution_box.addItem(key, key)
        self.dem_files = QtWidgets.QRadioButton("DEM file(s)")
        self.dem_files.setChecked(True)
        self.dem_service = QtWidgets.QRadioButton("Elevation service (Open-Meteo)")
        self.dem_edit = QtWidgets.QLineEdit()
        self.dem_edit.setToolTip("GeoTIFF, ESRI ASCII grid or NetCDF; several tiles: "
                                 "separate with ';'")
        self.crs_edit = QtWidgets.QLineEdit()
        self.crs_edit.setPlaceholderText("only for files without a CRS, e.g. EPSG:21781")
        self.background_box = QtWidgets.QComboBox()
        for key, text in BACKGROUNDS.items():
            self.background_box.addItem(text, key)
        self.era5_edit = QtWidgets.QLineEdit()
        self.era5_edit.setToolTip("ERA5 NetCDF/GRIB files with orography z; separate with ';'")
        self.start, self.end = day_range_edits()
        self.folder_label = QtWidgets.QLabel()
        self.folder_label.setWordWrap(True)
        self.message = QtWidgets.QLabel()
        self.message.setWordWrap(True)
        self.create_button = QtWidgets.QPushButton("Create")
        self.create_button.setDefault(True)
        close = QtWidgets.QPushButton("Close")

        form = QtWidgets.QFormLayout(self)
        form.addRow("Name", self.name_edit)
        form.addRow("Box", self.bbox_edit)
        form.addRow("Resolution", self.resolution_box)
        form.addRow("Terrain", self.dem_files)
        form.addRow("", _with_browse(self.dem_edit, self._browse_dem))
        form.addRow("DEM CRS", self.crs_edit)
        form.addRow("", self.dem_service)
        form.addRow("Background", self.background_box)
        form.addRow("ERA5 files", _with_browse(self.era5_edit, self._browse_era5))
        form.addRow("From (Open-Meteo)", self.start)
        form.addRow("To (Open-Meteo)", self.end)
        form.addRow("Folder", self.folder_label)
        buttons = QtWidgets.QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.create_button)
        buttons.addWidget(close)
        form.addRow(buttons)
        form.addRow(self.message)

        self.name_edit.textChanged.connect(self._show_folder)
        self.create_button.clicked.connect(self.start_create)
        close.clicked.connect(self.hide)
        window.map.bbox_drawn.connect(self.set_bbox)
        window.tasks.finished.connect(self._on_done)
        window.tasks.failed.connect(self._on_stopped)
        window.tasks.cancelled.connect(lambda name: self._on_stopped(name, "cancelled"))
        self._show_folder()

    def set_bbox(self, south: float, west: float, north: float, east: float) -> None:
        self.bbox_edit.setText(f"{south:.4f},{west:.4f},{north:.4f},{east:.4f}")

    def _show_folder(self) -> None:
        name = self.name_edit.text().strip() or "NAME"
        self.folder_label.setText(str(paths.regions_dir() / name))

    def _browse_dem(self) -> None:
        names, _ = QtWidgets.QFileDialog.getOpenFileNames(
            self, "DEM file(s)", "", "DEM (*.tif *.tiff *.asc *.nc);;All files (*)")
        if names:
            self.dem_edit.setText(";".join(names))

    def _browse_era5(self) -> None:
        names, _ = QtWidgets.QFileDialog.getOpenFileNames(
            self, "ERA5 file(s)", "", "ERA5 (*.nc *.grib *.grb *.zip);;All files (*)")
        if names:
            self.era5_edit.setText(";".join(names))

    def request(self) -> RegionRequest:
        """The region the form describes; a MicroclimateError names what is wrong."""
        name = self.name_edit.text().strip()
        if not name:
            raise MicroclimateError("give the region a name")
        background = self.background_box.currentData()
        dem = _paths(self.dem_edit.text()) if self.dem_files.isChecked() else ()
        if self.dem_files.isChecked() and not dem:
            raise MicroclimateError("choose DEM file(s) or the elevation service")
        era5 = _paths(self.era5_edit.text()) if background == "era5" else ()
        if background == "era5" and not era5:
            raise MicroclimateError("choose the ERA5 file(s) for the background")
        start = end = None
        if background == "openmeteo":
            start = dt.date.fromisoformat(self.start.date().toString("yyyy-MM-dd"))
            end = dt.date.fromisoformat(self.end.date().toString("yyyy-MM-dd"))
        request = RegionRequest(
            name=name, bbox=parse_region_box(self.bbox_edit.text()),
            resolution_m=RESOLUTIONS[str(self.resolution_box.currentData())],
            dem_paths=dem, dem_crs=self.crs_edit.text().strip() or None,
            elevation_service=self.dem_service.isChecked(), era5_paths=era5,
            openmeteo_background=background == "openmeteo", start=start, end=end,
            context=self.context_factory(_settings()))
        request.check()
        return request

    def start_create(self) -> bool:
        try:
            request = self.request()
            folder = target_folder(request.name)
        except MicroclimateError as exc:
            self.message.setText(f"Cannot create: {exc}")
            return False

        def job(progress: Callable[[float, str], None], cancel: threading.Event) -> RegionView:
            build_region(request, folder, progress=lambda f, m: progress(0.9 * f, m),
                         cancel=cancel)
            progress(0.95, "opening the new region")
            return RegionView(load_region(folder))

        if not self.window_.tasks.start(NEW_REGION_TASK, job):
            self.message.setText("Another task is running; wait or cancel it first.")
            return False
        self.create_button.setEnabled(False)
        self.message.setText(f"Creating {folder}… (progress and Cancel in the status bar)")
        return True

    def _on_done(self, name: str, result: object) -> None:
        if name == NEW_REGION_TASK:
            self.create_button.setEnabled(True)
            self.message.setText("")
            self.hide()

    def _on_stopped(self, name: str, why: str) -> None:
        if name == NEW_REGION_TASK:
            self.create_button.setEnabled(True)
            self.message.setText(f"Not created: {why}")


def _paths(text: str) -> tuple[Path, ...]:
    return tuple(Path(p.strip()) for p in text.split(";") if p.strip())


def _settings() -> Settings:
    try:
        return load_settings()
    except MicroclimateError:
        return Settings()


def _with_browse(edit: QtWidgets.QLineEdit, browse: Callable[[], None]) -> QtWidgets.QWidget:
    row = QtWidgets.QWidget()
    layout = QtWidgets.QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(edit, 1)
    button = QtWidgets.QPushButton("Browse…")
    button.clicked.connect(browse)
    layout.addWidget(button)
    return row
