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
(``cell_methods``), not de-accumulated again.
"""

from __future__ import annotations

import contextlib
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import xarray as xr

from desktop_app.core.schema import validate_grid_dataset
from desktop_app.core.variables import get_variable
from desktop_app.errors import DataFileError, UnknownVariableError
from desktop_app.sources.units import to_internal

# ERA5 short name -> (our name, unit the file must state)
ERA5_NAMES: dict[str, tuple[str, str]] = {
    "t2m": ("temperature", "K"),
    "d2m": ("dewpoint_temperature", "K"),
    "sp": ("surface_pressure", "Pa"),
    "msl": ("mean_sea_level_pressure", "Pa"),
    "tp": ("precipitation", "m"),
}
WIND_COMPONENTS = ("u10", "v10")
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


def proj_before_eccodes() -> None:
    """Load pyproj (when installed) before ecCodes. The ecCodes wheel's eckitlib bundles
    its own PROJ; pyproj loaded after it (rioxarray's GeoTIFF export, xarray's engine
    guessing) binds PROJ symbols to the wrong library and the process crashes, at once
    or at exit. Loaded first, both work."""
    with contextlib.suppress(ImportError):
        import pyproj  # noqa: F401


def check_grib(path: Path) -> int:
    """Walk every GRIB message with ecCodes; a truncated or corrupt message is an error.

    cfgrib itself logs a premature end of file and returns the messages it could read,
    which would silently hand back a shorter month.
    """
    proj_before_eccodes()
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


def _open_one(path: Path, kind: str) -> xr.Dataset:
    if kind == "grib":
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


def _open_zip(path: Path) -> list[xr.Dataset]:
    try:
        with zipfile.ZipFile(path) as archive, tempfile.TemporaryDirectory() as tmp:
            members = [m for m in archive.namelist() if not m.endswith("/")]
            if not members:
                raise DataFileError(f"zip {path} holds no files")
            out = []
            for member in members:
                target = Path(tmp) / Path(member).name
                target.write_bytes(archive.read(member))
                out.append(_open_one(target, sniff(target)))
            return out
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError) as exc:
        raise DataFileError(f"cannot read zip {path}: corrupt or truncated ({exc})") from exc


def open_era5(
    paths: Path | Sequence[Path], variables: Sequence[str] | None = None
) -> xr.Dataset:
    """Open one or more ERA5 files (any layout above) as one canonical grid dataset."""
    path_list = [Path(paths)] if isinstance(paths, str | Path) else [Path(p) for p in paths]
    if not path_list:
        raise DataFileError("no ERA5 files given")
    parts: list[xr.Dataset] = []
    for path in path_list:
        if not path.exists():
            raise DataFileError(f"ERA5 file not found: {path}")
        kind = sniff(path)
        opened = _open_zip(path) if kind == "zip" else [_open_one(path, kind)]
        parts.extend(normalise(ds, source=path.name) for ds in opened)
    dropped = sorted({v for p in parts for v in p.attrs["dropped_variables"].split(", ") if v})
    try:
        merged = xr.merge(parts, compat="no_conflicts", join="outer", combine_attrs="override")
    except (ValueError, xr.MergeError) as exc:
        raise DataFileError(f"ERA5 files do not fit together: {exc}") from exc
    if not merged.data_vars:
        raise DataFileError(
            f"{', '.join(p.name for p in path_list)}: no known ERA5 variable (knows "
            f"{', '.join(ERA5_NAMES)}, u10+v10; found {', '.join(dropped) or 'none'})"
        )
    merged.attrs = {
        "source": "ERA5 reanalysis (Copernicus Climate Change Service)",
        "source_files": ", ".join(p.name for p in path_list),
        "licence": "Generated using Copernicus Climate Change Service information",
        "dropped_variables": ", ".join(dropped),
    }
    if variables is not None:
        merged = select_variables(merged, variables)
    return validate_grid_dataset(merged)


def select_variables(ds: xr.Dataset, variables: Sequence[str]) -> xr.Dataset:
    for var in variables:
        get_variable(var)
        if var == "relative_humidity" and var not in ds and {
            "temperature", "dewpoint_temperature"} <= set(ds.data_vars):
            ds["relative_humidity"] = relative_humidity(ds["temperature"],
                                                        ds["dewpoint_temperature"])
        if var not in ds:
            have = ", ".join(sorted(str(v) for v in ds.data_vars)) or "none"
            raise UnknownVariableError(f"variable {var!r} is not in the ERA5 data (has: {have})")
    return ds[list(variables)]


def relative_humidity(t: xr.DataArray, td: xr.DataArray) -> xr.DataArray:
    """RH (%) from temperature and dew point (degC), Magnus formula over water."""
    a, b = 17.625, 243.04
    tv, tdv = t.values.astype("float64"), td.values.astype("float64")
    rh = np.clip(100.0 * np.exp(a * tdv / (b + tdv) - a * tv / (b + tv)), 0.0, 100.0)
    attrs = {**get_variable("relative_humidity").cf_attrs(),
             "comment": "derived from ERA5 2 m temperature and dew point (Magnus formula)"}
    return xr.DataArray(rh.astype("float32"), coords=t.coords, dims=t.dims, attrs=attrs)


def normalise(ds: xr.Dataset, *, source: str = "ERA5 data") -> xr.Dataset:
    """One opened ERA5 dataset (any layout) -> canonical grid dataset (unvalidated)."""
    if "valid_time" in ds.dims and "time" not in ds.dims:
        ds = ds.drop_vars("time", errors="ignore").rename({"valid_time": "time"})
    elif "time" in ds.dims and "valid_time" in ds.coords:
        ds = ds.drop_vars("valid_time")
    if "step" in ds.dims:
        raise DataFileError(
            f"{source}: forecast-step layout (time x step) is not supported; "
            "request ERA5 hourly reanalysis data"
        )
    if "expver" in ds.dims:  # legacy: ERA5 (1) and ERA5T (5) side by side; prefer final
        merged = ds.isel(expver=0, drop=True)
        for i in range(1, ds.sizes["expver"]):
            merged = merged.combine_first(ds.isel(expver=i, drop=True))
        ds = merged
    if "latitude" not in ds.dims or "longitude" not in ds.dims or "time" not in ds.dims:
        raise DataFileError(
            f"{source}: not an ERA5 grid (needs time/valid_time, latitude and longitude "
            f"dimensions; has {', '.join(map(str, ds.dims)) or 'none'})"
        )
    ds = ds.reset_coords(drop=True)
    if not np.issubdtype(ds["time"].dtype, np.datetime64):
        raise DataFileError(f"{source}: time is not decodable as dates")
    out = xr.Dataset(coords={"time": ds["time"].values.astype("datetime64[ns]"),
                             "latitude": ds["latitude"].values.astype("float64"),
                             "longitude": ds["longitude"].values.astype("float64")})
    dims = ("time", "latitude", "longitude")
    for short, (name, unit) in ERA5_NAMES.items():
        if short not in ds:
            continue
        da = ds[short].transpose(*dims)
        have = str(da.attrs.get("units", ""))
        if have.split(" of ")[0] != unit:  # "m of water equivalent" is still metres
            raise DataFileError(f"{source}: {short} has units {have!r}, expected {unit!r}")
        values = to_internal(da.values, unit, name).astype("float32")
        attrs = get_variable(name).cf_attrs()
        if name == "precipitation":
            values = np.where(values < 0, 0.0, values).astype("float32")  # packing noise
            attrs["cell_methods"] = "time: sum (interval: 1 hour)"
            attrs["comment"] = "ERA5 accumulation over the hour ending at the time stamp"
        out[name] = (dims, values, attrs)
    if all(c in ds for c in WIND_COMPONENTS):
        u = ds["u10"].transpose(*dims).values.astype("float64")
        v = ds["v10"].transpose(*dims).values.astype("float64")
        out["wind_speed"] = (dims, np.hypot(u, v).astype("float32"),
                             get_variable("wind_speed").cf_attrs())
        direction = (np.degrees(np.arctan2(-u, -v)) % 360.0).astype("float32")
        out["wind_direction"] = (dims, direction, get_variable("wind_direction").cf_attrs())
    dropped = sorted(set(map(str, ds.data_vars)) - set(ERA5_NAMES) - set(WIND_COMPONENTS))
    out.attrs["dropped_variables"] = ", ".join(dropped)
    lon = out["longitude"].values
    if np.any(lon > 180.0):
        out = out.assign_coords(longitude=((lon + 180.0) % 360.0) - 180.0)
    out = out.sortby(["latitude", "longitude", "time"])
    _, unique = np.unique(out["time"].values, return_index=True)
    out = out.isel(time=np.sort(unique))
    out["latitude"].attrs = {"units": "degrees_north", "standard_name": "latitude"}
    out["longitude"].attrs = {"units": "degrees_east", "standard_name": "longitude"}
    out["time"].attrs = {"standard_name": "time"}
    return out
