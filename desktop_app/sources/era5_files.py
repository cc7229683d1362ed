"""ERA5 from files: NetCDF and GRIB, legacy and new CDS layouts, into the grid schema.

Layouts handled (all resolved here and nowhere else):
- legacy CDS NetCDF (before Sept 2024): ``time``, int16 packed with scale/offset,
  latitude descending, sometimes an ``expver`` dimension mixing ERA5 and ERA5T;
- new CDS NetCDF: ``valid_time`` (seconds since 1970), ``expver`` as a per-step string
  coordinate, scalar ``number``, and a zip holding one file per step type
  (``...stepType-instant.nc`` and ``...stepType-accum.nc``);
- GRIB as the CDS delivers it (read with cfgrib/ecCodes).
Out: ascending latitude, longitude in -180..180, naive UTC ``time``, our names and units
(K -> degC, Pa -> hPa, m -> mm), float32. ERA5 hourly accumulations from the CDS are
already sums over the hour ending at the time stamp, so they are labelled as such
(``cell_methods``), not de-accumulated again. Orography and pressure levels: see
:mod:`.era5_normalise`; several files into one background: :mod:`.era5_merge`.
"""

from __future__ import annotations

import tempfile
import threading
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr

from desktop_app.core.progress import Progress
from desktop_app.core.schema import validate_grid_dataset
from desktop_app.core.variables import get_variable
from desktop_app.errors import DataFileError, UnknownVariableError
from desktop_app.sources.context import FetchContext
from desktop_app.sources.era5_merge import FALLBACK_NOTE, merge_parts
from desktop_app.sources.era5_normalise import (
    ERA5_NAMES,
    PLEV_NAMES,
    WIND_COMPONENTS,
    normalise,
)
from desktop_app.sources.grib_support import require_grib

__all__ = ["CDS_VARIABLES", "ERA5_NAMES", "FALLBACK_NOTE", "PLEV_NAMES", "WIND_COMPONENTS",
           "Era5FileFetch", "normalise", "open_era5", "select_variables"]

# our name -> CDS request names (used by the CDS request builder)
CDS_VARIABLES: dict[str, tuple[str, ...]] = {
    "temperature": ("2m_temperature",),
    "dewpoint_temperature": ("2m_dewpoint_temperature",),
    "relative_humidity": ("2m_temperature", "2m_dewpoint_temperature"),
    "surface_pressure": ("surface_pressure",),
    "mean_sea_level_pressure": ("mean_sea_level_pressure",),
    "precipitation": ("total_precipitation",),
    "wind_speed": ("10m_u_component_of_wind", "10m_v_component_of_wind"),
    "wind_direction": ("10m_u_component_of_wind", "10m_v_component_of_wind"),
}
_GRIB_SUFFIXES = (".grib", ".grb", ".grib1", ".grib2", ".grb2")


