"""A label anchored by its bottom edge sits above its point, by its top edge below it,
on screen as in the PNG export: the map model's one meaning of ``anchor_y``, drawn by
vispy under the map's y-up camera and by the QPainter renderer. (On screen it was the
other way round: the scale bar's "5 km" sat across its own bar.)"""

from __future__ import annotations

import numpy as np
import pytest
from PySide6 import QtCore, QtGui
from vispy import scene

from desktop_app.viz.map_model.primitives import Texts
from desktop_app.viz.overlay_batch import OverlayGroup
from desktop_app.viz.painter import GeoPainter

pytestmark = pytest.mark.gui
SIZE = 200  # pixels, for one degree each way: the anchor point is the middle row


def _label(anchor_y: str) -> Texts:
    return Texts(np.array([0.5]), np.array([0.5]), ["XX"], anchor_x="center",
                 anchor_y=anchor_y, size=14.0, halo=False)


def _rows(grey: np.ndarray) -> tuple[int, int]:
    rows = np.nonzero(grey.max(axis=1) > 100)[0]
    assert rows.size, "no text drawn"
    return int(rows.min()), int(rows.max())


def _on_screen(anchor_y: str, qapp) -> tuple[int, int]:
    canvas = scene.SceneCanvas(size=(SIZE, SIZE), bgcolor="black", show=False)
    try:
        view = canvas.central_widget.add_view()
        view.camera = scene.PanZoomCamera(rect=(0, 0, 1, 1), aspect=1.0)
        OverlayGroup(0, view.scene).update([_label(anchor_y)], 1.0, 1.0 / SIZE)
        return _rows(canvas.render()[..., 0])
    finally:
        canvas.close()


def _in_png(anchor_y: str) -> tuple[int, int]:
    image = QtGui.QImage(SIZE, SIZE, QtGui.QImage.Format.Format_RGB32)
    image.fill(0)
    painter = QtGui.QPainter(image)
    try:
        GeoPainter(painter, QtCore.QRectF(image.rect()), (0.0, 0.0, 1.0, 1.0), 1.0).draw(
            _label(anchor_y))
    finally:
        painter.end()
    bits = np.frombuffer(image.constBits(), np.uint8).reshape(SIZE, SIZE, 4)
    return _rows(bits[..., 1])


@pytest.mark.parametrize("draw", ["screen", "png"])
def test_bottom_sits_above_the_point_and_top_below(draw, qapp):
    rows = (lambda a: _on_screen(a, qapp)) if draw == "screen" else _in_png
    middle = SIZE // 2
    top_of_bottom_label, bottom_of_bottom_label = rows("bottom")
    assert bottom_of_bottom_label <= middle + 2 and top_of_bottom_label < middle - 5
    top_of_top_label, bottom_of_top_label = rows("top")
    assert top_of_top_label >= middle - 2 and bottom_of_top_label > middle + 5
