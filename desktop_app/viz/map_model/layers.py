"""The map's layers, bottom to top. A layer holds its state, says when it changed and
turns itself into primitives for a view; a new layer is one class here plus one line
in ``LAYER_TYPES``."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

import numpy as np

from desktop_app.core.display import DisplayUnits
from desktop_app.viz.map_model import basemap
from desktop_app.viz.map_model.colour import colour_scale
from desktop_app.viz.map_model.primitives import (
    ColourScale,
    FieldFrames,
    Lines,
    Points,
    Primitive,
    Raster,
    Texts,
    View,
)

# QARTOD flag -> RGBA marker face colour
QC_COLORS = {1: (0.10, 0.70, 0.20, 1.0), 2: (0.60, 0.60, 0.60, 1.0),
             3: (1.00, 0.75, 0.00, 1.0), 4: (0.90, 0.10, 0.10, 1.0),
             9: (0.20, 0.20, 0.20, 1.0)}
WATCH_COLORS = {"ok": QC_COLORS[1], "alert": QC_COLORS[3], "stale": QC_COLORS[4],
                "none": QC_COLORS[2]}
BASEMAP_STYLE = {  # kind -> (RGBA, width px)
    "coastline": ((0.05, 0.05, 0.08, 0.95), 1.6),
    "border": ((0.30, 0.10, 0.35, 0.9), 1.4),
    "lake": ((0.10, 0.35, 0.75, 0.95), 1.2),
    "river": ((0.15, 0.45, 0.90, 0.9), 1.0),
}
WHITE = (1.0, 1.0, 1.0, 1.0)


class Layer:
    name: ClassVar[str]
    title: ClassVar[str]  # what the View menu calls it
    view_dependent: ClassVar[bool] = False  # redrawn when the view pans or zooms
    default_visible: ClassVar[bool] = True

    def __init__(self) -> None:
        self.visible = self.default_visible
        self._notify: Callable[[str], None] = lambda _name: None

    def changed(self) -> None:
        self._notify(self.name)

    def set_visible(self, on: bool) -> None:
        if on != self.visible:
            self.visible = on
            self.changed()

    def primitives(self, view: View) -> list[Primitive]:
        raise NotImplementedError


class HillshadeLayer(Layer):
    name, title = "hillshade", "Terrain shading"

    def __init__(self) -> None:
        super().__init__()
        self.shade: Raster | None = None

    def set(self, shade: np.ndarray, lat: np.ndarray, lon: np.ndarray) -> None:
        self.shade = Raster(np.nan_to_num(shade, nan=0.5).astype(np.float32), lat, lon)
        self.changed()

    def primitives(self, view: View) -> list[Primitive]:
        return [self.shade] if self.shade is not None else []


class FieldLayer(Layer):
    """A (time, lat, lon) stack in stored units; the colour policy lives here."""

    name, title = "field", "Field"

    def __init__(self) -> None:
        super().__init__()
        self.frames = np.full((1, 2, 2), np.nan, np.float32)
        self.lat, self.lon = np.array([0.0, 1.0]), np.array([0.0, 1.0])
        self.variable, self.difference, self.t = "temperature", False, 0
        self.units, self.stepped = DisplayUnits(), False
        self.cmap: str | None = None
        self.opacity = 1.0
        self.scale: ColourScale = colour_scale(self.frames, self.variable)

    def set_data(self, frames: np.ndarray, lat: np.ndarray, lon: np.ndarray, variable: str,
                 *, difference: bool = False, t: int = 0, cmap: str | None = None,
                 units: DisplayUnits | None = None, stepped: bool | None = None) -> None:
        """A new stack (kept as given, not copied), with the style changes that go with
        it in the same update: a style set first would recolour, and re-upload, the
        stack about to be replaced."""
        self.frames, self.lat, self.lon = np.asarray(frames), np.asarray(lat), np.asarray(lon)
        self.variable, self.difference, self.t, self.cmap = variable, difference, t, cmap
        self.units = units or self.units
        self.stepped = self.stepped if stepped is None else stepped
        self._rescale()

    def set_style(self, *, units: DisplayUnits | None = None, cmap: str | None = None,
                  stepped: bool | None = None, opacity: float | None = None) -> None:
        self.units = units or self.units
        self.cmap = cmap or self.cmap
        self.stepped = self.stepped if stepped is None else stepped
        self.opacity = self.opacity if opacity is None else opacity
        self._rescale()

    def set_time(self, t: int) -> None:
        self.t = int(t)
        self.changed()

    def _rescale(self) -> None:
        self.scale = colour_scale(self.frames, self.variable, difference=self.difference,
                                  units=self.units, cmap=self.cmap, stepped=self.stepped)
        self.changed()

    def frames_primitive(self) -> FieldFrames:
        """The field as drawn: needs no view (a time step asks for it per frame)."""
        return FieldFrames(self.frames, self.t, self.lat, self.lon, self.scale,
                           self.opacity)

    def primitives(self, view: View) -> list[Primitive]:
        return [self.frames_primitive()]


class BasemapLayer(Layer):
    """Natural Earth coastlines, borders, lakes and rivers at the scale the zoom needs."""

    name, title = "basemap", "Coastlines, borders, lakes, rivers"
    view_dependent = True

    def primitives(self, view: View) -> list[Primitive]:
        out: list[Primitive] = []
        for kind in ("river", "lake", "border", "coastline"):
            parts = basemap.lines_in(kind, view)
            if parts:
                color, width = BASEMAP_STYLE[kind]
                out.append(Lines(parts, color, width))
        return out


class PlacesLayer(Layer):
    name, title = "places", "Place names"
    view_dependent = True

    def primitives(self, view: View) -> list[Primitive]:
        lon, lat, names = basemap.places()
        inside = np.flatnonzero((lon >= view.west) & (lon <= view.east)
                                & (lat >= view.south) & (lat <= view.north))
        if not inside.size:
            return []
        return [Points(lon[inside], lat[inside], np.tile((0.1, 0.1, 0.1, 1.0), (inside.size, 1)),
                       np.tile(WHITE, (inside.size, 1)), np.full(inside.size, 7.0),
                       symbol="square", edge_width=1.0),
                Texts(lon[inside], lat[inside], [names[k] for k in inside], size=9.0,
                      offset_px=(7.0, 0.0))]


class GraticuleLayer(Layer):
    """Latitude/longitude lines every round step, labelled at the view's edges."""

    name, title = "graticule", "Latitude/longitude grid"
    view_dependent = True

    def primitives(self, view: View) -> list[Primitive]:
        # the shorter side decides the step, so both directions get a few labelled lines
        step = basemap.graticule_step(min(view.north - view.south, view.east - view.west))
        lons = np.arange(np.ceil(view.west / step) * step, view.east, step)
        lats = np.arange(np.ceil(view.south / step) * step, view.north, step)
        parts = [np.array([[x, view.south], [x, view.north]]) for x in lons]
        parts += [np.array([[view.west, y], [view.east, y]]) for y in lats]
        # no label in the corner, where the two edges' labels would overlap
        lon_labels = lons[lons > view.west + 0.06 * (view.east - view.west)]
        # every k-th meridian labelled when labels would run into each other
        # ("118.30°W118.25°W"): about 6.5 px per character of an 8 pt label
        px_per_lon = view.px_per_deg * np.cos(np.radians((view.south + view.north) / 2))
        width = 6.5 * max((len(basemap.degree_text(x, "E", "W", step)) for x in lon_labels),
                          default=0) + 8.0
        lon_labels = lon_labels[::max(1, int(np.ceil(width / max(step * px_per_lon, 1e-9))))]
        lat_labels = lats[lats > view.south + 0.06 * (view.north - view.south)]
        # one label set (one draw): each meridian's label just right of it at the bottom
        # edge, each parallel's just above it at the left edge
        return [
            Lines(parts, (1.0, 1.0, 1.0, 0.45), 1.0),
            Texts(np.concatenate([lon_labels, np.full(lat_labels.size, view.west)]),
                  # (a label hangs below its anchor: the bottom row sits one line up)
                  np.concatenate([np.full(lon_labels.size, view.south + 14.0 / view.px_per_deg),
                                  lat_labels]),
                  [basemap.degree_text(x, "E", "W", step) for x in lon_labels]
                  + [basemap.degree_text(y, "N", "S", step) for y in lat_labels],
                  anchor_x="left", anchor_y="bottom", offset_px=(3.0, -3.0), size=8.0),
        ]


