"""What a layer asks a renderer to draw, in geographic coordinates (degrees).

Both renderers (the vispy canvas and the QPainter PNG export) know only these few
shapes, so a new layer needs no renderer code: it returns primitives.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

RGBA = tuple[float, float, float, float]


@dataclass(frozen=True)
class View:
    """The part of the world a renderer shows and how many pixels a degree takes."""

    west: float
    south: float
    east: float
    north: float
    px_per_deg: float  # pixels per degree of latitude

    @property
    def span(self) -> float:
        return max(self.north - self.south, self.east - self.west)


@dataclass(frozen=True)
class ColourScale:
    """One colour policy for the screen and the PNG: limits in stored units (what the
    texture encodes), ticks as (stored value, text) and the label with display units."""

    cmap: str
    clim: tuple[float, float]
    ticks: tuple[tuple[float, str], ...]
    label: str
    difference: bool = False
    steps: int | None = None  # stepped palette: number of colour bands
    empty: bool = False  # the values had no finite number: nothing to draw


@dataclass(frozen=True, eq=False)
class FieldFrames:
    frames: np.ndarray  # (time, lat, lon) in stored units
    t: int
    lat: np.ndarray
    lon: np.ndarray
    scale: ColourScale
    opacity: float = 1.0


@dataclass(frozen=True, eq=False)
class Raster:
    values: np.ndarray  # (lat, lon), ascending latitude
    lat: np.ndarray
    lon: np.ndarray
    cmap: str = "grays"
    clim: tuple[float, float] = (0.0, 1.0)


@dataclass(frozen=True, eq=False)
class Lines:
    parts: list[np.ndarray]  # each (n, 2) lon, lat
    color: RGBA
    width: float = 1.0  # pixels at 96 dpi


@dataclass(frozen=True, eq=False)
class Points:
    lon: np.ndarray
    lat: np.ndarray
    face: np.ndarray  # (n, 4) RGBA
    edge: np.ndarray  # (n, 4) RGBA
    size: np.ndarray  # (n,) diameter in pixels
    symbol: str = "disc"  # disc, square or diamond
    edge_width: float = 2.0


@dataclass(frozen=True, eq=False)
class Texts:
    lon: np.ndarray
    lat: np.ndarray
    strings: list[str]
    color: RGBA = (1.0, 1.0, 1.0, 1.0)
    size: float = 8.0  # points
    anchor_x: str = "left"  # left, center, right
    anchor_y: str = "center"  # top, center, bottom
    halo: bool = True
    offset_px: tuple[float, float] = field(default=(0.0, 0.0))  # right, down


Primitive = FieldFrames | Raster | Lines | Points | Texts
