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
from desktop_app.validation import check_coordinates, check_finite_values, check_times

STATION_COORDS = ("station_id", "latitude", "longitude", "elevation")


def _check_time(ds: xr.Dataset, what: str) -> None:
    if "time" not in ds.coords:
        raise SchemaError(f"{what}: missing coordinate 'time'")
    time = ds["time"]
    if time.dtype != np.dtype("datetime64[ns]"):
        raise SchemaError(f"{what}: 'time' must be datetime64[ns] UTC, got {time.dtype}")
    if time.size > 1 and not bool((np.diff(time.values) > np.timedelta64(0, "ns")).all()):
        raise SchemaError(f"{what}: 'time' must be strictly increasing")
    check_times(time.values, what, SchemaError)


def _eager(da: xr.DataArray) -> bool:
    """Values already in memory (a Dask-backed archive is checked chunk by chunk where it
    is computed, not loaded whole here)."""
    return da.chunks is None


def _check_values(ds: xr.Dataset, key: str, what: str, *, envelope: bool) -> None:
    """No infinities in a registry variable; on grids (model inputs) no value far outside
    its physical range either (1e30 degC is a fill value or a unit error, and a model would
    extrapolate it into a map). Station values out of range are QC's to flag, not refused."""
    da = ds[key]
    if not _eager(da) or not np.issubdtype(da.dtype, np.floating):
        return
    var = VARIABLES[key]
    values = np.asarray(da.values)
    if np.isinf(values).any():
        raise SchemaError(f"{what}: variable {key!r} holds infinite values")
    if envelope:
        margin = 0.5 * (var.valid_max - var.valid_min)
        check_finite_values(values, f"{what}: variable {key!r}",
                            low=var.valid_min - margin, high=var.valid_max + margin,
                            error=SchemaError)


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
            _check_values(ds, key, what, envelope=dims[0] != "station")


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
    # NaN is an unknown position (a CSV without --lat/--lon); inf or 95 deg is an error
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
    check_coordinates(lat, lon, what, SchemaError)
    if require_time:
        if "time" not in ds.dims:
            raise SchemaError(f"{what}: missing dimension 'time'")
        _check_time(ds, what)
    _check_variables(ds, ("time", "latitude", "longitude"), what)
    return ds


def check_overlap(coarse: xr.Dataset, terrain: xr.Dataset,
                  what: str = "coarse input and terrain") -> None:
    """The terrain lies within the coarse grid (one coarse cell of slack on each side): a
    field from elsewhere would be extrapolated into a map that looks plausible."""
    spans = []
    for dim in ("latitude", "longitude"):
        c = np.asarray(coarse[dim].values, float)
        t = np.asarray(terrain[dim].values, float)
        cell = float(np.abs(np.diff(c)).max()) if c.size > 1 else 1.0
        if t.min() < c.min() - cell or t.max() > c.max() + cell:
            spans.append(f"{dim} {t.min():g}..{t.max():g} vs {c.min():g}..{c.max():g}")
    if spans:
        raise SchemaError(f"{what} do not overlap: the terrain lies outside the coarse "
                          f"grid ({'; '.join(spans)})")
