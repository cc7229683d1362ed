"""The real regions and seasons the downscaling skill is measured on (perfect-model).

Each region is REAL ERA5 reanalysis at 0.25 deg from the shared fixtures; the coarse
input is its block mean by ``factor`` (a PERFECT-MODEL test: the input has no forecast
error and carries the target's mean exactly), the 0.25 deg field is the truth.

- UK, March 2019: ERA5 2 m temperature (GRIB); terrain = per-cell mean of pvlib's
  Altitude.h5 (``tests/data/inference/era5_uk_fine.nc``), since the GRIB has no ``z``.
- Finse (Norway), October-December 2018: ERA5 single levels; terrain = ERA5's ``z``/g.
- Davos (Swiss Alps), January 2020: ERA5 single levels and pressure levels (the
  column profile TopoSCALE interpolates in); terrain = ERA5's ``z``/g.

Used by ``benchmarks/bench_skill.py`` and ``models/train_cross_region.py``; names follow
the canonical grid schema (``temperature`` degC, ``elevation`` m, ``temperature_pl``
degC and ``geopotential_height_pl`` m on ``pressure_level`` hPa).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from desktop_app.sources.era5_files import open_era5  # noqa: E402
from desktop_app.verify.perfect_model import coarsen  # noqa: E402

SHARED = Path(os.environ.get("MICROCLIMATE_FIXTURES",
                             ROOT.parent / "shared" / "fixtures"))
DIMS = ("time", "latitude", "longitude")
T_ATTRS = {"standard_name": "air_temperature", "units": "degC"}
Z_ATTRS = {"standard_name": "surface_altitude", "units": "m"}
LICENCE = "Generated using Copernicus Climate Change Service information (ERA5)"


@dataclass
class Case:
    region: str
    season: str
    fine: xr.Dataset  # temperature (+ PL), elevation at 0.25 deg: the truth
    coarse: xr.Dataset  # block mean by factor: the input
    factor: int


def _ascending(ds: xr.Dataset) -> xr.Dataset:
    return ds.sortby("latitude")


def _fine(temp: np.ndarray, elev: np.ndarray, time: np.ndarray, lat: np.ndarray,
          lon: np.ndarray, title: str, ny: int, nx: int) -> xr.Dataset:
    return xr.Dataset(
        {"temperature": (DIMS, temp[:, :ny, :nx].astype(np.float32), T_ATTRS),
         "elevation": (DIMS[1:], elev[:ny, :nx].astype(np.float32), Z_ATTRS)},
        coords={"time": time, "latitude": lat[:ny].astype(float),
                "longitude": lon[:nx].astype(float)},
        attrs={"title": title, "generated_values": "no", "licence": LICENCE})


def load_uk() -> xr.Dataset:
    grib = SHARED / "era5" / "era5-2mt-2019-03-uk.grib"
    ds = _ascending(xr.open_dataset(grib, engine="cfgrib",
                                    backend_kwargs={"indexpath": ""}))
    with xr.open_dataset(ROOT / "tests" / "data" / "inference" / "era5_uk_fine.nc") as t:
        elev = t["elevation"].values
    t2m = ds["t2m"].values - 273.15
    return _fine(t2m, elev, ds["time"].values, ds["latitude"].values,
                 ds["longitude"].values, "ERA5 2 m temperature, UK, March 2019", 32, 48)


def _era5(files: list[Path], title: str, ny: int, nx: int) -> xr.Dataset:
    """The project's own ERA5 reader (orography from ``z``/g, pressure levels as
    ``*_pl``), cut to ``ny`` x ``nx`` cells so whole blocks fit."""
    ds = open_era5(files)
    keep = [v for v in ("temperature", "elevation", "temperature_pl",
                        "geopotential_height_pl") if v in ds]
    ds = ds[keep].isel(latitude=slice(0, ny), longitude=slice(0, nx)).load()
    ds.attrs = {"title": title, "generated_values": "no", "licence": LICENCE}
    return ds


def load_finse() -> xr.Dataset:
    folder = SHARED / "era5" / "finse_2018"
    return _era5(sorted(folder.glob("SURF_2018*.nc")),
                 "ERA5 2 m temperature, Finse, October-December 2018", 6, 10)


def load_davos() -> xr.Dataset:
    folder = SHARED / "era5" / "davos_2020-01"
    return _era5([folder / "SURF_202001.nc", folder / "PLEV_202001.nc"],
                 "ERA5, Davos, January 2020", 4, 4)


LOADERS = {"uk": (load_uk, "March 2019"), "finse": (load_finse, "Oct-Dec 2018"),
           "davos": (load_davos, "January 2020")}


def cases(factor: int = 2, regions: tuple[str, ...] = tuple(LOADERS)) -> list[Case]:
    out = []
    for name in regions:
        loader, season = LOADERS[name]
        fine = loader()
        out.append(Case(name, season, fine, coarsen(fine, factor), factor))
    return out
