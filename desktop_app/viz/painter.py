"""Draw map primitives with QPainter (the headless PNG path): the same shapes the vispy
canvas draws, placed by a geographic -> pixel mapping of the target rectangle."""

from __future__ import annotations

import numpy as np
from PySide6 import QtCore, QtGui
from vispy.color import get_colormap

from desktop_app.viz.map_model.primitives import (
    RGBA,
    FieldFrames,
    Lines,
    Points,
    Primitive,
    Raster,
    Texts,
)
from desktop_app.viz.styles import make_colormap


class GeoPainter:
    """Maps lon/lat to pixels of ``target`` (north up, the given extent filling it)."""

    def __init__(self, p: QtGui.QPainter, target: QtCore.QRectF,
                 extent: tuple[float, float, float, float], scale: float) -> None:
        self.p, self.target, self.scale = p, target, scale
        self.west, self.south, self.east, self.north = extent

    def xy(self, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        t = self.target
        x = t.x() + (np.asarray(lon) - self.west) / (self.east - self.west) * t.width()
        y = t.bottom() - (np.asarray(lat) - self.south) / (self.north - self.south) * t.height()
        return x, y

    def draw(self, prim: Primitive) -> None:
        if isinstance(prim, FieldFrames):
            self._image(colorize(prim), prim.lat, prim.lon)
        elif isinstance(prim, Raster):
            self._image(raster_rgba(prim), prim.lat, prim.lon)
        elif isinstance(prim, Lines):
            self._lines(prim)
        elif isinstance(prim, Points):
            self._points(prim)
        elif isinstance(prim, Texts):
            self._texts(prim)

    def _image(self, rgba: np.ndarray, lat: np.ndarray, lon: np.ndarray) -> None:
        dlat = float(lat[1] - lat[0]) if lat.size > 1 else 1.0
        dlon = float(lon[1] - lon[0]) if lon.size > 1 else 1.0
        x0, y1 = self.xy(lon[0] - dlon / 2, lat[0] - dlat / 2)
        x1, y0 = self.xy(lon[-1] + dlon / 2, lat[-1] + dlat / 2)
        qimg = QtGui.QImage(rgba.data, rgba.shape[1], rgba.shape[0], rgba.strides[0],
                            QtGui.QImage.Format.Format_RGBA8888)
        self.p.setRenderHint(QtGui.QPainter.RenderHint.SmoothPixmapTransform, False)
        self.p.drawImage(QtCore.QRectF(float(x0), float(y0), float(x1 - x0), float(y1 - y0)),
                         qimg)

    def _lines(self, prim: Lines) -> None:
        pen = QtGui.QPen(_qcolor(prim.color), prim.width * self.scale)
        pen.setCapStyle(QtCore.Qt.PenCapStyle.RoundCap)
        pen.setJoinStyle(QtCore.Qt.PenJoinStyle.RoundJoin)
        self.p.setPen(pen)
        self.p.setBrush(QtCore.Qt.BrushStyle.NoBrush)
        for part in prim.parts:
            x, y = self.xy(part[:, 0], part[:, 1])
            points = [QtCore.QPointF(a, b) for a, b in zip(x.tolist(), y.tolist(), strict=True)]
            self.p.drawPolyline(QtGui.QPolygonF(points))

    def _points(self, prim: Points) -> None:
        x, y = self.xy(prim.lon, prim.lat)
        for k in range(len(x)):
            self.p.setBrush(_qcolor(prim.face[k]))
            self.p.setPen(QtGui.QPen(_qcolor(prim.edge[k]), prim.edge_width * self.scale * 0.75))
            r = float(prim.size[k]) / 2 * self.scale * 0.75
            c = QtCore.QPointF(float(x[k]), float(y[k]))
            if prim.symbol == "square":
                self.p.drawRect(QtCore.QRectF(c.x() - r, c.y() - r, 2 * r, 2 * r))
            elif prim.symbol == "diamond":
                self.p.drawPolygon(QtGui.QPolygonF([
                    QtCore.QPointF(c.x(), c.y() - r), QtCore.QPointF(c.x() + r, c.y()),
                    QtCore.QPointF(c.x(), c.y() + r), QtCore.QPointF(c.x() - r, c.y())]))
            else:
                self.p.drawEllipse(c, r, r)

    def _texts(self, prim: Texts) -> None:
        font = QtGui.QFont("DejaVu Sans")
        font.setPixelSize(max(6, round(prim.size * 1.33 * self.scale)))
        metrics = QtGui.QFontMetricsF(font)
        x, y = self.xy(prim.lon, prim.lat)
        for k, text in enumerate(prim.strings):
            w, asc, desc = metrics.horizontalAdvance(text), metrics.ascent(), metrics.descent()
            px = float(x[k]) + prim.offset_px[0] * self.scale
            py = float(y[k]) + prim.offset_px[1] * self.scale
            px -= {"left": 0.0, "center": w / 2, "right": w}[prim.anchor_x]
            py += {"top": asc, "center": (asc - desc) / 2, "bottom": -desc}[prim.anchor_y]
            # a translucent dark box behind the label so it reads on any field colour
            self.p.setFont(font)
            if prim.halo:
                m = 2.0 * self.scale
                self.p.fillRect(QtCore.QRectF(px - m, py - asc - m / 2, w + 2 * m,
                                              asc + desc + m), QtGui.QColor(0, 0, 0, 130))
            self.p.setPen(_qcolor(prim.color))
            self.p.drawText(QtCore.QPointF(px, py), text)


def _qcolor(rgba: RGBA | np.ndarray) -> QtGui.QColor:
    r, g, b, a = (float(v) for v in rgba)
    return QtGui.QColor.fromRgbF(r, g, b, a)


def colorize(field: FieldFrames) -> np.ndarray:
    """RGBA uint8 image of the field's shown step, north up; NaN cells transparent."""
    values = np.asarray(field.frames[field.t], float)
    lo, hi = field.scale.clim
    norm = np.clip((values - lo) / (hi - lo if hi > lo else 1.0), 0.0, 1.0)
    cmap = make_colormap(field.scale.cmap, field.scale.steps)
    rgba = np.asarray(cmap.map(np.nan_to_num(norm).ravel()[:, None]), np.float32)
    rgba = rgba.reshape(*values.shape, 4)
    rgba[..., 3] = np.where(np.isfinite(values), field.opacity, 0.0)
    return np.ascontiguousarray((rgba[::-1] * 255.0).round().astype(np.uint8))


def raster_rgba(raster: Raster) -> np.ndarray:
    lo, hi = raster.clim
    norm = np.clip((np.asarray(raster.values, float) - lo) / (hi - lo), 0.0, 1.0)
    rgba = np.asarray(get_colormap(raster.cmap).map(norm.ravel()[:, None]), np.float32)
    rgba = rgba.reshape(*norm.shape, 4)
    return np.ascontiguousarray((rgba[::-1] * 255.0).round().astype(np.uint8))
