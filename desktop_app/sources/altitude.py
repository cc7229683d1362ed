"""The bundled global altitude grid: a documented fallback when a source carries no
orography of its own.

pvlib's ``Altitude.h5`` (5 arc-minutes, about 9 km; uint8 where metres = value x 28 - 450
and 255 = no data; rows from 90 N southward, columns from 180 W eastward; aggregated by
Mapzen/Tilezen from SRTM, GMTED2010, ETOPO1 and national DEMs) ships with the sample
region (``resources/sample_region/source``). Its 28 m steps and 9 km cells make it a
coarse stand-in: good enough for a 0.25 degree reanalysis cell or a station's rough
height, never for terrain. Every value taken from it is labelled as such by the caller.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from desktop_app import paths
from desktop_app.errors import DataFileError

CELLS_PER_DEGREE = 12  # 5 arc-minutes
NODATA = 255
DESCRIPTION = ("the bundled 5 arc-minute altitude grid (pvlib Altitude.h5: SRTM, GMTED2010, "
               "ETOPO1; 28 m steps), an approximation")


def altitude_grid_path() -> Path:
    return paths.resources_dir() / "sample_region" / "source" / "Altitude.h5"


@lru_cache(maxsize=1)
def _grid() -> np.ndarray:
    """Metres as float32 (no data -> NaN), read once; netCDF4 reads this plain HDF5."""
    import netCDF4  # lazy, as everywhere in the app

    path = altitude_grid_path()
    try:
        with netCDF4.Dataset(path) as nc:
            raw = np.asarray(nc["Altitude"][...], dtype="uint8")
    except (OSError, KeyError, IndexError) as exc:
        raise DataFileError(f"cannot read the bundled altitude grid {path}: {exc}") from exc
    metres = raw.astype("float32") * 28.0 - 450.0
    metres[raw == NODATA] = np.nan
    return metres


def _row_col(lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    rows = np.clip(np.floor((90.0 - lat) * CELLS_PER_DEGREE), 0, 180 * CELLS_PER_DEGREE - 1)
    lon = ((np.asarray(lon, float) + 180.0) % 360.0) - 180.0
    cols = np.clip(np.floor((lon + 180.0) * CELLS_PER_DEGREE), 0, 360 * CELLS_PER_DEGREE - 1)
    return rows.astype(int), cols.astype(int)


def point_altitude(latitudes: np.ndarray, longitudes: np.ndarray) -> np.ndarray:
    """Metres at points: the 5 arc-minute cell each point falls in (sea/no data -> 0 m
    where the grid marks the open sea, which is what a coastal station stands at)."""
    lat = np.asarray(latitudes, float)
    rows, cols = _row_col(lat, np.asarray(longitudes, float))
    out = _grid()[rows, cols].astype("float64")
    return np.where(np.isnan(out), 0.0, out)


def cell_mean_altitude(latitude: np.ndarray, longitude: np.ndarray) -> np.ndarray:
    """Metres (latitude, longitude): the mean of the 5 arc-minute cells whose centres fall
    inside each cell of a regular lat/lon grid (given by its centres); no data counts as
    sea level, as in ERA5's own orography over water."""
    lat = np.asarray(latitude, float)
    lon = np.asarray(longitude, float)
    dlat = float(np.median(np.abs(np.diff(lat)))) if lat.size > 1 else 0.25
    dlon = float(np.median(np.abs(np.diff(lon)))) if lon.size > 1 else 0.25
    grid = np.nan_to_num(_grid(), nan=0.0)
    ncol = grid.shape[1]
    src_lat = 90.0 - (np.arange(grid.shape[0]) + 0.5) / CELLS_PER_DEGREE
    src_lon = -180.0 + (np.arange(ncol) + 0.5) / CELLS_PER_DEGREE
    # each target column as a run (start, count) of source columns, cyclic in longitude
    # so that cells next to the antimeridian find their neighbours
    starts = np.empty(lon.size, dtype=int)
    counts = np.empty(lon.size, dtype=int)
    for j, x in enumerate(lon):
        cols = np.flatnonzero(np.abs(((src_lon - x + 180.0) % 360.0) - 180.0) <= dlon / 2.0)
        if cols.size == 0:
            cols = _row_col(np.zeros(1), np.array([x]))[1]
        gaps = np.flatnonzero(np.diff(cols) > 1)
        starts[j] = cols[gaps[0] + 1] if gaps.size else cols[0]
        counts[j] = cols.size
    out = np.empty((lat.size, lon.size))
    for i, y in enumerate(lat):
        rows = np.flatnonzero(np.abs(src_lat - y) <= dlat / 2.0)
        if rows.size == 0:
            rows = _row_col(np.array([y]), np.zeros(1))[0]
        column_means = grid[rows].astype("float64").mean(axis=0)
        running = np.concatenate([[0.0], np.cumsum(np.tile(column_means, 2))])
        out[i] = (running[starts + counts] - running[starts]) / counts
    return out.astype("float32")
