"""Station neighbour search for the buddy check: a KD-tree on 3-D Earth coordinates.

Stations become points on a sphere of radius 6,378,137 m (titanlib's ``radius_earth``)
and neighbours are found by straight-line (chord) distance, exactly the distance
titanlib compares its radius with. Building the tree and listing all pairs within a
radius costs ~n log n plus the number of pairs, so 50,000 stations take well under a
second instead of titanlib's per-station tree walks.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.spatial import cKDTree

EARTH_RADIUS_M = 6378137.0


def to_xyz(lats: ArrayLike, lons: ArrayLike) -> NDArray[np.float64]:
    lat = np.deg2rad(np.asarray(lats, dtype=np.float64))
    lon = np.deg2rad(np.asarray(lons, dtype=np.float64))
    coslat = np.cos(lat)
    return np.ascontiguousarray(
        np.stack(
            [coslat * np.cos(lon), coslat * np.sin(lon), np.sin(lat)], axis=-1
        ) * EARTH_RADIUS_M
    )


class StationIndex:
    """Fixed station positions; neighbour lists per radius in CSR form (int64)."""

    def __init__(self, lats: ArrayLike, lons: ArrayLike) -> None:
        lat = np.asarray(lats, dtype=np.float64).ravel()
        lon = np.asarray(lons, dtype=np.float64).ravel()
        if lat.shape != lon.shape:
            raise ValueError("lats and lons must have the same length")
        if not (np.all(np.isfinite(lat)) and np.all(np.isfinite(lon))):
            raise ValueError("station coordinates must be finite")
        self.lats = lat
        self.lons = lon
        self.size = lat.size
        self.xyz = to_xyz(lat, lon)
        self._tree = cKDTree(self.xyz) if self.size else None
        self._cached = lru_cache(maxsize=4)(self._neighbours)

    def neighbours(self, radius: float) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """Stations within ``radius`` m of each station (chord distance, inclusive),
        excluding the station itself and any at exactly the same coordinates."""
        return self._cached(float(radius))

    def _neighbours(self, radius: float) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        n = self.size
        if self._tree is None:
            return np.zeros(1, np.int64), np.zeros(0, np.int64)
        pairs = self._tree.query_pairs(radius, output_type="ndarray").astype(np.int64)
        a, b = pairs[:, 0], pairs[:, 1]
        # titanlib's neighbour search drops points equal to the query point
        same = (self.lats[a] == self.lats[b]) & (self.lons[a] == self.lons[b])
        a, b = a[~same], b[~same]
        src = np.concatenate([a, b])
        dst = np.concatenate([b, a])
        order = np.argsort(src, kind="stable")
        indices = np.ascontiguousarray(dst[order])
        counts = np.bincount(src, minlength=n)
        indptr = np.zeros(n + 1, np.int64)
        np.cumsum(counts, out=indptr[1:])
        return indptr, indices
