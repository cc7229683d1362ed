"""Read what is on screen: pixels of the real window, compared with the colormap."""

from __future__ import annotations

import numpy as np
from PySide6 import QtCore, QtGui
from vispy.color import get_colormap


def canvas_image(window) -> np.ndarray:
    """RGB array of the map canvas as the user sees it (grabbed from the window)."""
    widget = window.map.widget
    image = widget.grab().toImage().convertToFormat(QtGui.QImage.Format.Format_RGB888)
    ptr = image.constBits()
    arr = np.frombuffer(ptr, np.uint8, count=image.sizeInBytes())
    return arr.reshape(image.height(), image.bytesPerLine())[:, : image.width() * 3].reshape(
        image.height(), image.width(), 3
    ).copy()


def expected_rgb(cmap: str, value: float, clim: tuple[float, float]) -> np.ndarray:
    norm = np.clip((value - clim[0]) / (clim[1] - clim[0]), 0.0, 1.0)
    rgba = get_colormap(cmap).map(np.array([[norm]], np.float32))[0]
    return np.round(np.asarray(rgba[:3]) * 255.0)


def qpoint(xy: tuple[float, float]) -> QtCore.QPoint:
    return QtCore.QPoint(round(xy[0]), round(xy[1]))


def hover(widget, pos: QtCore.QPoint) -> None:
    """Deliver a mouse move to ``widget`` at ``pos`` now. On the xcb platform
    QTest.mouseMove warps the X pointer and the motion arrives asynchronously (or is
    coalesced away); a QMouseEvent sent to the widget goes through the same Qt -> vispy
    -> handler path deterministically."""
    from PySide6 import QtWidgets

    local = QtCore.QPointF(pos)
    event = QtGui.QMouseEvent(QtCore.QEvent.Type.MouseMove, local,
                              QtCore.QPointF(widget.mapToGlobal(pos)),
                              QtCore.Qt.MouseButton.NoButton, QtCore.Qt.MouseButton.NoButton,
                              QtCore.Qt.KeyboardModifier.NoModifier)
    QtWidgets.QApplication.sendEvent(widget, event)
