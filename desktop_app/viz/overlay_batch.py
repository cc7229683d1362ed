"""The map's overlay layers (basemap, graticule, places, stations, watch, selection, scale
bar) drawn in a handful of vispy visuals instead of one per primitive.

Under software GL each visual costs about a millisecond of Python per frame (transforms,
uniforms, GL command parsing) whether or not it changed, and the time slider redraws
them all at every step. So the primitives of neighbouring layers are merged into one
*group*: all its lines become one triangle mesh (every width and colour, one draw call),
all its points one marker set, its labels one text visual per font size and anchor.
Groups keep the layers' order (geographic context under the stations, the selection and
the scale bar on top); inside a group labels sit above points above lines.
"""

from __future__ import annotations

import numpy as np
from vispy import gloo, scene
from vispy.scene import Node
from vispy.scene.visuals import create_visual_node
from vispy.visuals import Visual

from desktop_app.viz.map_model.primitives import Lines, Points, Primitive, Texts

# layer -> group; a layer missing here (the field, the hillshade, a new layer until it
# is listed) is drawn on its own, one visual per primitive, below the groups
GROUP_OF = {"basemap": 0, "graticule": 0, "places": 0, "stations": 1, "watch": 1,
            "selection": 2, "scalebar": 2}
ORDER_BASE = 1000  # above the field and the hillshade
HALO = (0.0, 0.0, 0.0, 0.85)

_VERT = """
attribute vec2 a_position;
attribute vec4 a_color;
varying vec4 v_color;
void main() {
    v_color = a_color;
    gl_Position = $transform(vec4(a_position, 0.0, 1.0));
}
"""

_FRAG = """
varying vec4 v_color;
void main() {
    gl_FragColor = v_color;
}
"""


class LineMeshVisual(Visual):
    """Lines of any width and colour as screen-width quads: one draw call for all."""

    def __init__(self) -> None:
        super().__init__(vcode=_VERT, fcode=_FRAG)
        self._pos = gloo.VertexBuffer(np.zeros((3, 2), np.float32))
        self._color = gloo.VertexBuffer(np.zeros((3, 4), np.float32))
        self._index_buffer = gloo.IndexBuffer(np.arange(3, dtype=np.uint32))
        self.shared_program["a_position"] = self._pos
        self.shared_program["a_color"] = self._color
        self.set_gl_state("translucent", depth_test=False, cull_face=False)
        self._draw_mode = "triangles"
        self.n_vertices = 0

    def set_data(self, pos: np.ndarray, color: np.ndarray, index: np.ndarray) -> None:
        self.n_vertices = len(pos)
        if len(pos):
            self._pos.set_data(np.ascontiguousarray(pos, np.float32))
            self._color.set_data(np.ascontiguousarray(color, np.float32))
            self._index_buffer.set_data(np.ascontiguousarray(index, np.uint32))
        self.update()

    def _prepare_draw(self, view: object) -> bool:
        return self.n_vertices > 0

    def _prepare_transforms(self, view: object) -> None:
        view.view_program.vert["transform"] = view.get_transform()  # type: ignore[attr-defined]

    def _compute_bounds(self, axis: int, view: object) -> None:
        return None  # overlays never decide the camera's range


LineMesh = create_visual_node(LineMeshVisual)


