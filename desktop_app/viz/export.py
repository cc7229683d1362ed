"""Render a map model to PNG without OpenGL or a display: the layers' primitives are
drawn with QPainter (colormaps applied on the CPU with the same vispy colormaps the
screen uses) with title, colorbar, valid time, model version and attribution on a
QImage. Works under QT_QPA_PLATFORM=offscreen.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import xarray as xr
from PySide6 import QtCore, QtGui

from desktop_app.core.display import DisplayUnits
from desktop_app.core.variables import get_variable
from desktop_app.errors import DataFileError
from desktop_app.fsutil import atomic_path
from desktop_app.viz.hillshade import hillshade
from desktop_app.viz.map_model import MapMeta, MapModel, View
from desktop_app.viz.map_model.primitives import ColourScale
from desktop_app.viz.painter import GeoPainter
from desktop_app.viz.styles import make_colormap

SHADED_OPACITY = 0.8  # the field over the hillshade, as on screen

MIN_SIZE, MAX_SIZE = 200, 10_000


def model_from_dataset(ds: xr.Dataset, variable: str, t: int, *, cmap: str | None = None,
                       shading: bool = True, stations: xr.Dataset | None = None,
                       units: DisplayUnits | None = None,
                       difference: bool | None = None) -> MapModel:
    """A map model of step ``t`` of ``variable`` of a canonical grid Dataset. A field
    marked as a difference (``field_kind = "difference"``) gets the difference policy."""
    if variable not in ds:
        have = ", ".join(str(v) for v in ds.data_vars if "time" in ds[v].dims)
        raise DataFileError(f"variable {variable!r} is not in the file (has: {have})")
    get_variable(variable)
    da = ds[variable]
    frames = np.asarray(da.values, np.float32)
    if not np.isfinite(frames).any():
        raise DataFileError(f"variable {variable!r} holds no finite values")
    if difference is None:
        difference = da.attrs.get("field_kind") == "difference"
    model = MapModel()
    lat, lon = ds["latitude"].values, ds["longitude"].values
    model.field.set_data(frames, lat, lon, variable, difference=difference, t=t, cmap=cmap)
    model.field.set_style(units=units)
    if "elevation" in ds and shading:
        model.hillshade.set(hillshade(ds["elevation"].values, lat, lon), lat, lon)
        model.field.set_style(opacity=SHADED_OPACITY)
    if stations is not None:
        flags = stations.get(f"{variable}_qc")
        codes = (np.asarray(flags.values[:, t], np.uint8) if flags is not None
                 else np.full(stations.sizes["station"], 2, np.uint8))
        names = (stations["station_name"].values if "station_name" in stations.coords
                 else stations["station_id"].values)
        model.stations.set(stations["latitude"].values, stations["longitude"].values, codes,
                           [str(n) for n in names])
    model.meta = meta_from_dataset(ds, variable, t, difference)
    return model


spec_from_dataset = model_from_dataset  # the name the CLI and older callers use


def meta_from_dataset(ds: xr.Dataset, variable: str, t: int, difference: bool) -> MapMeta:
    var = get_variable(variable)
    name = f"Difference (forecast − baseline): {var.long_name}" if difference else var.long_name
    model = ds.attrs.get("model_name") or ds.attrs.get("title") or "unknown model"
    if ds.attrs.get("model_version"):
        model = f"{model} v{ds.attrs['model_version']}"
    attribution = str(ds.attrs.get("attribution") or ds.attrs.get("source") or "")
    if ds.attrs.get("generated_values") == "yes" or "synthetic" in attribution.lower():
        attribution = f"{attribution} — SYNTHETIC DATA, not a forecast".strip(" —")
    attribution = f"{attribution} · Basemap: Natural Earth".strip(" ·")
    region = ds.attrs.get("region", ds.attrs.get("title", ""))
    fallback = guard_fallback(ds, t)
    if fallback:  # the guard kept the model from this step: the picture must not say model
        region = f"{ds.attrs.get('baseline_method', 'physical')} baseline (guard)"
        model = f"{model} not used at this step: {fallback}"
    return MapMeta(
        title=f"{name} — {region}".rstrip(" —"),
        valid_time=str(np.datetime_as_string(ds["time"].values[t], unit="m")).replace("T", " ")
        + " UTC",
        model=str(model), attribution=attribution)


def guard_fallback(ds: xr.Dataset, t: int) -> str:
    """'' when step ``t`` of a forecast is the model's (or the file has no guard record);
    else why the model is not."""
    if "model_used" not in ds:
        return ""
    if bool(ds["model_used"].values[t]):
        return ""
    share = (f"{float(ds['guard_outside_share'].values[t]):.0%} of inputs"
             if "guard_outside_share" in ds else "its inputs")
    return f"{share} outside its training domain"


def map_rect(model: MapModel, width: int, height: int, dpi: int) -> QtCore.QRectF:
    """Where the field is drawn: largest ground-aspect box left of the colorbar."""
    scale = dpi / 96.0
    pad, bar_w = round(12 * scale), round(110 * scale)
    top = pad + round(26 * scale) + round(18 * scale) + pad
    foot_h = round(18 * scale)
    box = QtCore.QRectF(pad, top, width - 3 * pad - bar_w, height - top - foot_h - 2 * pad)
    west, south, east, north = model.extent()
    # a degree of longitude is cos(lat) as wide on the ground as a degree of latitude
    kx = math.cos(math.radians(0.5 * (south + north)))
    aspect = (east - west) * kx / (north - south)
    w = min(box.width(), box.height() * aspect)
    h = w / aspect
    return QtCore.QRectF(box.x() + (box.width() - w) / 2, box.y() + (box.height() - h) / 2, w, h)


def render_map(model: MapModel, width: int, height: int, dpi: int = 96) -> QtGui.QImage:
    """The whole picture: title, valid time, the model's layers, colorbar, attribution."""
    for name, value in (("width", width), ("height", height)):
        if not MIN_SIZE <= value <= MAX_SIZE:
            raise DataFileError(f"{name} must be {MIN_SIZE}..{MAX_SIZE} pixels, got {value}")
    if not 30 <= dpi <= 1200:
        raise DataFileError(f"dpi must be 30..1200, got {dpi}")
    scale = dpi / 96.0
    meta, field = model.meta, model.field
    image = QtGui.QImage(width, height, QtGui.QImage.Format.Format_ARGB32)
    image.fill(QtGui.QColor("#ffffff"))
    dots_per_metre = round(dpi / 0.0254)
    image.setDotsPerMeterX(dots_per_metre)
    image.setDotsPerMeterY(dots_per_metre)
    for key, text in (("Title", meta.title), ("Valid time", meta.valid_time),
                      ("Model", meta.model), ("Source", meta.attribution),
                      ("Colour scale", field.scale.label),
                      ("Software", "Microclimate Desk")):
        image.setText(key, text)
    p = QtGui.QPainter(image)
    p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
    font = QtGui.QFont("DejaVu Sans")

    def set_font(points: float, bold: bool = False) -> None:
        font.setPixelSize(max(6, round(points * scale)))
        font.setBold(bold)
        p.setFont(font)

    pad = round(12 * scale)
    set_font(18, True)
    p.setPen(QtGui.QColor("#101418"))
    title_h = round(26 * scale)
    p.drawText(QtCore.QRect(pad, pad, width - 2 * pad, title_h),
               QtCore.Qt.AlignmentFlag.AlignLeft, meta.title)
    set_font(12)
    sub_h = round(18 * scale)
    p.drawText(QtCore.QRect(pad, pad + title_h, width - 2 * pad, sub_h),
               QtCore.Qt.AlignmentFlag.AlignLeft, f"Valid {meta.valid_time} · {meta.model}")
    foot_h = round(18 * scale)
    set_font(10)
    p.setPen(QtGui.QColor("#444444"))
    p.drawText(QtCore.QRect(pad, height - pad - foot_h, width - 2 * pad, foot_h),
               QtCore.Qt.AlignmentFlag.AlignLeft, meta.attribution)

    target = map_rect(model, width, height, dpi)
    extent = model.extent()
    view = View(*extent, px_per_deg=target.height() / (extent[3] - extent[1]) / scale)
    geo = GeoPainter(p, target, extent, scale)
    p.save()
    p.setClipRect(target)
    for layer in model:
        if layer.visible:
            for prim in layer.primitives(view):
                geo.draw(prim)
    p.restore()
    p.setBrush(QtCore.Qt.BrushStyle.NoBrush)
    p.setPen(QtGui.QPen(QtGui.QColor("#101418"), max(1.0, scale)))
    p.drawRect(target)
    _draw_colorbar(p, field.scale, QtCore.QRectF(target.right() + 2 * pad, target.y(),
                                                 round(22 * scale), target.height()), set_font)
    p.end()
    return image