class ScaleBarLayer(Layer):
    name, title = "scalebar", "Scale bar"
    view_dependent = True

    def primitives(self, view: View) -> list[Primitive]:
        km = basemap.scale_bar_km(view)
        mid = 0.5 * (view.south + view.north)
        dlon = km / (basemap.KM_PER_DEG * np.cos(np.radians(mid)))
        x0 = view.east - 0.05 * (view.east - view.west) - dlon
        y0 = view.south + 0.06 * (view.north - view.south)
        tick = 0.012 * (view.north - view.south)
        bar = np.array([[x0, y0 + tick], [x0, y0], [x0 + dlon, y0], [x0 + dlon, y0 + tick]])
        text = f"{km:g} km" if km >= 1 else f"{km * 1000:g} m"
        return [Lines([bar], (0.0, 0.0, 0.0, 1.0), 4.0), Lines([bar], WHITE, 2.0),
                Texts(np.array([x0 + dlon / 2]), np.array([y0 + tick]), [text],
                      anchor_x="center", anchor_y="bottom", size=9.0)]


class StationsLayer(Layer):
    """Stations coloured by their QARTOD flag at the shown step; the selected one ringed."""

    name, title = "stations", "Stations"
    view_dependent = True  # names sit a fixed number of pixels beside the markers

    def __init__(self) -> None:
        super().__init__()
        self.lat, self.lon = np.zeros(0), np.zeros(0)
        self.flags = np.zeros(0, np.uint8)
        self.names: list[str] = []
        self.selected: int | None = None
        self.show_names = True

    def set(self, lat: np.ndarray, lon: np.ndarray, flags: np.ndarray,
            names: list[str] | None = None, selected: int | None = None) -> None:
        lat, lon = np.asarray(lat, float), np.asarray(lon, float)
        flags = np.asarray(flags, np.uint8)
        names = list(names) if names is not None else self.names[: lat.size]
        if (selected == self.selected and names == self.names
                and np.array_equal(lat, self.lat) and np.array_equal(lon, self.lon)
                and np.array_equal(flags, self.flags)):
            return  # the window sets them at every time step; most steps change nothing
        self.lat, self.lon, self.flags, self.selected, self.names = lat, lon, flags, selected, names
        self.changed()

    def primitives(self, view: View) -> list[Primitive]:
        n = self.lat.size
        if not n:
            return []
        face = np.array([QC_COLORS.get(int(f), QC_COLORS[2]) for f in self.flags], np.float32)
        edge = np.tile(np.array(WHITE, np.float32), (n, 1))
        size = np.full(n, 13.0, np.float32)
        if self.selected is not None and 0 <= self.selected < n:
            edge[self.selected] = (0.0, 0.9, 1.0, 1.0)
            size[self.selected] = 19.0
        out: list[Primitive] = [Points(self.lon, self.lat, face, edge, size)]
        if self.show_names and len(self.names) == n:
            out.append(Texts(self.lon, self.lat, self.names, size=8.0, offset_px=(11.0, 0.0)))
        return out


