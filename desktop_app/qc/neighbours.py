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
from typing import NamedTuple

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


@njit(cache=True)
def _cell_range(keys: np.ndarray, ijk: np.ndarray, i: int, di: int, dj: int,
                dk: int) -> tuple[int, int]:
    key = ((ijk[i, 0] + di) * 2_097_152 + ijk[i, 1] + dj) * 2_097_152 + (ijk[i, 2] + dk)
    return np.searchsorted(keys, key, side="left"), np.searchsorted(keys, key, side="right")


@njit(cache=True, parallel=True)
def _count(x: np.ndarray, y: np.ndarray, z: np.ndarray, radius: np.ndarray, ijk: np.ndarray,
           keys: np.ndarray, counts: np.ndarray) -> None:
    """Number of neighbours of each station (into ``counts[i + 1]``).

    Everything is in cell-sorted order, so the candidates of a cell are one contiguous
    run of rows: the scan reads memory sequentially instead of hopping around. A zero
    distance (the station itself, or one at the same position) never counts: titanlib's
    neighbour search drops such "matches" too.
    """
    for i in prange(x.size):
        k = 0
        r2 = radius[i] * radius[i]
        for di in range(-1, 2):
            for dj in range(-1, 2):
                for dk in range(-1, 2):
                    lo, hi = _cell_range(keys, ijk, i, di, dj, dk)
                    for j in range(lo, hi):
                        dx = x[i] - x[j]
                        dy = y[i] - y[j]
                        dz = z[i] - z[j]
                        d2 = dx * dx + dy * dy + dz * dz
                        # r2 only pre-screens; the exact test is sqrt(d2) < r below
                        if d2 > 0.0 and d2 <= r2 * 1.000001 and math.sqrt(d2) < radius[i]:
                            k += 1
        counts[i + 1] = k


@njit(cache=True, parallel=True)
def _fill(x: np.ndarray, y: np.ndarray, z: np.ndarray, radius: np.ndarray, ijk: np.ndarray,
          keys: np.ndarray, indptr: np.ndarray, indices: np.ndarray) -> None:
    """Write the neighbours counted by :func:`_count` (same test, same order)."""
    for i in prange(x.size):
        k = indptr[i]
        r2 = radius[i] * radius[i]
        for di in range(-1, 2):
            for dj in range(-1, 2):
                for dk in range(-1, 2):
                    lo, hi = _cell_range(keys, ijk, i, di, dj, dk)
                    for j in range(lo, hi):
                        dx = x[i] - x[j]
                        dy = y[i] - y[j]
                        dz = z[i] - z[j]
                        d2 = dx * dx + dy * dy + dz * dz
                        if d2 > 0.0 and d2 <= r2 * 1.000001 and math.sqrt(d2) < radius[i]:
                            indices[k] = j
                            k += 1


class Neighbours(NamedTuple):
    """CSR neighbour lists in cell-sorted order: station ``order[p]`` sits at position p;
    the neighbours of position p are positions ``indices[indptr[p]:indptr[p + 1]]``."""

    order: NDArray[np.int64]
    indptr: NDArray[np.int64]
    indices: NDArray[np.int32]


class StationIndex:
    """Fixed station positions; neighbour lists per radius set, cached."""

    def __init__(self, lats: ArrayLike, lons: ArrayLike) -> None:
        lat = np.asarray(lats, dtype=np.float64).ravel()
        lon = np.asarray(lons, dtype=np.float64).ravel()
        if lat.shape != lon.shape:
            raise ValueError("lats and lons must have the same length")
        if not (np.all(np.isfinite(lat)) and np.all(np.isfinite(lon))):
            raise ValueError("station coordinates must be finite")
        self.size = lat.size
        self.xyz = to_xyz(lat, lon)
        self._cache: dict[bytes, Neighbours] = {}

    def neighbours(self, radius: ArrayLike) -> Neighbours:
        """For each station i, the stations closer than ``radius[i]`` m (chord distance),
        excluding i itself and any station at exactly the same position."""
        radii = np.ascontiguousarray(
            np.broadcast_to(np.asarray(radius, dtype=np.float64), (self.size,))
        )
        key = radii.tobytes()
        if key not in self._cache:
            self._cache.clear()  # one radius set is in use at a time
            self._cache[key] = self._build(radii)
        return self._cache[key]

    def _build(self, radii: NDArray[np.float64]) -> Neighbours:
        n = self.size
        indptr = np.zeros(n + 1, np.int64)
        if n == 0:
            return Neighbours(np.zeros(0, np.int64), indptr, np.zeros(0, np.int32))
        ijk, keys = _cell_keys(self.xyz, max(float(radii.max()), 10.0))
        order = np.argsort(keys, kind="stable")
        x, y, z = (np.ascontiguousarray(self.xyz[order, a]) for a in range(3))
        r = np.ascontiguousarray(radii[order])
        ijk = np.ascontiguousarray(ijk[order])
        keys = np.ascontiguousarray(keys[order])
        _count(x, y, z, r, ijk, keys, indptr)
        np.cumsum(indptr, out=indptr)
        indices = np.empty(int(indptr[-1]), np.int32)
        _fill(x, y, z, r, ijk, keys, indptr, indices)
        return Neighbours(order.astype(np.int64), indptr, indices)
