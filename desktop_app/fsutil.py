"""Atomic file writes (nothing a user made is ever left half-written or clobbered) and
the one way to read a whole NetCDF file with a clear error."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import xarray as xr

from desktop_app.errors import DataFileError

GRID_MAPPING = "crs"  # the grid-mapping variable the CF writer adds to gridded files


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temp file in the same folder and a rename."""
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temp path beside ``path``; on success rename it over ``path``.

    On any exception (including cancel) the temp file is removed and ``path`` is left
    exactly as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; a user's file gets the usual mode
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def load_netcdf(path: Path | str, what: str = "data", engine: str | None = None) -> xr.Dataset:
    """Open and fully load a NetCDF file; a missing, truncated or unreadable file is one
    :class:`DataFileError` line naming ``what`` and the path."""
    path = Path(path)
    if not path.is_file():
        raise DataFileError(f"{what} file not found: {path}")
    try:
        # named engine: xarray's guessing would load every backend plugin (cfgrib too)
        with xr.open_dataset(path, engine=engine or "netcdf4") as ds:
            return from_cf_file(ds.load())
    except (OSError, ValueError, RuntimeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataFileError(f"cannot read {what} {path}: {first}") from exc


def from_cf_file(ds: xr.Dataset) -> xr.Dataset:
    """Undo what the CF writer (``sources.output``) adds for other tools: the ``crs``
    grid mapping (the app's grids are always WGS 84) and signed-byte QARTOD flags, which
    come back as the program's ``uint8`` flags."""
    mapped = {str(da.attrs.get("grid_mapping")) for da in ds.data_vars.values()}
    if GRID_MAPPING in mapped and GRID_MAPPING in ds.variables:
        ds = ds.drop_vars(GRID_MAPPING)
    for name in list(ds.data_vars):
        da = ds[name]
        da.attrs.pop("grid_mapping", None)
        if "flag_values" in da.attrs and da.dtype == np.int8:
            attrs = dict(da.attrs)
            for key in ("flag_values", "valid_min", "valid_max"):
                if key in attrs:
                    attrs[key] = np.asarray(attrs[key]).astype(np.uint8)
            ds[name] = da.astype(np.uint8).assign_attrs(attrs)
    return ds