def line_triangles(lines: list[Lines], kx: float, deg_per_px: float
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vertices, their colours and triangle indices (a quad of 4 vertices per segment,
    square caps so joints close) for ``lines`` in display coordinates (x = lon * kx,
    y = lat)."""
    pos_out, col_out = [], []
    for prim in lines:
        if not prim.parts:
            continue
        xy = np.concatenate(prim.parts).astype(np.float32)
        xy[:, 0] *= kx
        sizes = np.array([len(p) for p in prim.parts])
        part = np.repeat(np.arange(len(sizes)), sizes)
        same = part[1:] == part[:-1]  # no segment from one part's end to the next's start
        a, b = xy[:-1][same], xy[1:][same]
        d = b - a
        length = np.hypot(d[:, 0], d[:, 1])
        ok = length > 0
        a, b, d, length = a[ok], b[ok], d[ok], length[ok]
        if not len(a):
            continue
        half = np.float32(0.5 * prim.width * deg_per_px)
        u = d / length[:, None] * half  # along the segment, half a width long
        n = np.column_stack([-u[:, 1], u[:, 0]])  # across it
        a, b = a - u, b + u
        pos_out.append(np.stack([a + n, a - n, b + n, b - n], axis=1).reshape(-1, 2))
        col_out.append(np.tile(np.asarray(prim.color, np.float32), (4 * len(a), 1)))
    if not pos_out:
        return (np.zeros((0, 2), np.float32), np.zeros((0, 4), np.float32),
                np.zeros(0, np.uint32))
    pos = np.concatenate(pos_out)
    quad = np.array([0, 1, 2, 2, 1, 3], np.uint32)
    index = (np.arange(0, len(pos), 4, dtype=np.uint32)[:, None] + quad).ravel()
    return pos, np.concatenate(col_out), index


def _merge_points(points: list[Points], kx: float) -> dict[str, np.ndarray]:
    n = [len(p.lon) for p in points]
    return {
        "pos": np.concatenate([np.column_stack([np.asarray(p.lon) * kx, p.lat])
                               for p in points]).astype(np.float32),
        "face_color": np.concatenate([np.asarray(p.face, np.float32) for p in points]),
        "edge_color": np.concatenate([np.asarray(p.edge, np.float32) for p in points]),
        "size": np.concatenate([np.asarray(p.size, np.float32) for p in points]),
        "edge_width": np.concatenate([np.full(k, p.edge_width, np.float32)
                                      for k, p in zip(n, points, strict=True)]),
        "symbol": np.concatenate([np.full(k, p.symbol) for k, p in zip(n, points, strict=True)]),
    }


def _merge_texts(texts: list[Texts], kx: float,
                 deg_per_px: float) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Strings, positions and colours of one text visual; the labels' dark halos (copies
    one pixel down-right) come first, so they are drawn under every text in the same
    call."""
    halo_s: list[str] = []
    text_s: list[str] = []
    halo_pos, text_pos, halo_col, text_col = [], [], [], []
    for prim in texts:
        if not prim.strings:
            continue
        dx, dy = (v * deg_per_px for v in prim.offset_px)
        base = np.column_stack([np.asarray(prim.lon) * kx + dx,
                                np.asarray(prim.lat) - dy]).astype(np.float32)
        n = len(prim.strings)
        if prim.halo:
            halo_s += list(prim.strings)
            halo_pos.append(base + np.array([deg_per_px, -deg_per_px], np.float32))
            halo_col.append(np.tile(np.array(HALO, np.float32), (n, 1)))
        text_s += list(prim.strings)
        text_pos.append(base)
        text_col.append(np.tile(np.asarray(prim.color, np.float32), (n, 1)))
    strings = halo_s + text_s
    if not strings:
        return [], np.zeros((0, 2), np.float32), np.zeros((0, 4), np.float32)
    return strings, np.concatenate(halo_pos + text_pos), np.concatenate(halo_col + text_col)


# vispy lays a label out in pixels that run down the screen, and under the map's camera,
# whose y runs up, its "bottom" puts the text below the anchor and "top" above it: the
# other way round from the map model (and the PNG painter), where "bottom" is the text's
# bottom edge. Measured on vispy's own rendering by tests/gui/test_label_anchors.py.
VISPY_ANCHOR_Y = {"top": "bottom", "center": "center", "bottom": "top"}


class OverlayGroup:
    """The visuals of one group: a line mesh, a marker set, text visuals by style."""

    def __init__(self, index: int, parent: Node) -> None:
        self.index, self._parent = index, parent
        self.lines = LineMesh(parent=parent)
        self.lines.order = ORDER_BASE + 10 * index
        # made with its first points: vispy's markers without data break the camera's
        # set_range, which asks every visual in the scene for its bounds
        self.points: scene.visuals.Markers | None = None
        self.texts: dict[tuple[float, str, str], scene.visuals.Text] = {}
        self._text_data: dict[tuple[float, str, str], tuple[list[str], bytes]] = {}

    def visuals(self) -> list[Node]:
        return [self.lines, *([self.points] if self.points else []), *self.texts.values()]

    def update(self, prims: list[Primitive], kx: float, deg_per_px: float) -> None:
        lines = [p for p in prims if isinstance(p, Lines)]
        points = [p for p in prims if isinstance(p, Points) and len(p.lon)]
        self.lines.set_data(*line_triangles(lines, kx, deg_per_px))
        if points and self.points is None:
            self.points = scene.visuals.Markers(parent=self._parent)
            self.points.order = ORDER_BASE + 10 * self.index + 1
            self.points.set_gl_state("translucent", depth_test=False, cull_face=False)
        if self.points is not None:
            self.points.visible = bool(points)
            if points:
                self.points.set_data(**_merge_points(points, kx))
        by_style: dict[tuple[float, str, str], list[Texts]] = {}
        for p in prims:
            if isinstance(p, Texts):
                by_style.setdefault((p.size, p.anchor_x, p.anchor_y), []).append(p)
        for key in self.texts.keys() - by_style.keys():
            self.texts[key].visible = False
        for key, texts in sorted(by_style.items()):
            self._set_texts(key, *_merge_texts(texts, kx, deg_per_px))

    def _set_texts(self, key: tuple[float, str, str], strings: list[str], pos: np.ndarray,
                   colors: np.ndarray) -> None:
        node = self.texts.get(key)
        if node is None:
            node = scene.visuals.Text("", parent=self._parent, font_size=key[0],
                                      anchor_x=key[1], anchor_y=VISPY_ANCHOR_Y[key[2]])
            node.set_gl_state("translucent", depth_test=False, cull_face=False)
            node.order = ORDER_BASE + 10 * self.index + 2 + len(self.texts)
            self.texts[key] = node
        node.visible = bool(strings)
        if not strings:
            return
        # a time step re-sends the stations with the same names in the same places:
        # laying the glyphs out again would cost more than the whole frame's drawing
        signature = (strings, pos.tobytes() + colors.tobytes())
        if self._text_data.get(key) == signature:
            return
        self._text_data[key] = signature
        if node.text != strings:
            node.text = strings
        node.pos = pos
        node.color = colors


class Overlays:
    """All groups; the canvas hands over each layer's primitives and says which groups
    to rebuild."""

    def __init__(self, parent: Node) -> None:
        self._parent = parent
        self.groups: dict[int, OverlayGroup] = {}
        self.prims: dict[str, list[Primitive]] = {}

    def set_layer(self, name: str, prims: list[Primitive]) -> int:
        """Remember ``name``'s primitives; returns its group."""
        self.prims[name] = prims
        return GROUP_OF[name]

    def rebuild(self, groups: set[int], kx: float, deg_per_px: float) -> None:
        for g in sorted(groups):
            group = self.groups.get(g)
            if group is None:
                group = self.groups[g] = OverlayGroup(g, self._parent)
            prims = [p for name in GROUP_OF if GROUP_OF[name] == g  # bottom to top
                     for p in self.prims.get(name, [])]
            group.update(prims, kx, deg_per_px)

    def visible_visuals(self) -> list[Node]:
        return [v for g in self.groups.values() for v in g.visuals() if v.visible]
