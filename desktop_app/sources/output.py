"""Write a canonical dataset as CF NetCDF, atomically (temp file + rename): a failed or
cancelled write never leaves a half file at the destination."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from desktop_app.errors import DataFileError
from desktop_app.fsutil import atomic_path

FILL = np.float32(9.96921e36)  # the netCDF default float fill, readable by every tool


def cf_encoding(ds: xr.Dataset, compress: bool = True) -> dict[str, dict[str, Any]]:
    encoding: dict[str, dict[str, Any]] = {}
    if "time" in ds.variables:  # a terrain file has no time
        encoding["time"] = {"units": "seconds since 1970-01-01 00:00:00",
                            "calendar": "proleptic_gregorian", "dtype": "int64"}
    for name, da in ds.data_vars.items():
        if np.issubdtype(da.dtype, np.floating):
            encoding[str(name)] = {"dtype": "float32", "_FillValue": FILL, "zlib": compress}
            if compress:
                encoding[str(name)]["complevel"] = 4
    for name in ("latitude", "longitude", "elevation"):
        if name in ds.coords:
            encoding[name] = {"_FillValue": None} if name != "elevation" else {
                "_FillValue": np.float64(FILL)}
    return encoding


def prepare_cf(ds: xr.Dataset) -> xr.Dataset:
    out = ds.copy()
    out.attrs = {"Conventions": "CF-1.8", **ds.attrs}
    out.attrs.setdefault("history", "written by microclimate-desk")
    if "time" in out.coords:
        out["time"].attrs = {"standard_name": "time", "long_name": "time (UTC)", "axis": "T"}
    if "latitude" in out.coords:
        out["latitude"].attrs.update(units="degrees_north", standard_name="latitude")
        if "latitude" in out.dims:
            out["latitude"].attrs["axis"] = "Y"
    if "longitude" in out.coords:
        out["longitude"].attrs.update(units="degrees_east", standard_name="longitude")
        if "longitude" in out.dims:
            out["longitude"].attrs["axis"] = "X"
    if "station" in out.dims:  # xarray writes the `coordinates` attribute itself
        out["station_id"] = out["station_id"].astype(str)
    for name in out.data_vars:
        out[name].attrs.pop("_FillValue", None)
        for key in ("valid_min", "valid_max"):  # CF: same type as the packed data
            if key in out[name].attrs:
                out[name].attrs[key] = np.float32(out[name].attrs[key])
    return out


def write_netcdf(ds: xr.Dataset, path: Path, *, compress: bool = True) -> Path:
    """Write ``ds`` to ``path`` as CF-1.8 NetCDF4; atomic; errors name the path.

    ``compress=False`` is for the cache, where reopening speed beats disk space."""
    path = Path(path)
    prepared = prepare_cf(ds)
    encoding = cf_encoding(prepared, compress)
    try:
        with atomic_path(path) as tmp:
            prepared.to_netcdf(tmp, format="NETCDF4", engine="netcdf4", encoding=encoding)
    except (OSError, RuntimeError, ValueError) as exc:
        raise DataFileError(f"cannot write {path}: {exc}") from exc
    return path
