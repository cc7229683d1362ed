"""One opened ERA5 dataset (any CDS layout) into the canonical grid shape.

Single-level fields become our registry variables (K -> degC, Pa -> hPa, m -> mm). The
10 m wind components are kept as ``eastward_wind_10m``/``northward_wind_10m`` so that
u10 and v10 delivered in two files (the legacy CDS sends one variable per file) meet
after the merge, where wind speed and direction are derived. Surface geopotential ``z``
becomes the ``elevation`` orography (z / g). Pressure-level fields (``t``, ``z``, ``u``,
``v``, ``r``, ``q`` on ``level``/``pressure_level``) are kept as ``<name>_pl`` on
(time, pressure_level, latitude, longitude), ``pressure_level`` in hPa from the ground up
(descending pressure), for the baselines that follow the free-atmosphere profile.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from desktop_app.core.variables import get_variable
from desktop_app.errors import DataFileError
from desktop_app.sources.units import to_internal

G = 9.80665  # standard gravity (m s-2): ERA5 geopotential -> geopotential height

# ERA5 short name -> (our name, unit the file must state)
ERA5_NAMES: dict[str, tuple[str, str]] = {
    "t2m": ("temperature", "K"),
    "d2m": ("dewpoint_temperature", "K"),
    "sp": ("surface_pressure", "Pa"),
    "msl": ("mean_sea_level_pressure", "Pa"),
    "tp": ("precipitation", "m"),
}
WIND_COMPONENTS = {"u10": "eastward_wind_10m", "v10": "northward_wind_10m"}
WIND_ATTRS = {
    "eastward_wind_10m": {"standard_name": "eastward_wind", "units": "m s-1",
                          "long_name": "10 m eastward wind (ERA5 u10)"},
    "northward_wind_10m": {"standard_name": "northward_wind", "units": "m s-1",
                           "long_name": "10 m northward wind (ERA5 v10)"},
}
# ERA5 pressure-level short name -> (our name, file unit, CF attrs of the output)
PLEV_NAMES: dict[str, tuple[str, str, dict[str, str]]] = {
    "t": ("temperature_pl", "K", {"standard_name": "air_temperature", "units": "degC",
                                  "long_name": "air temperature on pressure levels"}),
    "z": ("geopotential_height_pl", "m**2 s**-2", {
        "standard_name": "geopotential_height", "units": "m",
        "long_name": "geopotential height (ERA5 z / 9.80665) on pressure levels"}),
    "u": ("eastward_wind_pl", "m s**-1", {"standard_name": "eastward_wind", "units": "m s-1",
                                         "long_name": "eastward wind on pressure levels"}),
    "v": ("northward_wind_pl", "m s**-1", {"standard_name": "northward_wind",
                                          "units": "m s-1",
                                          "long_name": "northward wind on pressure levels"}),
    "r": ("relative_humidity_pl", "%", {"standard_name": "relative_humidity", "units": "%",
                                       "long_name": "relative humidity on pressure levels"}),
    "q": ("specific_humidity_pl", "kg kg**-1", {
        "standard_name": "specific_humidity", "units": "kg kg-1",
        "long_name": "specific humidity on pressure levels"}),
}
LEVEL_DIMS = ("level", "pressure_level", "isobaricInhPa")
OROGRAPHY_UNIT = "m**2 s**-2"


def _units(da: xr.DataArray) -> str:
    return str(da.attrs.get("units", "")).replace(" ", "")


def _time_layout(ds: xr.Dataset, source: str) -> xr.Dataset:
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
    return ds


def _orography(ds: xr.Dataset, source: str) -> np.ndarray | None:
    """Surface geopotential z (no level dim) -> metres; constant in time in ERA5, so
    the first step is taken."""
    if "z" not in ds or any(d in ds["z"].dims for d in LEVEL_DIMS):
        return None
    if _units(ds["z"]) not in (OROGRAPHY_UNIT, "m2s-2", "m**2s**-2"):
        raise DataFileError(f"{source}: z has units {ds['z'].attrs.get('units')!r}, "
                            f"expected {OROGRAPHY_UNIT!r} (geopotential)")
    z = ds["z"]
    extra = [d for d in z.dims if d not in ("latitude", "longitude")]
    if extra:
        z = z.isel({d: 0 for d in extra})
    return (z.transpose("latitude", "longitude").values.astype("float64") / G).astype("float32")


def _level_dim(ds: xr.Dataset) -> str | None:
    return next((d for d in LEVEL_DIMS if d in ds.dims), None)


def normalise(ds: xr.Dataset, *, source: str = "ERA5 data") -> xr.Dataset:
    """One opened ERA5 dataset (any layout) -> canonical grid dataset (unvalidated).

    A file holding only surface geopotential (the CDS invariant file, with or without a
    time axis) becomes a static dataset with just ``elevation``."""
    ds = _time_layout(ds, source)
    if "latitude" not in ds.dims or "longitude" not in ds.dims:
        raise DataFileError(
            f"{source}: not an ERA5 grid (needs latitude and longitude dimensions; has "
            f"{', '.join(map(str, ds.dims)) or 'none'})"
        )
    orography = _orography(ds, source)
    level = _level_dim(ds)
    known = set(ERA5_NAMES) | set(WIND_COMPONENTS) | (set(PLEV_NAMES) if level else set())
    timed = [v for v in known if v in ds and "time" in ds[v].dims]
    if "time" not in ds.dims and not (orography is not None and not timed):
        raise DataFileError(
            f"{source}: not an ERA5 grid (needs time/valid_time, latitude and longitude "
            f"dimensions; has {', '.join(map(str, ds.dims)) or 'none'})"
        )
    level_values = ds[level].values if level else None
    ds = ds.reset_coords(drop=True)
    coords: dict[str, np.ndarray] = {"latitude": ds["latitude"].values.astype("float64"),
                                     "longitude": ds["longitude"].values.astype("float64")}
    if timed:
        if not np.issubdtype(ds["time"].dtype, np.datetime64):
            raise DataFileError(f"{source}: time is not decodable as dates")
        coords["time"] = ds["time"].values.astype("datetime64[ns]")
    out = xr.Dataset(coords=coords)
    dims = ("time", "latitude", "longitude")
    for short, (name, unit) in ERA5_NAMES.items():
        if short not in timed:
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
    for short, name in WIND_COMPONENTS.items():
        if short in timed:
            _check_unit(ds[short], "m s**-1", short, source)
            out[name] = (dims, ds[short].transpose(*dims).values.astype("float32"),
                         WIND_ATTRS[name])
    if level is not None and level_values is not None:
        _pressure_levels(ds, out, level, level_values, [s for s in PLEV_NAMES if s in timed],
                         source)
    if orography is not None:
        out["elevation"] = (("latitude", "longitude"), orography, {
            **get_variable("elevation").cf_attrs(),
            "comment": "ERA5 orography: surface geopotential z / 9.80665"})
    used = set(timed) | ({"z"} if orography is not None else set())
    out.attrs["dropped_variables"] = ", ".join(sorted(set(map(str, ds.data_vars)) - used))
    return _tidy_coords(out)


def _check_unit(da: xr.DataArray, unit: str, short: str, source: str) -> None:
    if _units(da) != unit.replace(" ", ""):
        raise DataFileError(f"{source}: {short} has units {da.attrs.get('units')!r}, "
                            f"expected {unit!r}")


def _pressure_levels(ds: xr.Dataset, out: xr.Dataset, level: str, level_values: np.ndarray,
                     shorts: list[str], source: str) -> None:
    hpa = np.asarray(level_values, dtype="float64")
    if level == "pressure_level" and np.nanmax(hpa) > 2000:  # some writers store Pa
        hpa = hpa / 100.0
    order = np.argsort(-hpa)  # from the ground up: 1000 hPa first
    dims = ("time", "pressure_level", "latitude", "longitude")
    for short in shorts:
        name, unit, attrs = PLEV_NAMES[short]
        _check_unit(ds[short], unit, short, source)
        values = ds[short].transpose("time", level, "latitude", "longitude").values[:, order]
        values = values.astype("float64")
        if short == "t":
            values = values - 273.15
        elif short == "z":
            values = values / G
        out[name] = (dims, values.astype("float32"), dict(attrs))
    if shorts:
        out.coords["pressure_level"] = ("pressure_level", hpa[order], {
            "units": "hPa", "long_name": "pressure level", "standard_name": "air_pressure",
            "positive": "down"})


def _tidy_coords(out: xr.Dataset) -> xr.Dataset:
    lon = out["longitude"].values
    if np.any(lon > 180.0):
        out = out.assign_coords(longitude=((lon + 180.0) % 360.0) - 180.0)
    order = ["latitude", "longitude"] + (["time"] if "time" in out.dims else [])
    out = out.sortby(order)
    if "time" in out.dims:
        _, unique = np.unique(out["time"].values, return_index=True)
        out = out.isel(time=np.sort(unique))
        out["time"].attrs = {"standard_name": "time"}
    out["latitude"].attrs = {"units": "degrees_north", "standard_name": "latitude"}
    out["longitude"].attrs = {"units": "degrees_east", "standard_name": "longitude"}
    return out
