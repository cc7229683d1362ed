"""The map: a vispy image layer in longitude/latitude, a colorbar, station markers.

Display coordinates are ``x = longitude * cos(lat0)``, ``y = latitude`` so that a
degree of longitude is drawn as wide as it is on the ground at the region's centre.
The widget only draws and reports what is under the cursor; it holds no data logic.
"""

from __future__ import annotations

import math
import time

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets
from vispy import scene
from vispy.util import keys
from vispy.visuals.transforms import STTransform

from desktop_app.viz import use_qt_backend
from desktop_app.viz.colorbar import ColorBar
from desktop_app.viz.field_layer import FieldStack, FieldStackVisual
from desktop_app.viz.hillshade import hillshade
from desktop_app.viz.styles import QC_COLORS

use_qt_backend()

CLICK_RADIUS_PX = 12.0
# stacks above this go to the GPU in slices of at most SLICE_SECONDS of work per event-loop
# turn (a week of hourly 1024x1024 frames took 6 s in one piece, the window frozen)
SLICED_UPLOAD_BYTES = 64 * 2**20
SLICE_SECONDS = 0.03


class MapCanvas(QtCore.QObject):
    """Owns a vispy SceneCanvas; ``widget`` is the Qt widget to put in a layout."""

    hovered = QtCore.Signal(int, int)  # (i_lat, i_lon) under the cursor, (-1, -1) outside
    station_clicked = QtCore.Signal(int)  # index of the station clicked
    drawn = QtCore.Signal()  # emitted after each frame is drawn
    bbox_drawn = QtCore.Signal(float, float, float, float)  # south, west, north, east

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.canvas = scene.SceneCanvas(keys=None, bgcolor="#20242a", parent=parent)
        self.canvas.native.setMinimumSize(480, 360)
        grid = self.canvas.central_widget.add_grid(margin=6)
        self.view = grid.add_view(row=0, col=0)
        self.view.camera = scene.PanZoomCamera(aspect=1.0)
        self.colorbar = ColorBar()
        grid.add_widget(self.colorbar.view, row=0, col=1)
        self.hillshade = scene.visuals.Image(
            np.zeros((2, 2), np.float32), cmap="grays", clim=(0.0, 1.0),
            parent=self.view.scene, interpolation="linear",
        )
        self.hillshade.order = 0
        self.image = FieldStack(parent=self.view.scene)
        self.image.order = 1
        self.markers = scene.visuals.Markers(parent=self.view.scene)
        self.markers.order = 2
        # All layers sit at z=0: draw strictly in `order`, never by depth test.
        for layer in (self.hillshade, self.image, self.markers):
            layer.set_gl_state("translucent", depth_test=False, cull_face=False)
        self.markers.set_data(np.zeros((1, 2), np.float32))
        self.markers.visible = False
        self._kx = 1.0
        self._lat = np.zeros(2)
        self._lon = np.zeros(2)
        self._frames: np.ndarray | None = None  # kept only when the stack is too big
        self._stack: np.ndarray | None = None  # frames still being uploaded in slices
        self._todo: list[int] = []
        self._pending = QtCore.QTimer(self)
        self._pending.setInterval(0)
        self._pending.timeout.connect(self._upload)
        self.resident = True  # all frames on the GPU; False = one frame uploaded at a time
        self._station_xy = np.zeros((0, 2))
        self._press_pos: tuple[float, float] | None = None
        self._bbox_start: tuple[float, float] | None = None  # (lat, lon) of a Shift+drag
        self.bbox_line = scene.visuals.Line(pos=np.zeros((5, 2), np.float32), color="#00e5ff",
                                            width=2, parent=self.view.scene)
        self.bbox_line.order = 3
        self.bbox_line.visible = False
        self.canvas.events.mouse_move.connect(self._on_mouse_move)
        # vispy drops a move that comes within 10 ms of the previous one, so the last
        # position before the cursor stops could go unreported and the readout would
        # show a neighbouring cell: read every move from Qt instead.
        self.canvas.native.installEventFilter(self)
        self.canvas.events.mouse_press.connect(self._on_mouse_press)
        self.canvas.events.mouse_release.connect(self._on_mouse_release)
        self.canvas.events.draw.connect(lambda _event: self.drawn.emit())

    @property
    def widget(self) -> QtWidgets.QWidget:
        native: QtWidgets.QWidget = self.canvas.native
        return native

    # -- data -------------------------------------------------------------------------
    def set_grid(self, lat: np.ndarray, lon: np.ndarray) -> None:
        """Place the image on a regular ascending grid and fit the view to it."""
        self._lat, self._lon = np.asarray(lat, float), np.asarray(lon, float)
        self._kx = math.cos(math.radians(float(self._lat.mean())))
        dlat = float(self._lat[1] - self._lat[0]) if self._lat.size > 1 else 1.0
        dlon = float(self._lon[1] - self._lon[0]) if self._lon.size > 1 else 1.0
        cells = STTransform(
            scale=(dlon * self._kx, dlat),
            translate=((self._lon[0] - dlon / 2) * self._kx, self._lat[0] - dlat / 2),
        )
        self.image.transform = cells
        self.hillshade.transform = cells
        x0 = (self._lon[0] - dlon / 2) * self._kx
        x1 = (self._lon[-1] + dlon / 2) * self._kx
        self.view.camera.set_range(
            x=(x0, x1), y=(self._lat[0] - dlat / 2, self._lat[-1] + dlat / 2),
            z=(-1.0, 1.0), margin=0.02,
        )

    def set_terrain(self, elevation: np.ndarray) -> None:
        """Hillshade of the terrain under the field (same grid as ``set_grid``)."""
        shade = hillshade(elevation, self._lat, self._lon)
        self.hillshade.set_data(np.nan_to_num(shade, nan=0.5).astype(np.float32))
        self.canvas.update()

    def set_frames(self, frames: np.ndarray, clim: tuple[float, float], cmap: str,
                   label: str, t: int = 0) -> None:
        """Show a (time, lat, lon) stack. It goes to the GPU once when it fits a 3-D
        texture; otherwise one frame is uploaded per step. NaN cells are transparent."""
        frames = np.asarray(frames)
        self.resident = FieldStackVisual.fits(frames.shape)
        self._frames = None if self.resident else frames
        self._pending.stop()
        if self.resident and frames.nbytes > SLICED_UPLOAD_BYTES:
            # the step shown now at once, the rest in slices between events (see _upload)
            self.image.begin_frames(frames.shape, clim)
            self._stack = frames  # the caller's array: no copy is kept
            self._todo = [*range(t, frames.shape[0]), *range(t)]
            self._upload_now(t)
            self._pending.start()
        else:
            self._stack = None
            self.image.set_frames(frames if self.resident else frames[t:t + 1], clim)
        self.image.set_cmap(cmap)
        self.colorbar.set(cmap, clim, label)
        self.set_time(t)

    def _upload_now(self, t: int) -> None:
        if self._stack is not None and t in self._todo:
            self._todo.remove(t)
            self._upload_frame(t)

    def _upload_frame(self, t: int) -> None:
        assert self._stack is not None
        self.image.upload_frames(self._stack, t, t + 1)
        # vispy queues GL commands until the next draw: run them now, so a slice costs
        # its own time and encoded frames do not pile up in the queue
        self.canvas.set_current()
        self.canvas.context.flush_commands()

    def _upload(self) -> None:
        """One slice of the pending stack: frames until the time budget is spent."""
        started = time.perf_counter()
        while self._todo and time.perf_counter() - started < SLICE_SECONDS:
            self._upload_frame(self._todo.pop(0))
        if not self._todo:
            self._pending.stop()
            self._stack = None
        self.canvas.update()

    @property
    def uploading(self) -> bool:
        """Frames of the shown stack are still on their way to the GPU."""
        return bool(self._todo)

    def set_time(self, t: int) -> None:
        if self.resident:
            self._upload_now(t)  # a step the slices have not reached yet
            self.image.set_layer(t)
        elif self._frames is not None:
            self.image.set_frames(self._frames[t:t + 1], self.image.clim)
        self.canvas.update()

    def set_cmap(self, cmap: str) -> None:
        self.image.set_cmap(cmap)
        self.colorbar.set(cmap, self.colorbar.clim, self.colorbar.label.text)
        self.canvas.update()

    def set_opacity(self, opacity: float) -> None:
        self.image.set_opacity(opacity)
        self.canvas.update()

    def set_stations(self, lat: np.ndarray, lon: np.ndarray, flags: np.ndarray,
                     selected: int | None = None) -> None:
        """Stations as markers coloured by their QARTOD flag; the selected one ringed."""
        xy = np.column_stack([np.asarray(lon, float) * self._kx, np.asarray(lat, float)])
        self._station_xy = xy
        if len(xy) == 0:
            self.markers.visible = False
            return
        face = np.array([QC_COLORS.get(int(f), QC_COLORS[2]) for f in flags], np.float32)
        edge = np.tile(np.array([[1.0, 1.0, 1.0, 1.0]], np.float32), (len(xy), 1))
        size = np.full(len(xy), 13.0, np.float32)
        if selected is not None and 0 <= selected < len(xy):
            edge[selected] = (0.0, 0.9, 1.0, 1.0)
            size[selected] = 19.0
        self.markers.visible = True
        self.markers.set_data(xy, face_color=face, edge_color=edge, size=size, edge_width=2)
        self.canvas.update()

    # -- mapping between screen and grid ----------------------------------------------
    def cell_at(self, pos: tuple[float, float]) -> tuple[int, int] | None:
        """Grid cell (i_lat, i_lon) under canvas pixel ``pos``, or None outside."""
        tr = self.canvas.scene.node_transform(self.image)
        x, y = tr.map([pos[0], pos[1]])[:2]
        j, i = int(math.floor(x)), int(math.floor(y))
        if 0 <= i < self._lat.size and 0 <= j < self._lon.size:
            return i, j
        return None

    def canvas_pos_of(self, lat: float, lon: float) -> tuple[float, float]:
        """Canvas pixel of a geographic point (used by tests and for hit-testing)."""
        tr = self.view.scene.node_transform(self.canvas.scene)
        x, y = tr.map([lon * self._kx, lat])[:2]
        return float(x), float(y)

    def _station_near(self, pos: tuple[float, float]) -> int | None:
        if len(self._station_xy) == 0:
            return None
        tr = self.view.scene.node_transform(self.canvas.scene)
        screen = tr.map(self._station_xy)[:, :2]
        dist = np.hypot(screen[:, 0] - pos[0], screen[:, 1] - pos[1])
        k = int(dist.argmin())
        return k if dist[k] <= CLICK_RADIUS_PX else None

    # -- events -----------------------------------------------------------------------
    def lat_lon_at(self, pos: tuple[float, float]) -> tuple[float, float]:
        """Geographic coordinates of a canvas pixel (may lie outside the grid)."""
        tr = self.canvas.scene.node_transform(self.view.scene)
        x, y = tr.map([pos[0], pos[1]])[:2]
        return float(y), float(x / self._kx)

    def show_bbox(self, south: float, west: float, north: float, east: float) -> None:
        k = self._kx
        self.bbox_line.set_data(pos=np.array(
            [[west * k, south], [east * k, south], [east * k, north], [west * k, north],
             [west * k, south]], np.float32))
        self.bbox_line.visible = True
        self.canvas.update()

    def _bbox_from(self, pos: tuple[float, float]) -> tuple[float, float, float, float]:
        assert self._bbox_start is not None
        lat0, lon0 = self._bbox_start
        lat1, lon1 = self.lat_lon_at(pos)
        return min(lat0, lat1), min(lon0, lon1), max(lat0, lat1), max(lon0, lon1)

    def eventFilter(self, watched: QtCore.QObject, event: QtCore.QEvent) -> bool:  # noqa: N802
        if event.type() == QtCore.QEvent.Type.MouseMove and isinstance(
                event, QtGui.QMouseEvent):
            pos = event.position()
            cell = self.cell_at((pos.x(), pos.y()))
            self.hovered.emit(*(cell if cell else (-1, -1)))
        return False  # vispy still gets the event (pan, box drawing)

    def _on_mouse_move(self, event: object) -> None:
        if self._bbox_start is not None:
            pos = event.pos  # type: ignore[attr-defined]
            self.show_bbox(*self._bbox_from((float(pos[0]), float(pos[1]))))

    def _on_mouse_press(self, event: object) -> None:
        pos = event.pos  # type: ignore[attr-defined]
        self._press_pos = (float(pos[0]), float(pos[1]))
        if keys.SHIFT in getattr(event, "modifiers", ()):
            self._bbox_start = self.lat_lon_at(self._press_pos)  # Shift+drag draws a bbox
            self.view.camera.interactive = False  # no panning until the box is done

    def _on_mouse_release(self, event: object) -> None:
        pos = event.pos  # type: ignore[attr-defined]
        start, self._press_pos = self._press_pos, None
        if self._bbox_start is not None:
            box = self._bbox_from((float(pos[0]), float(pos[1])))
            self._bbox_start = None
            self.view.camera.interactive = True
            if box[0] < box[2] and box[1] < box[3]:
                self.show_bbox(*box)
                self.bbox_drawn.emit(*box)
            return
        if start is None or math.hypot(pos[0] - start[0], pos[1] - start[1]) > 4:
            return  # a drag (pan), not a click
        k = self._station_near((float(pos[0]), float(pos[1])))
        if k is not None:
            self.station_clicked.emit(k)
