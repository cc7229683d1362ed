"""Helpers shared by the headless subcommands."""

from __future__ import annotations

from pathlib import Path

import xarray as xr

from desktop_app.errors import DataFileError


def open_netcdf(path: Path, what: str) -> xr.Dataset:
    """Open and load a NetCDF file; any failure is one :class:`DataFileError` line."""
    path = Path(path)
    if not path.exists():
        raise DataFileError(f"{what} file not found: {path}")
    if path.suffix.lower() in (".tif", ".tiff"):
        raise DataFileError(f"{what} {path}: GeoTIFF is not read yet; convert it to a "
                            "NetCDF with 'elevation' on latitude/longitude")
    try:
        with xr.open_dataset(path) as ds:
            return ds.load()
    except (OSError, ValueError, RuntimeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataFileError(f"cannot read {what} {path}: {first}") from exc