class SelectionLayer(Layer):
    name, title = "selection", "Selection box"

    def __init__(self) -> None:
        super().__init__()
        self.box: tuple[float, float, float, float] | None = None  # S, W, N, E

    def set(self, box: tuple[float, float, float, float] | None) -> None:
        self.box = box
        self.changed()

    def primitives(self, view: View) -> list[Primitive]:
        if self.box is None:
            return []
        s, w, n, e = self.box
        ring = np.array([[w, s], [e, s], [e, n], [w, n], [w, s]])
        return [Lines([ring], (0.0, 0.9, 1.0, 1.0), 2.0)]


class WatchLayer(Layer):
    """Live watch status per station (ok, alert, stale, none) as diamonds: its own
    layer, so a time step that redraws the stations leaves it alone."""

    name, title = "watch", "Watch status"

    def __init__(self) -> None:
        super().__init__()
        self.lat, self.lon = np.zeros(0), np.zeros(0)
        self.status: list[str] = []

    def set(self, lat: np.ndarray, lon: np.ndarray, status: list[str]) -> None:
        self.lat, self.lon, self.status = np.asarray(lat, float), np.asarray(lon, float), status
        self.changed()

    def primitives(self, view: View) -> list[Primitive]:
        n = self.lat.size
        if not n:
            return []
        face = np.array([WATCH_COLORS.get(s, WATCH_COLORS["none"]) for s in self.status],
                        np.float32)
        return [Points(self.lon, self.lat, face, np.tile(np.array((0, 0, 0, 1.0)), (n, 1)),
                       np.full(n, 16.0, np.float32), symbol="diamond")]


# Bottom to top. A new layer: one class above and one entry here.
LAYER_TYPES: tuple[type[Layer], ...] = (
    HillshadeLayer, FieldLayer, BasemapLayer, GraticuleLayer, PlacesLayer, StationsLayer,
    WatchLayer, SelectionLayer, ScaleBarLayer,
)
