"""Map primitives as vispy scene nodes: create one for a primitive, or update the one
already there (so panning and time steps reuse GPU buffers)."""

from __future__ import annotations

import numpy as np
from vispy import scene
from vispy.scene import Node
from vispy.visuals.transforms import STTransform

from desktop_app.viz.map_model.primitives import Lines, Points, Primitive, Raster, Texts


def cells_transform(lat: np.ndarray, lon: np.ndarray, kx: float) -> STTransform:
    """Image pixel (column, row) -> display coordinates (lon * kx, lat) of cell edges."""
    dlat = float(lat[1] - lat[0]) if lat.size > 1 else 1.0
    dlon = float(lon[1] - lon[0]) if lon.size > 1 else 1.0
    return STTransform(scale=(dlon * kx, dlat),
                       translate=((lon[0] - dlon / 2) * kx, lat[0] - dlat / 2))


def _segments(parts: list[np.ndarray], kx: float) -> tuple[np.ndarray, np.ndarray]:
    xy = np.concatenate(parts).astype(np.float32)
    xy[:, 0] *= kx
    idx = np.arange(len(xy) - 1)
    ends = np.cumsum([len(p) for p in parts])[:-1] - 1  # last vertex of each part
    keep = np.ones(len(idx), bool)
    keep[ends] = False  # no segment from one part's end to the next part's start
    idx = idx[keep]
    return xy, np.column_stack([idx, idx + 1]).astype(np.uint32)


def make_node(prim: Primitive, parent: Node) -> Node:
    if isinstance(prim, Lines):
        return scene.visuals.Line(pos=np.zeros((2, 2), np.float32), parent=parent,
                                  method="gl", antialias=False)
    if isinstance(prim, Points):
        return scene.visuals.Markers(parent=parent)
    if isinstance(prim, Texts):
        return scene.visuals.Text("", parent=parent)
    if isinstance(prim, Raster):
        return scene.visuals.Image(np.zeros((2, 2), np.float32), parent=parent,
                                   cmap=prim.cmap, clim=prim.clim, interpolation="linear")
    raise TypeError(f"no vispy node for {type(prim).__name__}")


def fits(node: Node, prim: Primitive) -> bool:
    kinds = {Lines: scene.visuals.Line, Points: scene.visuals.Markers,
             Texts: scene.visuals.Text,
             Raster: scene.visuals.Image}
    return isinstance(node, kinds[type(prim)])


def update_node(node: Node, prim: Primitive, kx: float, deg_per_px: float,
                order: int) -> None:
    """Give ``node`` the primitive's data; z order strictly by layer, never by depth."""
    if isinstance(prim, Lines):
        pos, connect = _segments(prim.parts, kx)
        node.set_data(pos=pos, connect=connect, color=prim.color, width=prim.width)
    elif isinstance(prim, Points):
        xy = np.column_stack([np.asarray(prim.lon) * kx, prim.lat]).astype(np.float32)
        node.set_data(xy, face_color=prim.face, edge_color=prim.edge, size=prim.size,
                      edge_width=prim.edge_width, symbol=prim.symbol)
    elif isinstance(prim, Texts):
        # one visual per label set: the dark halo (a copy one pixel down-right) is drawn
        # first in the same call, so it sits under its text at no extra draw (llvmpipe
        # pays per visual, not per glyph)
        node.visible = bool(prim.strings)
        if prim.strings:
            dx, dy = (v * deg_per_px for v in prim.offset_px)
            base = np.column_stack([np.asarray(prim.lon) * kx + dx,
                                    np.asarray(prim.lat) - dy]).astype(np.float32)
            n = len(prim.strings)
            strings, pos = list(prim.strings), base
            colors = np.tile(np.asarray(prim.color, np.float32), (n, 1))
            if prim.halo:
                strings = strings + strings
                pos = np.concatenate([base + np.array([deg_per_px, -deg_per_px], np.float32),
                                      base])
                colors = np.concatenate([np.tile(np.array([0, 0, 0, 0.85], np.float32), (n, 1)),
                                         colors])
            node.text = strings
            node.pos = pos
            node.color = colors
            node.font_size = prim.size
            node.anchors = (prim.anchor_x, prim.anchor_y)
    elif isinstance(prim, Raster):
        node.set_data(np.asarray(prim.values, np.float32))
        node.cmap, node.clim = prim.cmap, prim.clim
        node.transform = cells_transform(prim.lat, prim.lon, kx)
    node.order = order
    node.set_gl_state("translucent", depth_test=False, cull_face=False)
