"""Open many NetCDF/GRIB files or a Zarr store lazily, with one grid checked across files.

Files are combined along ``time`` (an archive split by period); every file must have the
same grid (``latitude``/``longitude`` for fields, ``station_id`` for station files), else
the error names the first file that differs. Nothing is loaded here: the chunk tasks read
their own slices on the workers.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Sequence
from pathlib import Path
from typing import Any, Generic, TypeVar

import numpy as np
import xarray as xr

from desktop_app.errors import DataFileError
from desktop_app.fsutil import check_grib_framing
from desktop_app.sources.grib_support import require_grib

GRID_COORDS = ("latitude", "longitude", "station_id")
T = TypeVar("T")


class LastOnly(Generic[T]):
    """A worker process's one-slot cache: the value for the last key it was asked for.

    Chunks of one run land on a worker one after another with the same inputs, so the
    last opened dataset (or built feature block) is the one the next chunk wants; keeping
    older ones would hold the memory of finished runs. The lock serialises making (the
    worker's threads would otherwise open the same files twice)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._slot: tuple[Hashable, T] | None = None

    def get(self, key: Hashable, make: Callable[[], T]) -> T:
        with self._lock:
            if self._slot is None or self._slot[0] != key:
                self._slot = None  # let the old value go before the new one is made
                self._slot = (key, make())
            return self._slot[1]


def _engine(path: Path) -> str | None:
    suffix = path.suffix.lower()
    if suffix in (".grib", ".grib2", ".grb", ".grb2"):
        return "cfgrib"
    if suffix == ".zarr" or (path / "zarr.json").exists() or (path / ".zgroup").exists():
        return "zarr"
    return None


def _open_one(path: Path, what: str, chunks: dict[str, int] | None) -> xr.Dataset:
    if not path.exists():
        raise DataFileError(f"{what} file not found: {path}")
    try:
        engine = _engine(path)
        if engine == "zarr":
            return xr.open_zarr(path, chunks=chunks or {})
        if engine == "cfgrib":
            require_grib(path)  # the installer's GRIB add-on may be missing: one line
            check_grib_framing(path, what)  # before ecCodes sees a truncated file
            return xr.open_dataset(path, engine=engine, chunks=chunks or {},
                                   backend_kwargs={"indexpath": ""})  # no files beside it
        # named, never guessed: xarray's guessing loads every backend plugin, and that
        # mix crashed the process at exit (double free) -- see fsutil.load_netcdf
        return xr.open_dataset(path, engine=engine or "netcdf4", chunks=chunks or {})
    except (OSError, ValueError, RuntimeError, KeyError, EOFError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataFileError(f"cannot read {what} {path}: {first}") from exc


def _grid(ds: xr.Dataset) -> dict[str, np.ndarray]:
    return {c: np.asarray(ds[c].values) for c in GRID_COORDS if c in ds.coords or c in ds}


def check_same_grid(datasets: Sequence[xr.Dataset], paths: Sequence[Path], what: str) -> None:
    ref = _grid(datasets[0])
    for ds, path in zip(datasets[1:], paths[1:], strict=True):
        grid = _grid(ds)
        for name, values in ref.items():
            other = grid.get(name)
            same = (other is not None and other.shape == values.shape
                    and (bool(np.array_equal(other, values)) if values.dtype.kind in "OUS"
                         else bool(np.allclose(other, values, rtol=0, atol=1e-9))))
            if not same:
                got = "missing" if other is None else f"{other.size} values"
                raise DataFileError(
                    f"{what} {path} has a different grid from {paths[0]}: {name!r} differs "
                    f"({got} vs {values.size} values); all files must share one grid")


def open_inputs(paths: Sequence[Path | str], what: str = "input",
                chunks: dict[str, int] | None = None) -> xr.Dataset:
    """One lazily opened Dataset from one Zarr store or many files combined along time."""
    files = [Path(p) for p in paths]
    if not files:
        raise DataFileError(f"no {what} files given")
    datasets = [_open_one(p, what, chunks) for p in files]
    if len(datasets) == 1:
        return datasets[0]
    check_same_grid(datasets, files, what)
    try:
        combined = xr.concat(datasets, dim="time", data_vars="minimal", coords="minimal",
                             compat="override", join="override")
    except (ValueError, KeyError) as exc:
        raise DataFileError(f"cannot combine the {what} files along time: {exc}") from exc
    times = np.asarray(combined["time"].values)
    if times.size > 1 and not bool((np.diff(times) > np.timedelta64(0, "ns")).all()):
        order = np.argsort(times, kind="stable")
        if bool((np.diff(times[order]) == np.timedelta64(0, "ns")).any()):
            raise DataFileError(f"the {what} files overlap in time (a step appears twice)")
        combined = combined.isel(time=order)
    return combined


def in_task() -> Any:
    """Inside a chunk task, read lazily opened data with dask's synchronous scheduler:
    otherwise dask would hand the read back to the cluster from within a task (a round
    trip through the scheduler per slice, several times slower on small chunks)."""
    import dask

    return dask.config.set(scheduler="synchronous")


def token(paths: Sequence[Path | str]) -> list[dict[str, Any]]:
    """What identifies the inputs of a job (for resume): path, size and mtime."""
    out = []
    for p in paths:
        path = Path(p).resolve()
        stat = path.stat()
        out.append({"path": str(path), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns})
    return out