def sniff(path: Path) -> str:
    """'zip', 'grib' or 'netcdf' from the first bytes, not the file name."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(8)
    except OSError as exc:
        raise DataFileError(f"cannot read ERA5 file {path}: {exc.strerror or exc}") from exc
    if head.startswith(b"PK\x03\x04"):
        return "zip"
    if head.startswith(b"GRIB"):
        return "grib"
    if head.startswith((b"\x89HDF", b"CDF\x01", b"CDF\x02", b"CDF\x05")):
        return "netcdf"
    if path.suffix.lower() in _GRIB_SUFFIXES:
        return "grib"
    raise DataFileError(f"{path} is not a NetCDF, GRIB or zip file (starts {head[:4]!r})")


def check_grib(path: Path) -> int:
    """Walk every GRIB message with ecCodes; a truncated or corrupt message is an error.

    cfgrib itself logs a premature end of file and returns the messages it could read,
    which would silently hand back a shorter month.
    """
    import eccodes  # lazy: only GRIB users pay for loading ecCodes

    count = 0
    with open(path, "rb") as handle:
        while True:
            try:
                message = eccodes.codes_grib_new_from_file(handle)
            except eccodes.CodesInternalError as exc:
                raise DataFileError(
                    f"GRIB file {path} is corrupt or truncated after {count} messages ({exc})"
                ) from exc
            if message is None:
                break
            eccodes.codes_release(message)
            count += 1
    if count == 0:
        raise DataFileError(f"GRIB file {path} holds no GRIB messages")
    return count


def _open_one(path: Path, kind: str, shown: str | None = None) -> xr.Dataset:
    if kind == "grib":
        require_grib(shown or path)  # the add-on may be missing: one line naming the file
        check_grib(path)
    try:
        if kind == "grib":
            ds = xr.open_dataset(path, engine="cfgrib", backend_kwargs={"indexpath": ""})
        else:
            ds = xr.open_dataset(path, engine="netcdf4")
        return ds.load()
    except (OSError, ValueError, RuntimeError, KeyError, EOFError) as exc:
        raise DataFileError(
            f"cannot read ERA5 {kind} file {path}: corrupt or truncated ({exc})"
        ) from exc


def _open_zip(path: Path) -> list[tuple[str, xr.Dataset]]:
    try:
        with zipfile.ZipFile(path) as archive, tempfile.TemporaryDirectory() as tmp:
            members = [m for m in archive.namelist() if not m.endswith("/")]
            if not members:
                raise DataFileError(f"zip {path} holds no files")
            out = []
            for member in members:
                target = Path(tmp) / Path(member).name
                target.write_bytes(archive.read(member))
                out.append((target.name, _open_one(target, sniff(target), f"{path}:{member}")))
            return out
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError) as exc:
        raise DataFileError(f"cannot read zip {path}: corrupt or truncated ({exc})") from exc


def _as_paths(paths: Path | str | Sequence[Path | str] | None) -> list[Path]:
    if paths is None:
        return []
    return [Path(paths)] if isinstance(paths, str | Path) else [Path(p) for p in paths]


def _parts(path: Path) -> list[tuple[str, xr.Dataset]]:
    if not path.exists():
        raise DataFileError(f"ERA5 file not found: {path}")
    kind = sniff(path)
    if kind == "zip":
        return [(f"{path.name}:{name}", normalise(ds, source=f"{path}:{name}"))
                for name, ds in _open_zip(path)]
    return [(path.name, normalise(_open_one(path, kind), source=str(path)))]


def open_era5(
    paths: Path | Sequence[Path],
    variables: Sequence[str] | None = None,
    *,
    invariant: Path | Sequence[Path] | None = None,
) -> xr.Dataset:
    """Open ERA5 files (any layout above) as one canonical background.

    Files may split variables, months, surface and pressure levels; ``invariant`` adds
    files that hold only the surface geopotential (a file given in ``paths`` that holds
    only ``z`` is taken as one too). The result always has ``elevation`` (m, latitude x
    longitude): ERA5's own orography when any file has ``z``, else the bundled altitude
    grid, announced in the ``orography_fallback`` attribute."""
    path_list = _as_paths(paths)
    if not path_list:
        raise DataFileError("no ERA5 files given")
    parts = [part for path in path_list + _as_paths(invariant) for part in _parts(path)]
    dropped = sorted({v for _, p in parts for v in p.attrs["dropped_variables"].split(", ")
                      if v})
    fields = {str(v) for _, p in parts if "time" in p.dims for v in p.data_vars} - {
        "elevation"}
    if not fields:
        raise DataFileError(
            f"{', '.join(p.name for p in path_list)}: no known ERA5 variable (knows "
            f"{', '.join(ERA5_NAMES)}, u10, v10, pressure levels "
            f"{', '.join(PLEV_NAMES)}; found {', '.join(dropped) or 'none'})"
        )
    merged = merge_parts(parts)
    merged.attrs.update({
        "source": "ERA5 reanalysis (Copernicus Climate Change Service)",
        "source_files": ", ".join(p.name for p in path_list + _as_paths(invariant)),
        "licence": "Generated using Copernicus Climate Change Service information",
        "dropped_variables": ", ".join(dropped),
    })
    if variables is not None:
        merged = select_variables(merged, variables)
    return validate_grid_dataset(merged)


def select_variables(ds: xr.Dataset, variables: Sequence[str]) -> xr.Dataset:
    """The asked registry variables, plus what always travels with a background: the
    orography and the pressure-level profile."""
    for var in variables:
        get_variable(var)
        if var == "relative_humidity" and var not in ds and {
            "temperature", "dewpoint_temperature"} <= set(ds.data_vars):
            ds["relative_humidity"] = relative_humidity(ds["temperature"],
                                                        ds["dewpoint_temperature"])
        if var not in ds:
            have = ", ".join(sorted(str(v) for v in ds.data_vars)) or "none"
            raise UnknownVariableError(f"variable {var!r} is not in the ERA5 data (has: {have})")
    keep = [v for v in map(str, ds.data_vars) if v == "elevation" or v.endswith("_pl")]
    return ds[list(variables) + [v for v in keep if v not in variables]]


def relative_humidity(t: xr.DataArray, td: xr.DataArray) -> xr.DataArray:
    """RH (%) from temperature and dew point (degC), Magnus formula over water."""
    a, b = 17.625, 243.04
    tv, tdv = t.values.astype("float64"), td.values.astype("float64")
    rh = np.clip(100.0 * np.exp(a * tdv / (b + tdv) - a * tv / (b + tv)), 0.0, 100.0)
    attrs = {**get_variable("relative_humidity").cf_attrs(),
             "comment": "derived from ERA5 2 m temperature and dew point (Magnus formula)"}
    return xr.DataArray(rh.astype("float32"), coords=t.coords, dims=t.dims, attrs=attrs)


@dataclass(frozen=True)
class Era5FileFetch:
    """A fetch request: ERA5 NetCDF/GRIB/zip files on disk."""

    paths: tuple[Path, ...]
    variables: tuple[str, ...] | None = None
    invariant: tuple[Path, ...] = ()  # files with ERA5's surface geopotential only


class Era5FileProvider:
    """Local ERA5 files, read and merged into one canonical background (no cache: the
    files are already on disk)."""

    name = "era5-files"
    title = "ERA5 from NetCDF/GRIB files (several: months, levels)"

    def fetch(self, request: Era5FileFetch, ctx: FetchContext, progress: Progress,
              cancel: threading.Event | None) -> xr.Dataset:
        progress(0.0, f"reading {len(request.paths)} ERA5 file(s)")
        ds = open_era5(request.paths, request.variables, invariant=request.invariant or None)
        progress(1.0, "ERA5 files read")
        return ds
