"""The map on screen: draws a :class:`MapModel` with vispy, layer by layer.

Display coordinates are ``x = longitude * cos(lat0)``, ``y = latitude`` so that a
degree of longitude is drawn as wide as it is on the ground at the region's centre.
The widget subscribes to the model and redraws only the layer that changed (a time step
changes one uniform of the field and the station markers); layers that depend on the
view (basemap, graticule, places, scale bar) follow pans and zooms. The overlay layers
are drawn in a few merged visuals (``overlay_batch``): under software GL every visual
costs its own draw at each frame. A big frame stack goes to the GPU in slices between
event-loop turns, the shown step first, so the window keeps answering. It holds no data
logic and reports what is under the cursor.
"""

from __future__ import annotations

import math
import time

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets
from vispy import scene
from vispy.scene import Node
from vispy.util import keys

from desktop_app.paths import cache_dir, resources_dir
from desktop_app.viz import use_qt_backend
from desktop_app.viz.colorbar import ColorBar
from desktop_app.viz.field_layer import FieldStack, FieldStackVisual
from desktop_app.viz.glyph_records import records_file, serve_glyph_records
from desktop_app.viz.glyphs import cache_distance_fields, distance_field_file, fast_glyph_bitmaps
from desktop_app.viz.map_model import MapModel, View
from desktop_app.viz.map_model.primitives import Primitive
from desktop_app.viz.overlay_batch import GROUP_OF, Overlays
from desktop_app.viz.overlay_cache import CachedOverlayCanvas
from desktop_app.viz.scene_artists import cells_transform, fits, make_node, update_node
from desktop_app.viz.shader_code import fast_shader_parsing
from desktop_app.viz.styles import make_colormap
from desktop_app.viz.texture_calls import ctypes_texture_calls

use_qt_backend()
fast_shader_parsing()
ctypes_texture_calls()

CLICK_RADIUS_PX = 12.0
# stacks above this go to the GPU in slices of at most SLICE_SECONDS of work per event-loop
# turn (a week of hourly 1024x1024 frames took 6 s in one piece, the window frozen)
SLICED_UPLOAD_BYTES = 64 * 2**20
SLICE_SECONDS = 0.03
# a slice's smallest unit: this many values of one step (rows of it), so that one
# unit stays a few milliseconds of work however big a frame is
UNIT_VALUES = 2**17
ORDER_STEP = 10  # z order: layer index * ORDER_STEP + primitive index


