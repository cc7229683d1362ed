"""Regions and regular latitude/longitude grids."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from desktop_app.errors import ConfigError

METRES_PER_DEGREE = 111_320.0  # of latitude (and of longitude at the equator)


@dataclass(frozen=True)
class BBox:
    """A latitude/longitude box; longitudes in -180..180, south < north, west < east."""

    south: float
    west: float
    north: float
    east: float

    def __post_init__(self) -> None:
        if not -90.0 <= self.south < self.north <= 90.0:
            raise ConfigError(
                f"bbox latitudes must satisfy -90 <= south < north <= 90, "
                f"got south={self.south}, north={self.north}"
            )
        if not -180.0 <= self.west < self.east <= 180.0:
            raise ConfigError(
                f"bbox longitudes must satisfy -180 <= west < east <= 180, "
                f"got west={self.west}, east={self.east}"
            )

    @classmethod
    def parse(cls, text: str) -> BBox:
        """Parse ``"south,west,north,east"`` (degrees)."""
        parts = text.split(",")
        if len(parts) != 4:
            raise ConfigError(f"bbox must be 'south,west,north,east', got {text!r}")
        try:
            s, w, n, e = (float(p) for p in parts)
        except ValueError:
            raise ConfigError(f"bbox must be four numbers, got {text!r}") from None
        return cls(s, w, n, e)

    def contains(self, lat: float, lon: float) -> bool:
        return self.south <= lat <= self.north and self.west <= lon <= self.east


@dataclass(frozen=True)
class GridSpec:
    """A regular grid given by its ascending cell-centre coordinates."""

    latitude: np.ndarray
    longitude: np.ndarray

    @classmethod
    def from_bbox(cls, bbox: BBox, resolution_deg: float) -> GridSpec:
        if resolution_deg <= 0:
            raise ConfigError(f"grid resolution must be positive, got {resolution_deg}")
        nlat = max(1, math.floor((bbox.north - bbox.south) / resolution_deg + 1e-9) + 1)
        nlon = max(1, math.floor((bbox.east - bbox.west) / resolution_deg + 1e-9) + 1)
        lat = bbox.south + resolution_deg * np.arange(nlat)
        lon = bbox.west + resolution_deg * np.arange(nlon)
        return cls(lat, lon)

    @classmethod
    def tiling_box(cls, bbox: BBox, resolution_m: float) -> GridSpec:
        """Cells about ``resolution_m`` metres square that tile ``bbox`` exactly: the
        box edges are cell edges, so the grid covers the box and nothing more. The
        longitude step is widened by 1/cos(latitude) at the box centre."""
        if resolution_m <= 0:
            raise ConfigError(f"grid resolution must be positive, got {resolution_m} m")
        mid = math.radians((bbox.south + bbox.north) / 2)
        step_lat = resolution_m / METRES_PER_DEGREE
        step_lon = step_lat / max(math.cos(mid), 1e-6)
        nlat = max(1, round((bbox.north - bbox.south) / step_lat))
        nlon = max(1, round((bbox.east - bbox.west) / step_lon))
        dlat = (bbox.north - bbox.south) / nlat
        dlon = (bbox.east - bbox.west) / nlon
        return cls(bbox.south + dlat * (np.arange(nlat) + 0.5),
                   bbox.west + dlon * (np.arange(nlon) + 0.5))

    @property
    def shape(self) -> tuple[int, int]:
        return (self.latitude.size, self.longitude.size)

    @property
    def resolution(self) -> tuple[float, float]:
        """(dlat, dlon) in degrees, from the first two centres (NaN for a single cell)."""
        dlat = float(np.diff(self.latitude[:2])[0]) if self.latitude.size > 1 else math.nan
        dlon = float(np.diff(self.longitude[:2])[0]) if self.longitude.size > 1 else math.nan
        return dlat, dlon

    def cell_index(self, lat: float, lon: float) -> tuple[int, int] | None:
        """Index (i_lat, i_lon) of the cell whose centre is nearest, or None if outside."""
        dlat, dlon = self.resolution
        half_lat = abs(dlat) / 2 if not math.isnan(dlat) else 0.0
        half_lon = abs(dlon) / 2 if not math.isnan(dlon) else 0.0
        if not (
            self.latitude[0] - half_lat <= lat <= self.latitude[-1] + half_lat
            and self.longitude[0] - half_lon <= lon <= self.longitude[-1] + half_lon
        ):
            return None
        i = int(np.abs(self.latitude - lat).argmin())
        j = int(np.abs(self.longitude - lon).argmin())
        return i, j
