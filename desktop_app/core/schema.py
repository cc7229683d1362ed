"""Validators for the two canonical dataset shapes.

Station data: dims ``(station, time)`` with coordinates ``station_id``, ``latitude``,
``longitude`` and ``elevation`` on ``station``. Grids: ``(time, latitude, longitude)``
with ascending latitude and longitude in -180..180. Time is naive UTC ``datetime64[ns]``.
Each data variable in the registry carries its CF ``standard_name`` and ``units``.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from desktop_app.core.variables import VARIABLES
from desktop_app.errors import SchemaError

STATION_COORDS = ("station_id", "latitude", "longitude", "elevation")


def _check_time(ds: xr.Dataset, what: str) -> None:
    if "time" not in ds.coords:
        raise SchemaError(f"{what}: missing coordinate 'time'")
    time = ds["time"]
    if time.dtype != np.dtype("datetime64[ns]"):
        raise SchemaError(f"{what}: 'time' must be datetime64[ns] UTC, got {time.dtype}")
    if time.size > 1 and not bool((np.diff(time.values) > np.timedelta64(0, "ns")).all()):
        raise SchemaError(f"{what}: 'time' must be strictly increasing")


def _check_variables(ds: xr.Dataset, dims: tuple[str, ...], what: str) -> None:
    for name, da in ds.data_vars.items():
        key = str(name)
        if key.endswith("_qc"):
            continue
        if key in VARIABLES:
            var = VARIABLES[key]
            if da.attrs.get("units") != var.units:
                raise SchemaError(
                    f"{what}: variable {key!r} must be in {var.units!r}, "
                    f"has units={da.attrs.get('units')!r}"
                )
            if da.attrs.get("standard_name") != var.standard_name:
                raise SchemaError(
                    f"{what}: variable {key!r} needs standard_name={var.standard_name!r}"
                )
            if da.dims != dims and da.dims != dims[1:]:
                raise SchemaError(f"{what}: variable {key!r} has dims {da.dims}, want {dims}")


def validate_station_dataset(ds: xr.Dataset) -> xr.Dataset:
    """Raise :class:`SchemaError` naming the first problem; return ``ds`` if valid."""
    what = "station dataset"
    for dim in ("station", "time"):
        if dim not in ds.dims:
            raise SchemaError(f"{what}: missing dimension {dim!r}")
    for coord in STATION_COORDS:
        if coord not in ds.coords:
            raise SchemaError(f"{what}: missing coordinate {coord!r}")
        if ds[coord].dims != ("station",):
            raise SchemaError(f"{what}: coordinate {coord!r} must be on 'station'")
    _check_time(ds, what)
    lat = ds["latitude"].values
    lon = ds["longitude"].values
    if np.any(np.abs(lat) > 90) or np.any(np.abs(lon) > 180):
        raise SchemaError(f"{what}: station latitude/longitude out of range")
    _check_variables(ds, ("station", "time"), what)
    return ds


def validate_grid_dataset(ds: xr.Dataset, *, require_time: bool = True) -> xr.Dataset:
    """Raise :class:`SchemaError` naming the first problem; return ``ds`` if valid."""
    what = "grid dataset"
    for dim in ("latitude", "longitude"):
        if dim not in ds.dims:
            raise SchemaError(f"{what}: missing dimension {dim!r}")
    lat = ds["latitude"].values
    lon = ds["longitude"].values
    if lat.size > 1 and not bool((np.diff(lat) > 0).all()):
        raise SchemaError(f"{what}: latitude must be ascending")
    if lon.size > 1 and not bool((np.diff(lon) > 0).all()):
        raise SchemaError(f"{what}: longitude must be ascending")
    if np.any(lon < -180) or np.any(lon > 180):
        raise SchemaError(f"{what}: longitude must be within -180..180")
    if require_time:
        if "time" not in ds.dims:
            raise SchemaError(f"{what}: missing dimension 'time'")
        _check_time(ds, what)
    _check_variables(ds, ("time", "latitude", "longitude"), what)
    return ds