class MapCanvas(QtCore.QObject):
    """Owns a vispy SceneCanvas; ``widget`` is the Qt widget to put in a layout."""

    hovered = QtCore.Signal(int, int)  # (i_lat, i_lon) under the cursor, (-1, -1) outside
    station_clicked = QtCore.Signal(int)  # index of the station clicked
    drawn = QtCore.Signal()  # emitted after each frame is drawn
    bbox_drawn = QtCore.Signal(float, float, float, float)  # south, west, north, east

    def __init__(self, model: MapModel | None = None,
                 parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model or MapModel()
        # the layers above the field come from a texture while only the field changes
        self.canvas = CachedOverlayCanvas(keys=None, bgcolor="#20242a", parent=parent)
        self.canvas.native.setMinimumSize(480, 360)
        grid = self.canvas.central_widget.add_grid(margin=6)
        self.view = grid.add_view(row=0, col=0)
        self.view.camera = scene.PanZoomCamera(aspect=1.0)
        self.colorbar = ColorBar()
        grid.add_widget(self.colorbar.view, row=0, col=1)
        self.image = FieldStack(parent=self.view.scene)
        self.image.visible = False
        # the view box clips what it holds with a test per pixel; the field, which covers
        # every pixel, is instead cut to the visible cells (``_clip_field``)
        self.image._set_clipper(self.view.scene, None)
        self.canvas.live_node = self.image
        self._order = {name: k * ORDER_STEP for k, name in enumerate(self.model.layers)}
        self.image.order = self._order["field"]
        self._nodes: dict[str, list[Node]] = {}
        self.overlays = Overlays(self.view.scene)
        self._prims: dict[str, list[Primitive]] = {}
        self._kx = 1.0
        self._grid: tuple[np.ndarray, np.ndarray] = (np.zeros(2), np.zeros(2))
        self._frames: np.ndarray | None = None  # kept only when the stack is too big
        self._field_frames: np.ndarray | None = None  # the stack now on the GPU
        self._field_clim: tuple[float, float] | None = None
        self._field_scale: object = None
        self.resident = True  # all frames on the GPU; False = one frame uploaded at a time
        self._todo: list[int] = []  # steps of the shown stack not on the GPU yet
        self._next_row = 0  # rows of self._todo[0] already sent
        self._slicer = QtCore.QTimer(self)
        self._slicer.setInterval(0)
        self._slicer.timeout.connect(self._upload_slice)
        self._press_pos: tuple[float, float] | None = None
        self._bbox_start: tuple[float, float] | None = None  # (lat, lon) of a Shift+drag
        self._view_pending = False
        self.canvas.events.mouse_move.connect(self._on_mouse_move)
        # vispy drops a move that comes within 10 ms of the previous one, so the last
        # position before the cursor stops could go unreported and the readout would
        # show a neighbouring cell: read every move from Qt instead.
        self.canvas.native.installEventFilter(self)
        self.canvas.events.mouse_press.connect(self._on_mouse_press)
        self.canvas.events.mouse_release.connect(self._on_mouse_release)
        # after the scene has drawn (vispy calls a new callback first by default, so
        # "drawn" fired before the frame and start-up timings missed its drawing)
        self.canvas.events.draw.connect(lambda _event: self.drawn.emit(), position="last")
        glyphs = cache_distance_fields(distance_field_file(cache_dir()),
                                       seed=distance_field_file(resources_dir() / "glyphs"))
        if glyphs is not None:  # the labels' glyphs, kept for the next launch
            self.drawn.connect(glyphs.save_soon)
            glyphs.save_at_quit()
        # ... and all vispy keeps of each (metrics, kerning): no FreeType at start-up
        records = serve_glyph_records(records_file(cache_dir()))
        if records is None:
            fast_glyph_bitmaps()
        else:
            self.drawn.connect(records.save_soon)
            records.save_at_quit()
        self.view.scene.transform.changed.connect(self._on_view_changed)
        # the visible extent also changes when the widget is resized (the aspect is locked)
        self.canvas.events.resize.connect(self._on_view_changed)
        self.model.subscribe(self._on_layer_changed)
        self._sync_all(list(self.model.layers))

    @property
    def widget(self) -> QtWidgets.QWidget:
        native: QtWidgets.QWidget = self.canvas.native
        return native

    # -- model -> scene ---------------------------------------------------------------
    def current_view(self) -> View:
        # what is on screen, not the camera's rect: with a locked aspect the viewbox
        # shows more than that rect along one side (labels sat at the rect's edge)
        w, h = (max(1.0, float(v)) for v in self.view.size)
        corners = self.view.scene.transform.imap(np.array([[0.0, 0.0], [w, h]]))[:, :2]
        (x0, y0), (x1, y1) = corners.min(axis=0), corners.max(axis=0)
        return View(west=float(x0) / self._kx, south=float(y0), east=float(x1) / self._kx,
                    north=float(y1), px_per_deg=h / max(float(y1 - y0), 1e-9))

    def _on_layer_changed(self, name: str) -> None:
        self._sync(name)
        # a field change redraws the field; anything else, the whole scene (the nodes
        # that changed have asked for that already; this covers a layer that hid them)
        self.canvas.update(node=self.image if name == "field" else None)

    def _on_view_changed(self, _event: object = None) -> None:
        self._clip_field()  # at once: a frame drawn before the deferred sync shows it all
        if not self._view_pending:  # many camera events per drag: one redraw of them
            self._view_pending = True
            QtCore.QTimer.singleShot(0, self._sync_view_layers)

    def _sync_view_layers(self) -> None:
        self._view_pending = False
        # every group's lines are as wide in pixels as before the zoom: rebuild them all
        self._sync_all([layer.name for layer in self.model if layer.view_dependent],
                       set(GROUP_OF.values()))
        self.canvas.update()

    def settle(self) -> None:
        """Bring the view-dependent layers (graticule, labels, line widths) up to the
        current view now instead of on the next event-loop turn: for a grab that must show
        the window as it will look, not as the last frame before a resize drew it."""
        if self._view_pending:
            self._sync_view_layers()

    def _clip_field(self) -> None:
        """Cut the field's quad to the cells on screen (see ``__init__``)."""
        view = self.current_view()
        lat, lon = self._grid
        dlat = float(lat[1] - lat[0]) if lat.size > 1 else 1.0
        dlon = float(lon[1] - lon[0]) if lon.size > 1 else 1.0
        if dlat == 0 or dlon == 0:
            return  # no grid placed yet
        x0, x1 = sorted(((view.west - lon[0]) / dlon + 0.5, (view.east - lon[0]) / dlon + 0.5))
        y0, y1 = sorted(((view.south - lat[0]) / dlat + 0.5,
                         (view.north - lat[0]) / dlat + 0.5))
        self.image.show_cells(float(x0), float(x1), float(y0), float(y1))

    def _sync_all(self, names: list[str], groups: set[int] | None = None) -> None:
        """Sync several layers, rebuilding each overlay group they touch once."""
        groups = set(groups or ())
        for name in names:
            group = self._sync(name, rebuild=False)
            if group is not None:
                groups.add(group)
        view = self.current_view()
        self.overlays.rebuild(groups, self._kx, 1.0 / view.px_per_deg)

    def _sync(self, name: str, rebuild: bool = True) -> int | None:
        """Bring layer ``name`` on screen; returns its overlay group when ``rebuild`` is
        False and the group is left for the caller to rebuild."""
        layer = self.model.layers[name]
        if name == "field":
            self._sync_field()
            return None
        view = self.current_view()
        prims = layer.primitives(view) if layer.visible else []
        before, self._prims[name] = self._prims.get(name, []), prims
        if name in GROUP_OF:
            group = self.overlays.set_layer(name, prims)
            if not rebuild:
                return group
            self.overlays.rebuild({group}, self._kx, 1.0 / view.px_per_deg)
            return None
        nodes = self._nodes.setdefault(name, [])
        deg_per_px = 1.0 / view.px_per_deg
        for k, prim in enumerate(prims):
            if k < len(nodes) and not fits(nodes[k], prim):
                nodes[k].parent = None
                nodes[k] = make_node(prim, self.view.scene)
            elif k >= len(nodes):
                nodes.append(make_node(prim, self.view.scene))
            elif k < len(before) and before[k] is prim and not layer.view_dependent:
                nodes[k].visible = True
                continue  # unchanged: no new upload
            update_node(nodes[k], prim, self._kx, deg_per_px, self._order[name] + k)
            nodes[k].visible = True
        for node in nodes[len(prims):]:
            node.visible = False
        return None

    def _sync_field(self) -> None:
        layer = self.model.field
        field = layer.frames_primitive()
        new_stack = field.frames is not self._field_frames
        if (not new_stack and field.scale is self._field_scale
                and self.image.visible == layer.visible):
            self._show_step(field.t)  # a time step: one uniform, nothing else to redo
            if field.opacity != self.image.field_opacity:
                self.image.set_opacity(field.opacity)
            return
        if field.scale.empty:  # all NaN (found by the colour policy, once per stack)
            self._slicer.stop()
            self._todo = []
            self._field_frames, self._field_scale = None, None
            self.image.visible = False
            return
        self.image.visible = layer.visible
        self._place_grid(field.lat, field.lon)
        scale = field.scale
        if new_stack or scale.clim != self._field_clim:
            self._start_upload(field.frames, scale.clim, field.t)
            self._field_frames, self._field_clim = field.frames, scale.clim
        self._show_step(field.t)
        if scale is not self._field_scale:  # a time step keeps the scale: no rebuild
            self.image.set_cmap(make_colormap(scale.cmap, scale.steps))
            self.colorbar.set(scale)
            self.image.cmap_name = scale.cmap
            self._field_scale = scale
        if field.opacity != self.image.field_opacity:
            self.image.set_opacity(field.opacity)

    # -- the frame stack on its way to the GPU -----------------------------------------
    def _start_upload(self, frames: np.ndarray, clim: tuple[float, float], t: int) -> None:
        """Send a new stack (or the same one under new colour limits) to the GPU: a big
        one in slices between event-loop turns, the shown step first."""
        self._slicer.stop()
        self._todo, self._next_row = [], 0
        self.resident = FieldStackVisual.fits(frames.shape)
        self._frames = None if self.resident else frames
        if not self.resident:
            self.image.set_frames(frames[t:t + 1], clim)
        elif frames.nbytes <= SLICED_UPLOAD_BYTES:
            self.image.set_frames(frames, clim)
        else:
            self.image.begin_frames(frames.shape, clim)
            self._frames = frames  # the caller's array, no copy: read slice by slice
            self._todo = [*range(t, frames.shape[0]), *range(t)]
            self._slicer.start()

    def _upload_step(self, t: int) -> None:
        """Step ``t`` whole, now (the shown one, or one scrubbed to before its turn)."""
        assert self._frames is not None
        if self._todo and self._todo[0] == t:
            self._next_row = 0
        self._todo.remove(t)
        self.image.upload_frames(self._frames, t, t + 1)
        self._flush()

    def _flush(self) -> None:
        # vispy queues GL commands until the next draw: run them now, so a slice costs
        # its own time and encoded frames do not pile up in the queue
        self.canvas.set_current()
        self.canvas.context.flush_commands()

    def _upload_slice(self) -> None:
        """One slice of the pending stack: bands of rows until the time budget is spent."""
        assert self._frames is not None
        started = time.perf_counter()
        ny, nx = self._frames.shape[1:]
        rows = max(1, UNIT_VALUES // max(nx, 1))
        while self._todo:  # at least one band per turn, then more while time is left
            t, row0 = self._todo[0], self._next_row
            row1 = min(ny, row0 + rows)
            self.image.upload_rows(self._frames, t, row0, row1)
            self._flush()
            if row1 >= ny:
                self._todo.pop(0)
                self._next_row = 0
            else:
                self._next_row = row1
            if time.perf_counter() - started >= SLICE_SECONDS:
                break
        if not self._todo:
            self._slicer.stop()
            self._frames = None  # all on the GPU: the texture is the only copy we keep
        # no redraw: the shown step went first, and what a slice brings is not on screen

    @property
    def uploading(self) -> bool:
        """Steps of the shown stack are still on their way to the GPU."""
        return bool(self._todo)

    def _show_step(self, t: int) -> None:
        if not self.resident:
            if self._frames is not None:
                self.image.set_frames(self._frames[t:t + 1], self.image.clim)
            return
        if t in self._todo:  # a step the slices have not reached yet: now, out of turn
            self._upload_step(t)
        self.image.set_layer(t)

    def _place_grid(self, lat: np.ndarray, lon: np.ndarray) -> None:
        """Place the field on its grid; a new grid fits the view to it."""
        if (np.array_equal(lat, self._grid[0]) and np.array_equal(lon, self._grid[1])):
            return
        self._grid = (np.asarray(lat, float), np.asarray(lon, float))
        self._kx = math.cos(math.radians(float(np.mean(lat))))
        self.image.transform = cells_transform(self._grid[0], self._grid[1], self._kx)
        west, south, east, north = self.model.extent()
        self.view.camera.set_range(x=(west * self._kx, east * self._kx), y=(south, north),
                                   z=(-1.0, 1.0), margin=0.02)
        self._clip_field()
        self._prims.clear()  # everything moves with the new kx: place every layer anew
        self._sync_all([name for name in self.model.layers if name != "field"])

    def show_bbox(self, south: float, west: float, north: float, east: float) -> None:
        self.model.selection.set((south, west, north, east))

    # -- mapping between screen and grid ----------------------------------------------
    def cell_at(self, pos: tuple[float, float]) -> tuple[int, int] | None:
        """Grid cell (i_lat, i_lon) under canvas pixel ``pos``, or None outside."""
        tr = self.canvas.scene.node_transform(self.image)
        x, y = tr.map([pos[0], pos[1]])[:2]
        j, i = int(math.floor(x)), int(math.floor(y))
        if 0 <= i < self._grid[0].size and 0 <= j < self._grid[1].size:
            return i, j
        return None

    def canvas_pos_of(self, lat: float, lon: float) -> tuple[float, float]:
        """Canvas pixel of a geographic point (used by tests and for hit-testing)."""
        tr = self.view.scene.node_transform(self.canvas.scene)
        x, y = tr.map([lon * self._kx, lat])[:2]
        return float(x), float(y)

    def _station_near(self, pos: tuple[float, float]) -> int | None:
        st = self.model.stations
        if st.lat.size == 0:
            return None
        tr = self.view.scene.node_transform(self.canvas.scene)
        screen = tr.map(np.column_stack([st.lon * self._kx, st.lat]))[:, :2]
        dist = np.hypot(screen[:, 0] - pos[0], screen[:, 1] - pos[1])
        k = int(dist.argmin())
        return k if dist[k] <= CLICK_RADIUS_PX else None

    # -- events -----------------------------------------------------------------------
    def lat_lon_at(self, pos: tuple[float, float]) -> tuple[float, float]:
        """Geographic coordinates of a canvas pixel (may lie outside the grid)."""
        tr = self.canvas.scene.node_transform(self.view.scene)
        x, y = tr.map([pos[0], pos[1]])[:2]
        return float(y), float(x / self._kx)

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
