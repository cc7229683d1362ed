"""Render a map to PNG without OpenGL or a display: the colormap is applied on the CPU
with the same vispy colormap the screen uses, and QPainter draws title, colorbar, valid
time, model version and attribution on a QImage. Works under QT_QPA_PLATFORM=offscreen.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import xarray as xr
from PySide6 import QtCore, QtGui
from vispy.color import get_colormap

from desktop_app.core.variables import get_variable
from desktop_app.errors import DataFileError
from desktop_app.fsutil import atomic_path
from desktop_app.viz.colorbar import tick_text, tick_values
from desktop_app.viz.hillshade import hillshade
from desktop_app.viz.styles import QC_COLORS, colormap_for

MIN_SIZE, MAX_SIZE = 200, 10_000


@dataclass
class MapSpec:
    values: np.ndarray  # (lat, lon), ascending latitude
    lat: np.ndarray
    lon: np.ndarray
    cmap: str
    clim: tuple[float, float]
    title: str
    units_label: str
    valid_time: str
    model: str
    attribution: str
    elevation: np.ndarray | None = None  # for terrain shading
    shading: float = 0.2  # weight of the hillshade (0 = exact colours)
    stations: list[tuple[float, float, int]] = field(default_factory=list)  # lat, lon, flag


def spec_from_dataset(ds: xr.Dataset, variable: str, t: int, *, cmap: str | None = None,
                      shading: bool = True, stations: xr.Dataset | None = None) -> MapSpec:
    """Describe step ``t`` of ``variable`` of a canonical grid Dataset as a map."""
    if variable not in ds:
        have = ", ".join(str(v) for v in ds.data_vars if "time" in ds[v].dims)
        raise DataFileError(f"variable {variable!r} is not in the file (has: {have})")
    var = get_variable(variable)
    da = ds[variable]
    values = np.asarray(da.isel(time=t).values, float)
    all_values = np.asarray(da.values, float)
    if not np.isfinite(all_values).any():
        raise DataFileError(f"variable {variable!r} holds no finite values")
    clim = (float(np.nanmin(all_values)), float(np.nanmax(all_values)))
    model = ds.attrs.get("model_name") or ds.attrs.get("title") or "unknown model"
    if ds.attrs.get("model_version"):
        model = f"{model} v{ds.attrs['model_version']}"
    attribution = ds.attrs.get("attribution") or ds.attrs.get("source") or ""
    if ds.attrs.get("generated_values") == "yes" or "synthetic" in str(attribution).lower():
        attribution = f"{attribution} — SYNTHETIC DATA, not a forecast".strip(" —")
    station_marks: list[tuple[float, float, int]] = []
    if stations is not None:
        flags = stations.get(f"{variable}_qc")
        for k in range(stations.sizes["station"]):
            flag = int(flags.values[k, t]) if flags is not None else 2
            station_marks.append((float(stations["latitude"].values[k]),
                                  float(stations["longitude"].values[k]), flag))
    return MapSpec(
        values=values, lat=ds["latitude"].values, lon=ds["longitude"].values,
        cmap=cmap or colormap_for(variable), clim=clim,
        title=f"{var.long_name} — {ds.attrs.get('region', ds.attrs.get('title', ''))}".rstrip(" —"),
        units_label=f"{var.long_name} ({var.units})",
        valid_time=str(np.datetime_as_string(ds["time"].values[t], unit="m")).replace("T", " ")
        + " UTC",
        model=str(model), attribution=str(attribution),
        elevation=ds["elevation"].values if "elevation" in ds and shading else None,
        shading=0.2 if shading else 0.0, stations=station_marks,
    )


def colorize(spec: MapSpec) -> np.ndarray:
    """RGBA uint8 image of the field, north up; NaN cells transparent."""
    lo, hi = spec.clim
    norm = np.clip((spec.values - lo) / (hi - lo if hi > lo else 1.0), 0.0, 1.0)
    rgba = get_colormap(spec.cmap).map(np.nan_to_num(norm).ravel()[:, None])
    rgba = np.asarray(rgba, np.float32).reshape(*spec.values.shape, 4)
    if spec.elevation is not None and spec.shading > 0:
        shade = np.nan_to_num(hillshade(spec.elevation, spec.lat, spec.lon), nan=0.5)
        rgba[..., :3] = (1 - spec.shading) * rgba[..., :3] + spec.shading * shade[..., None]
    rgba[..., 3] = np.where(np.isfinite(spec.values), 1.0, 0.0)
    return np.ascontiguousarray((rgba[::-1] * 255.0).round().astype(np.uint8))


def map_rect(spec: MapSpec, width: int, height: int, dpi: int) -> QtCore.QRectF:
    """Where the field is drawn: largest ground-aspect box left of the colorbar."""
    scale = dpi / 96.0
    pad, bar_w = round(12 * scale), round(110 * scale)
    top = pad + round(26 * scale) + round(18 * scale) + pad
    foot_h = round(18 * scale)
    box = QtCore.QRectF(pad, top, width - 3 * pad - bar_w, height - top - foot_h - 2 * pad)
    # a degree of longitude is cos(lat) as wide on the ground as a degree of latitude
    kx = math.cos(math.radians(float(np.mean(spec.lat))))
    span_x = (spec.lon[-1] - spec.lon[0]) * kx if spec.lon.size > 1 else 1.0
    span_y = spec.lat[-1] - spec.lat[0] if spec.lat.size > 1 else 1.0
    aspect = span_x / span_y if span_y else 1.0
    w = min(box.width(), box.height() * aspect)
    h = w / aspect
    return QtCore.QRectF(box.x() + (box.width() - w) / 2, box.y() + (box.height() - h) / 2, w, h)


def render_map(spec: MapSpec, width: int, height: int, dpi: int = 96) -> QtGui.QImage:
    for name, value in (("width", width), ("height", height)):
        if not MIN_SIZE <= value <= MAX_SIZE:
            raise DataFileError(f"{name} must be {MIN_SIZE}..{MAX_SIZE} pixels, got {value}")
    if not 30 <= dpi <= 1200:
        raise DataFileError(f"dpi must be 30..1200, got {dpi}")
    scale = dpi / 96.0
    image = QtGui.QImage(width, height, QtGui.QImage.Format.Format_ARGB32)
    image.fill(QtGui.QColor("#ffffff"))
    dots_per_metre = round(dpi / 0.0254)
    image.setDotsPerMeterX(dots_per_metre)
    image.setDotsPerMeterY(dots_per_metre)
    for key, text in (("Title", spec.title), ("Valid time", spec.valid_time),
                      ("Model", spec.model), ("Source", spec.attribution),
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
               QtCore.Qt.AlignmentFlag.AlignLeft, spec.title)
    set_font(12)
    sub_h = round(18 * scale)
    p.drawText(QtCore.QRect(pad, pad + title_h, width - 2 * pad, sub_h),
               QtCore.Qt.AlignmentFlag.AlignLeft, f"Valid {spec.valid_time} · {spec.model}")
    foot_h = round(18 * scale)
    set_font(10)
    p.setPen(QtGui.QColor("#444444"))
    p.drawText(QtCore.QRect(pad, height - pad - foot_h, width - 2 * pad, foot_h),
               QtCore.Qt.AlignmentFlag.AlignLeft, spec.attribution)

    target = map_rect(spec, width, height, dpi)
    rgba = colorize(spec)
    qimg = QtGui.QImage(rgba.data, rgba.shape[1], rgba.shape[0], rgba.strides[0],
                        QtGui.QImage.Format.Format_RGBA8888)
    p.setRenderHint(QtGui.QPainter.RenderHint.SmoothPixmapTransform, False)
    p.drawImage(target, qimg)
    p.setPen(QtGui.QPen(QtGui.QColor("#101418"), max(1.0, scale)))
    p.drawRect(target)

    def to_px(lat: float, lon: float) -> QtCore.QPointF:
        fx = (lon - spec.lon[0]) / (spec.lon[-1] - spec.lon[0]) if spec.lon.size > 1 else 0.5
        fy = (lat - spec.lat[0]) / (spec.lat[-1] - spec.lat[0]) if spec.lat.size > 1 else 0.5
        return QtCore.QPointF(target.x() + fx * target.width(),
                              target.bottom() - fy * target.height())

    radius = 6 * scale
    for lat, lon, flag in spec.stations:
        r, g, b, _ = QC_COLORS.get(flag, QC_COLORS[2])
        p.setBrush(QtGui.QColor.fromRgbF(r, g, b))
        p.setPen(QtGui.QPen(QtGui.QColor("#ffffff"), 1.5 * scale))
        p.drawEllipse(to_px(lat, lon), radius, radius)

    _draw_colorbar(p, spec, QtCore.QRectF(target.right() + 2 * pad, target.y(),
                                          round(22 * scale), target.height()), set_font)
    p.end()
    return image


def _draw_colorbar(p: QtGui.QPainter, spec: MapSpec, bar: QtCore.QRectF,
                   set_font: object) -> None:
    steps = 256
    colors = np.asarray(get_colormap(spec.cmap).map(np.linspace(1.0, 0.0, steps)[:, None]))
    grad = np.ascontiguousarray((colors[:, None, :] * 255).round().astype(np.uint8))
    qimg = QtGui.QImage(grad.data, 1, steps, 4, QtGui.QImage.Format.Format_RGBA8888)
    p.drawImage(bar, qimg)
    p.setBrush(QtCore.Qt.BrushStyle.NoBrush)
    p.setPen(QtGui.QColor("#101418"))
    p.drawRect(bar)
    set_font(10)  # type: ignore[operator]
    lo, hi = spec.clim
    for value in tick_values(lo, hi):
        y = bar.bottom() - (value - lo) / (hi - lo if hi > lo else 1.0) * bar.height()
        p.drawLine(QtCore.QPointF(bar.right(), y), QtCore.QPointF(bar.right() + 4, y))
        p.drawText(QtCore.QPointF(bar.right() + 7, y + 4), tick_text(float(value), hi - lo))
    p.save()
    p.translate(bar.right() + 52, bar.center().y())
    p.rotate(-90)
    p.drawText(QtCore.QRectF(-bar.height() / 2, -10, bar.height(), 20),
               QtCore.Qt.AlignmentFlag.AlignCenter, spec.units_label)
    p.restore()


def ensure_gui_app() -> QtGui.QGuiApplication:
    """A QGuiApplication for fonts and painting; offscreen when there is no display."""
    app = QtGui.QGuiApplication.instance()
    if app is None:
        if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
            os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        app = QtGui.QGuiApplication(["microclimate"])
    assert isinstance(app, QtGui.QGuiApplication)
    return app


def save_png(image: QtGui.QImage, path: Path) -> Path:
    """Write atomically: a failed write leaves no file and keeps any older one."""
    with atomic_path(Path(path)) as tmp:
        writer = QtGui.QImageWriter(str(tmp), QtCore.QByteArray(b"png"))
        if not writer.write(image):
            raise DataFileError(f"could not write PNG {path}: {writer.errorString()}")
    return Path(path)
