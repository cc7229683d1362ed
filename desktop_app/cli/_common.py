"""Helpers shared by the headless subcommands."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

import xarray as xr

from desktop_app.errors import DataFileError, MicroclimateError, install_hint
from desktop_app.fsutil import load_netcdf


def open_netcdf(path: Path, what: str) -> xr.Dataset:
    """Open and load a NetCDF file; any failure is one :class:`DataFileError` line."""
    path = Path(path)
    if path.suffix.lower() in (".tif", ".tiff"):
        raise DataFileError(f"{what} {path}: GeoTIFF is not read yet; convert it to a "
                            "NetCDF with 'elevation' on latitude/longitude")
    return load_netcdf(path, what)


TRAIN_EXTRA_PACKAGES = ("torch", "fastapi", "uvicorn", "onnxscript")


def import_training(module: str) -> ModuleType:
    """``desktop_app.training.<module>``, imported only when a command needs it (nothing
    in the app imports the trainer statically). Without the ``[train]`` extra this is
    one clear error naming it."""
    try:
        return importlib.import_module(f"desktop_app.training.{module}")
    except ModuleNotFoundError as exc:
        if getattr(sys, "frozen", False) and (exc.name or "").startswith("desktop_app.training"):
            raise MicroclimateError(
                f"the trainer is not part of the desktop installer: {install_hint('train')}"
            ) from exc
        missing = (exc.name or "").split(".")[0]
        if missing not in TRAIN_EXTRA_PACKAGES:
            raise
        raise MicroclimateError(
            f"training needs {missing}, which is not installed; {install_hint('train')}"
        ) from exc
