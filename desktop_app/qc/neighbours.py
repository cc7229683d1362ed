"""Station neighbour search for the buddy check: a grid index on 3-D coordinates.

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
from numpy.typing import ArrayLike, NDArray

from desktop_app.qc._dispatch import export, njit
from desktop_app.qc._threads import in_threads

EARTH_RADIUS_M = 6378137.0


def to_xyz(lats: ArrayLike, lons: ArrayLike) -> NDArray[np.float64]:
    lat = np.deg2rad(np.asarray(lats, dtype=np.float64))
    lon = np.deg2rad(np.asarray(lons, dtype=np.float64))
    coslat = np.cos(lat)
    xyz = np.stack([coslat * np.cos(lon), coslat * np.sin(lon), np.sin(lat)], axis=-1)
    return np.ascontiguousarray(xyz * EARTH_RADIUS_M)


@export("f8[:, ::1], f8", returns="Tuple((i8[:, ::1], i8[::1]))", cache=True,
        error_model="numpy")
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


@njit(cache=True, error_model="numpy")
def _column_range(keys: np.ndarray, ijk: np.ndarray, i: int, di: int,
                  dj: int) -> tuple[int, int]:
    """The rows of the three cells ``(i + di, j + dj, k - 1 .. k + 1)`` around station i:
    their keys are three consecutive integers (the third index never reaches its field's
    width), so they are one run of the sorted rows, in the order the three cells would
    give one after another: two searches instead of six."""
    key = ((ijk[i, 0] + di) * 2_097_152 + ijk[i, 1] + dj) * 2_097_152 + ijk[i, 2]
    return (np.searchsorted(keys, key - 1, side="left"),
            np.searchsorted(keys, key + 1, side="right"))


@njit(cache=True, error_model="numpy")
def _row(x: np.ndarray, y: np.ndarray, z: np.ndarray, radius: np.ndarray, ijk: np.ndarray,
         keys: np.ndarray, i: int, out: np.ndarray, start: int, fill: bool) -> int:
    """Neighbours of station i: counted, and written from ``out[start]`` if ``fill``.

    Everything is in cell-sorted order, so the candidates of a cell are one contiguous
    run of rows: the scan reads memory sequentially instead of hopping around. A zero
    distance (the station itself, or one at the same position) never counts: titanlib's
    neighbour search drops such "matches" too.
    """
    k = 0
    r = radius[i]
    r2 = r * r * 1.000001  # only a pre-screen; the exact test is sqrt(d2) < r
    for di in range(-1, 2):
        for dj in range(-1, 2):
            lo, hi = _column_range(keys, ijk, i, di, dj)
            for j in range(lo, hi):
                dx = x[i] - x[j]
                dy = y[i] - y[j]
                dz = z[i] - z[j]
                d2 = dx * dx + dy * dy + dz * dz
                if d2 > 0.0 and d2 <= r2 and math.sqrt(d2) < r:
                    if fill:
                        out[start + k] = j
                    k += 1
    return k


@export("f8[::1], f8[::1], f8[::1], f8[::1], i8[:, ::1], i8[::1], i8[::1], i4[::1], b1, i8, "
        "i8", cache=True, error_model="numpy", nogil=True)
def _scan_rows(x: np.ndarray, y: np.ndarray, z: np.ndarray, radius: np.ndarray,
               ijk: np.ndarray, keys: np.ndarray, indptr: np.ndarray, indices: np.ndarray,
               fill: bool, i0: int, i1: int) -> None:
    """Rows ``i0:i1``: counted into ``indptr[i + 1]``, or written from ``indptr[i]`` if
    ``fill``; each row writes only its own entries, so threads may take disjoint ranges
    (:func:`desktop_app.qc._threads.in_threads`)."""
    for i in range(i0, i1):
        k = _row(x, y, z, radius, ijk, keys, i, indices, indptr[i], fill)
        if not fill:
            indptr[i + 1] = k


PARALLEL_MIN_STATIONS = 5000


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
        # threads only pay off for many stations (waking them costs milliseconds on a
        # busy machine, more than a small station set takes in one)
        threads = n >= PARALLEL_MIN_STATIONS
        in_threads(_scan_rows, n, x, y, z, r, ijk, keys, indptr, np.zeros(0, np.int32), False,
                   threads=threads)  # count
        np.cumsum(indptr, out=indptr)
        indices = np.empty(int(indptr[-1]), np.int32)
        in_threads(_scan_rows, n, x, y, z, r, ijk, keys, indptr, indices, True,
                   threads=threads)  # fill
        return Neighbours(order.astype(np.int64), indptr, indices)