def _draw_colorbar(p: QtGui.QPainter, cs: ColourScale, bar: QtCore.QRectF,
                   set_font: object) -> None:
    steps = 256
    cmap = make_colormap(cs.cmap, cs.steps)
    colors = np.asarray(cmap.map(np.linspace(1.0, 0.0, steps)[:, None]))
    grad = np.ascontiguousarray((colors[:, None, :] * 255).round().astype(np.uint8))
    qimg = QtGui.QImage(grad.data, 1, steps, 4, QtGui.QImage.Format.Format_RGBA8888)
    p.drawImage(bar, qimg)
    p.setBrush(QtCore.Qt.BrushStyle.NoBrush)
    p.setPen(QtGui.QColor("#101418"))
    p.drawRect(bar)
    set_font(10)  # type: ignore[operator]
    lo, hi = cs.clim
    for value, text in cs.ticks:
        y = bar.bottom() - (value - lo) / (hi - lo if hi > lo else 1.0) * bar.height()
        p.drawLine(QtCore.QPointF(bar.right(), y), QtCore.QPointF(bar.right() + 4, y))
        p.drawText(QtCore.QPointF(bar.right() + 7, y + 4), text)
    p.save()
    p.translate(bar.right() + 52, bar.center().y())
    p.rotate(-90)
    p.drawText(QtCore.QRectF(-bar.height() / 2 - 200, -10, bar.height() + 400, 20),
               QtCore.Qt.AlignmentFlag.AlignCenter, cs.label)
    p.restore()


def ensure_gui_app() -> QtGui.QGuiApplication:
    """The application object fonts and painting need; offscreen when there is no display.

    A full QApplication, not a QGuiApplication: Qt allows one application object per
    process, and a window opened later in the same process (an export before the window,
    as in a test run) needs widgets, which a QGuiApplication cannot host (Qt aborts)."""
    app = QtGui.QGuiApplication.instance()
    if app is None:
        if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
            os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        from PySide6 import QtWidgets

        app = QtWidgets.QApplication(["microclimate"])
    assert isinstance(app, QtGui.QGuiApplication)
    return app


def save_png(image: QtGui.QImage, path: Path) -> Path:
    """Write atomically: a failed write leaves no file and keeps any older one."""
    with atomic_path(Path(path)) as tmp:
        writer = QtGui.QImageWriter(str(tmp), QtCore.QByteArray(b"png"))
        if not writer.write(image):
            raise DataFileError(f"could not write PNG {path}: {writer.errorString()}")
    return Path(path)
