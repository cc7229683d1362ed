"""The one CF-1.8 NetCDF writer: every NetCDF the app writes (fetch, forecast, qc, the
window's field export, batch results, the watch's training set) goes through
:func:`write_netcdf`, so every file opens georeferenced in GDAL/QGIS and passes the IOOS
compliance checker.

What the canonical in-memory schema leaves implicit is made explicit here, at the edge:
- coordinate variables carry ``standard_name``/``units``/``axis`` and no ``_FillValue``;
- time is stored as double seconds since 1970 (CF-1.8 has no 64-bit integers);
- gridded variables name a ``crs`` grid-mapping variable (WGS 84 latitude/longitude, the
  only grid the app has), which GDAL reads as the raster's coordinate system;
- QARTOD flags (``uint8`` in memory) are stored as signed bytes with byte
  ``flag_values``, as ioos_qc writes them: CF-1.8 has no unsigned types.
Writes are atomic (temp file + rename): a failed or cancelled write never leaves a half
file at the destination. :func:`desktop_app.fsutil.load_netcdf` undoes the encoding.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from desktop_app.errors import DataFileError
from desktop_app.fsutil import GRID_MAPPING, atomic_path

FILL = np.float32(9.96921e36)  # the netCDF default float fill, readable by every tool

# OGC WKT of EPSG:4326, longitude/latitude order as the grid's axes are stored
WGS84_WKT = (
    'GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,'
    'AUTHORITY["EPSG","7030"]],AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,'
    'AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],'
    'AXIS["Latitude",NORTH],AXIS["Longitude",EAST],AUTHORITY["EPSG","4326"]]'
)
CRS_ATTRS: dict[str, Any] = {
    "grid_mapping_name": "latitude_longitude",
    "long_name": "WGS 84 geographic coordinates",
    "semi_major_axis": 6378137.0,
    "inverse_flattening": 298.257223563,
    "longitude_of_prime_meridian": 0.0,
    "crs_wkt": WGS84_WKT,
    "epsg_code": "EPSG:4326",
}
TIME_ENCODING = {"units": "seconds since 1970-01-01 00:00:00",
                 "calendar": "proleptic_gregorian", "dtype": "float64", "_FillValue": None}
_COORD_ATTRS = {
    "time": {"standard_name": "time", "long_name": "time (UTC)", "axis": "T"},
    "latitude": {"standard_name": "latitude", "long_name": "latitude",
                 "units": "degrees_north", "axis": "Y"},
    "longitude": {"standard_name": "longitude", "long_name": "longitude",
                  "units": "degrees_east", "axis": "X"},
}


def is_flag(da: xr.DataArray) -> bool:
    return "flag_values" in da.attrs and np.issubdtype(da.dtype, np.integer)


def is_gridded(da: xr.DataArray) -> bool:
    return "latitude" in da.dims and "longitude" in da.dims


def stored_float(dtype: np.dtype) -> np.dtype:
    """Floats keep their precision (a QC'd observation is written as it was read);
    half floats, which CF has no type for, widen to float32."""
    return np.dtype(np.float64) if dtype == np.float64 else np.dtype(np.float32)


def prepare_cf(ds: xr.Dataset) -> xr.Dataset:
    """A copy of ``ds`` with the CF attributes and the ``crs`` variable a file needs."""
    out = ds.copy(deep=False)  # copies each variable's attrs: the caller's stay as they were
    out = out.drop_vars([v for v in (GRID_MAPPING, "spatial_ref") if v in out.variables])
    for var in out.variables.values():
        var.encoding = {}  # a source file's packing or chunking must not leak into ours
    history = str(ds.attrs.get("history", "")).strip()
    stamp = f"{dt.datetime.now(dt.UTC).isoformat(timespec='seconds')} written by " \
            "microclimate-desk"
    out.attrs = {**ds.attrs, "Conventions": "CF-1.8",
                 "history": f"{history}\n{stamp}" if history else stamp}
    for name, attrs in _COORD_ATTRS.items():
        if name in out.coords:
            kept = {k: v for k, v in out[name].attrs.items() if k not in ("units", "calendar")}
            out[name].attrs = {**kept, **attrs}
            if name not in out.dims:  # an auxiliary coordinate (stations) has no axis
                out[name].attrs.pop("axis", None)
    if "pressure_level" in out.dims:  # ERA5 profiles (sources.era5_normalise)
        out["pressure_level"].attrs["axis"] = "Z"
    if "station" in out.dims:  # a CF discrete-sampling-geometry time series per station
        out.attrs.setdefault("featureType", "timeSeries")
        if "station_id" in out.coords:
            out["station_id"] = out["station_id"].astype(str)
            out["station_id"].attrs.update(cf_role="timeseries_id", long_name="station id")
        if "elevation" in out.coords:
            out["elevation"].attrs.update(standard_name="surface_altitude", units="m",
                                          long_name="station elevation", positive="up")
    gridded = [str(n) for n, da in out.data_vars.items() if is_gridded(da)]
    for name in gridded:
        out[name].attrs["grid_mapping"] = GRID_MAPPING
    if gridded:
        out[GRID_MAPPING] = xr.DataArray(np.int32(0), attrs=dict(CRS_ATTRS))
    for da in out.data_vars.values():
        da.attrs.pop("_FillValue", None)
        if is_flag(da):
            for key in ("flag_values", "valid_min", "valid_max"):
                if key in da.attrs:
                    da.attrs[key] = np.asarray(da.attrs[key]).astype(np.int8)
        elif np.issubdtype(da.dtype, np.floating):
            for key in ("valid_min", "valid_max"):  # CF: same type as the stored data
                if key in da.attrs:
                    da.attrs[key] = np.asarray(da.attrs[key]).astype(stored_float(da.dtype))
    return out


def cf_encoding(ds: xr.Dataset, compress: bool = True) -> dict[str, dict[str, Any]]:
    zlib: dict[str, Any] = {"zlib": True, "complevel": 4} if compress else {"zlib": False}
    encoding: dict[str, dict[str, Any]] = {}
    for name, da in ds.data_vars.items():
        if name == GRID_MAPPING:
            continue
        if is_flag(da):
            encoding[str(name)] = {"dtype": "int8", **zlib}
        elif np.issubdtype(da.dtype, np.floating):
            kind = stored_float(da.dtype)
            encoding[str(name)] = {"dtype": kind, "_FillValue": kind.type(FILL), **zlib}
    for name in ds.dims:  # CF: a coordinate variable has no missing values
        if name in ds.coords:
            encoding[str(name)] = {"_FillValue": None}
    if "time" in ds.coords:
        encoding["time"] = dict(TIME_ENCODING)
    for name in ("latitude", "longitude"):
        if name in ds.coords and name not in ds.dims:
            encoding[name] = {"_FillValue": None}
    if "elevation" in ds.coords and "elevation" not in ds.dims:
        encoding["elevation"] = {"_FillValue": np.float64(FILL)}
    return encoding


def write_netcdf(ds: xr.Dataset, path: Path, *, compress: bool = True,
                 what: str = "NetCDF") -> Path:
    """Write ``ds`` to ``path`` as CF-1.8 NetCDF4; atomic; errors name ``what`` and the path.

    ``compress=False`` is for the cache, where reopening speed beats disk space."""
    path = Path(path)
    prepared = prepare_cf(ds)
    encoding = cf_encoding(prepared, compress)
    try:
        with atomic_path(path) as tmp:
            prepared.to_netcdf(tmp, format="NETCDF4", engine="netcdf4", encoding=encoding)
    except (OSError, RuntimeError, ValueError) as exc:
        raise DataFileError(f"cannot write {what} {path}: {exc}") from exc
    return path
