"""File > Export: the map as PNG, the shown field as CF NetCDF or GeoTIFF, the series as
CSV/PNG (and the time loop as GIF/MP4: :mod:`desktop_app.gui.animation_dialog`).

Every export is written atomically; a failure shows a message and leaves no file.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import xarray as xr
from PySide6 import QtWidgets

from desktop_app.errors import DataFileError
from desktop_app.fsutil import atomic_write_bytes
from desktop_app.sources.geotiff import write_geotiff
from desktop_app.sources.output import write_netcdf
from desktop_app.viz import export

if TYPE_CHECKING:
    from desktop_app.gui.main_window import MainWindow


def shown_field_dataset(window: MainWindow) -> xr.Dataset:
    """The field on screen (all valid times of the shown variable) with its provenance."""
    view, var = window.view, window.variable
    ds = view.field[[var, "elevation"]].copy()
    ds.attrs = {
        **view.field.attrs,
        "Conventions": "CF-1.8",
        "region": view.region.name,
        "layer": view.field_label,
        "attribution": "Terrain: SRTM (NASA/USGS)",
    }
    ds.attrs.setdefault("model_name", view.field_label)
    if view.region.generated:
        ds.attrs["generated_values"] = "yes"
        ds.attrs["attribution"] += "; weather: synthetic sample data"
    return ds


def export_map_png(window: MainWindow, path: Path, width: int = 1600, height: int = 1000,
                   dpi: int = 150) -> Path:
    spec = export.spec_from_dataset(
        shown_field_dataset(window), window.variable, window.time_index,
        cmap=window.cmap_box.currentText(), shading=window.shading_box.isChecked(),
        stations=_stations_with_flags(window),
    )
    return export.save_png(export.render_map(spec, width, height, dpi), path)


def _stations_with_flags(window: MainWindow) -> xr.Dataset | None:
    st = window.view.stations
    if st is None:
        return None
    flags = np.stack([window.view.station_flags(window.variable, t)
                      for t in range(window.view.times.size)], axis=1)
    return st.assign({f"{window.variable}_qc": (("station", "time"), flags)})


def export_field_netcdf(window: MainWindow, path: Path) -> Path:
    return write_netcdf(shown_field_dataset(window), Path(path), what="field export")


def export_step_geotiff(window: MainWindow, path: Path) -> Path:
    return write_geotiff(shown_field_dataset(window), window.variable, Path(path),
                         [window.time_index])


def export_all_steps_geotiff(window: MainWindow, path: Path) -> Path:
    return write_geotiff(shown_field_dataset(window), window.variable, Path(path))


def export_series_csv(window: MainWindow, path: Path) -> Path:
    if window.selected_station is None:
        raise DataFileError("select a station first: there is no series to export")
    s = window.view.station_series(window.selected_station, window.variable)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    var = window.variable
    writer.writerow(["time_utc", f"observed_{var}", f"forecast_{var}", f"baseline_{var}",
                     f"coarse_bilinear_{var}", "qc_flagged", "units"])
    missing = np.full(window.view.times.size, np.nan)
    observed = s.observed if s.observed is not None else missing
    forecast = s.forecast if s.forecast is not None else missing
    for k, t in enumerate(window.view.times):
        writer.writerow([np.datetime_as_string(t, unit="m") + "Z", _num(observed[k]),
                         _num(forecast[k]), _num(s.baseline[k]), _num(s.coarse[k]),
                         int(s.flagged[k]), s.units])
    atomic_write_bytes(Path(path), buf.getvalue().encode("utf-8"))
    return Path(path)


def export_series_png(window: MainWindow, path: Path) -> Path:
    return export.save_png(window.series.grab().toImage(), path)


def _num(value: float) -> str:
    return "" if not np.isfinite(value) else f"{value:.3f}"


EXPORTS = {
    "Map as PNG…": ("PNG image (*.png)", export_map_png),
    "Shown field as NetCDF…": ("NetCDF (*.nc)", export_field_netcdf),
    "Shown step as GeoTIFF…": ("GeoTIFF (*.tif *.tiff)", export_step_geotiff),
    "All steps as GeoTIFF (one band each)…": ("GeoTIFF (*.tif *.tiff)",
                                              export_all_steps_geotiff),
    "Station series as CSV…": ("CSV (*.csv)", export_series_csv),
    "Station series as PNG…": ("PNG image (*.png)", export_series_png),
}


def add_export_menu(window: MainWindow, menu: QtWidgets.QMenu) -> None:
    from desktop_app.gui.animation_dialog import add_animation_action

    sub = menu.addMenu("&Export")
    for label, (pattern, func) in EXPORTS.items():
        action = sub.addAction(label)
        action.triggered.connect(
            lambda _checked=False, label=label, pattern=pattern, func=func:
            _ask_and_export(window, label, pattern, func))
    add_animation_action(window, sub)


def _ask_and_export(window: MainWindow, label: str, pattern: str, func: object) -> None:
    name, _ = QtWidgets.QFileDialog.getSaveFileName(window, label.rstrip("…"), "", pattern)
    if not name:
        return
    try:
        func(window, Path(name))  # type: ignore[operator]
        window.statusBar().showMessage(f"exported {name}", 5000)
    except (DataFileError, OSError) as exc:
        QtWidgets.QMessageBox.warning(window, "Export failed", f"{label.rstrip('…')}: {exc}")
