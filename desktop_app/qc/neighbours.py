"""Station neighbour search for the buddy check: a Numba grid index on 3-D coordinates.

Stations become points on a sphere of radius 6,378,137 m (titanlib's ``radius_earth``)
and neighbours are found by straight-line (chord) distance, the distance titanlib
compares its radius with. Stations are binned into cubes one (largest) radius wide and
sorted by cube; a station's neighbours can only sit in the 27 cubes around its own, so
the cost is n log n for the sort plus the work per candidate pair, not n^2. The result
is a CSR neighbour list (int32 indices) built once per station set and reused for every
time step and iteration.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange
from numpy.typing import ArrayLike, NDArray

EARTH_RADIUS_M = 6378137.0


def to_xyz(lats: ArrayLike, lons: ArrayLike) -> NDArray[np.float64]:
    lat = np.deg2rad(np.asarray(lats, dtype=np.float64))
    lon = np.deg2rad(np.asarray(lons, dtype=np.float64))
    coslat = np.cos(lat)
    xyz = np.stack([coslat * np.cos(lon), coslat * np.sin(lon), np.sin(lat)], axis=-1)
    return np.ascontiguousarray(xyz * EARTH_RADIUS_M)


@njit(cache=True)
def _cell_keys(xyz: np.ndarray, cell: float) -> tuple[np.ndarray, np.ndarray]:
    n = xyz.shape[0]
    ijk = np.empty((n, 3), np.int64)
    keys = np.empty(n, np.int64)
    for i in range(n):
        for a in range(3):
            # the sphere spans +-6.4e6 m; offset keeps cell numbers non-negative
            ijk[i, a] = int(math.floor((xyz[i, a] + 7.0e6) / cell))
        keys[i] = (ijk[i, 0] * 2_097_152 + ijk[i, 1]) * 2_097_152 + ijk[i, 2]
    return ijk, keys


@njit(cache=True, parallel=True)
def _scan(
    xyz: np.ndarray, lats: np.ndarray, lons: np.ndarray, radius: np.ndarray,
    ijk: np.ndarray, sorted_keys: np.ndarray, order: np.ndarray,
    indptr: np.ndarray, indices: np.ndarray, fill: bool,
) -> None:
    """Count (``fill=False``, into ``indptr[i+1]``) or write the neighbours of each i."""
    n = xyz.shape[0]
    for i in prange(n):
        k = indptr[i] if fill else 0
        r = radius[i]
        for di in range(-1, 2):
            for dj in range(-1, 2):
                for dk in range(-1, 2):
                    key = ((ijk[i, 0] + di) * 2_097_152 + ijk[i, 1] + dj) * 2_097_152 + (
                        ijk[i, 2] + dk
                    )
                    lo = np.searchsorted(sorted_keys, key, side="left")
                    hi = np.searchsorted(sorted_keys, key, side="right")
                    for p in range(lo, hi):
                        j = order[p]
                        if j == i or (lats[j] == lats[i] and lons[j] == lons[i]):
                            continue  # titanlib drops points equal to the query point
                        dx = xyz[i, 0] - xyz[j, 0]
                        dy = xyz[i, 1] - xyz[j, 1]
                        dz = xyz[i, 2] - xyz[j, 2]
                        if math.sqrt(dx * dx + dy * dy + dz * dz) < r:
                            if fill:
                                indices[k] = j
                            k += 1
        if not fill:
            indptr[i + 1] = k


class StationIndex:
    """Fixed station positions; neighbour lists per radius in CSR form."""

    def __init__(self, lats: ArrayLike, lons: ArrayLike) -> None:
        lat = np.ascontiguousarray(np.asarray(lats, dtype=np.float64).ravel())
        lon = np.ascontiguousarray(np.asarray(lons, dtype=np.float64).ravel())
        if lat.shape != lon.shape:
            raise ValueError("lats and lons must have the same length")
        if not (np.all(np.isfinite(lat)) and np.all(np.isfinite(lon))):
            raise ValueError("station coordinates must be finite")
        self.lats = lat
        self.lons = lon
        self.size = lat.size
        self.xyz = to_xyz(lat, lon)
        self._cache: dict[bytes, tuple[NDArray[np.int64], NDArray[np.int32]]] = {}

    def neighbours(self, radius: ArrayLike) -> tuple[NDArray[np.int64], NDArray[np.int32]]:
        """For each station i, the stations closer than ``radius[i]`` m (chord distance),
        excluding i itself and any station at exactly the same coordinates."""
        radii = np.ascontiguousarray(
            np.broadcast_to(np.asarray(radius, dtype=np.float64), (self.size,))
        )
        key = radii.tobytes()
        if key not in self._cache:
            self._cache.clear()  # one radius set is in use at a time
            self._cache[key] = self._build(radii)
        return self._cache[key]

    def _build(self, radii: NDArray[np.float64]) -> tuple[NDArray[np.int64], NDArray[np.int32]]:
        n = self.size
        indptr = np.zeros(n + 1, np.int64)
        if n == 0:
            return indptr, np.zeros(0, np.int32)
        cell = max(float(radii.max()), 10.0)
        ijk, keys = _cell_keys(self.xyz, cell)
        order = np.argsort(keys, kind="stable")
        sorted_keys = np.ascontiguousarray(keys[order])
        dummy = np.zeros(0, np.int32)
        _scan(self.xyz, self.lats, self.lons, radii, ijk, sorted_keys, order, indptr, dummy,
              False)
        np.cumsum(indptr, out=indptr)
        indices = np.empty(int(indptr[-1]), np.int32)
        _scan(self.xyz, self.lats, self.lons, radii, ijk, sorted_keys, order, indptr, indices,
              True)
        return indptr, indices
