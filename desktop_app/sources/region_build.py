"""Build a region folder from a box: terrain from DEM files or the elevation service,
optionally a coarse background (ERA5 files or an Open-Meteo fetch) and stations.

The folder is the one :func:`desktop_app.sources.region.load_region` opens. It is built
in a hidden temp folder beside the target and renamed into place at the end, so a
failure or a cancel leaves nothing behind, and an existing folder is never touched.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import re
import shutil
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import xarray as xr

from desktop_app import paths
from desktop_app.core.grid import BBox, GridSpec
from desktop_app.core.progress import Progress
from desktop_app.core.variables import get_variable
from desktop_app.errors import CancelledError, ConfigError, DataFileError
from desktop_app.sources.context import FetchContext
from desktop_app.sources.dem import crs_attrs, dem_to_grid
from desktop_app.sources.era5_files import open_era5
from desktop_app.sources.openmeteo import OpenMeteo, OpenMeteoFetch
from desktop_app.sources.output import write_netcdf
from desktop_app.sources.providers import run_fetch
from desktop_app.sources.station_formats import read_station_file

RESOLUTIONS = {"100m": 100.0, "250m": 250.0, "1km": 1000.0}
MAX_CELLS = 4_000_000  # 2000 x 2000: the map, the baseline and a forecast stay interactive
MAX_ELEVATION_POINTS = 10_000  # the elevation service answers 100 points per request
BACKGROUND_STEP = 0.1  # degrees between Open-Meteo background points
BACKGROUND_VARIABLES = ("temperature", "relative_humidity", "surface_pressure", "wind_speed")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._ -]{0,63}$")


def parse_resolution(text: str) -> float:
    """'100m', '250m', '1km' (or any '<n>m' / '<n>km' from 30 m to 5 km) -> metres."""
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*(m|km)\s*", text.lower())
    if not match:
        raise ConfigError(f"resolution must look like 100m, 250m or 1km, got {text!r}")
    metres = float(match.group(1)) * (1000.0 if match.group(2) == "km" else 1.0)
    if not 30.0 <= metres <= 5000.0:
        raise ConfigError(f"resolution {text!r} is outside 30 m .. 5 km")
    return metres


def parse_region_box(text: str) -> BBox:
    """'S,W,N,E' in degrees, with one clear line for each way a box can be wrong."""
    parts = [p.strip() for p in text.split(",")]
    try:
        s, w, n, e = (float(p) for p in parts)
    except ValueError:
        raise ConfigError(f"box must be four numbers S,W,N,E in degrees, got {text!r}") from None
    if not all(math.isfinite(v) for v in (s, w, n, e)):
        raise ConfigError(f"box has a non-finite number: {text!r}")
    if max(abs(s), abs(n)) > 90 or max(abs(w), abs(e)) > 180:
        raise ConfigError(f"box {text!r} is off the globe (latitude within ±90, longitude "
                          "within ±180)")
    if max(abs(s), abs(n)) >= 89.5:
        raise ConfigError(f"box {text!r} reaches a pole: a latitude/longitude grid cannot "
                          "hold it; keep within ±89.5°")
    if n <= s:
        raise ConfigError(f"box is empty or inverted: north {n} is not above south {s}")
    if w > e:
        raise ConfigError(f"box crosses the antimeridian (west {w} > east {e}): not "
                          "supported, make two regions on either side of 180°")
    if w == e:
        raise ConfigError(f"box is empty: west and east are both {w}")
    return BBox(s, w, n, e)


def target_folder(name: str, out: Path | None = None) -> Path:
    """The folder a region called ``name`` goes to; it must not exist yet."""
    if not _NAME.match(name) or name in (".", ".."):
        raise ConfigError(f"region name {name!r}: use letters, digits, space, '.', '_' or "
                          "'-' (at most 64, starting with a letter or digit)")
    folder = Path(out) if out is not None else paths.regions_dir() / name
    if folder.exists():
        raise ConfigError(f"region folder already exists: {folder} (choose another name "
                          "or folder; nothing was changed)")
    return folder


@dataclass(frozen=True)
class RegionRequest:
    """Everything ``region create`` (and File ▸ New region) asks for."""

    name: str
    bbox: BBox
    resolution_m: float
    dem_paths: tuple[Path, ...] = ()
    dem_crs: str | None = None
    elevation_service: bool = False  # Open-Meteo's elevation API instead of DEM files
    era5_paths: tuple[Path, ...] = ()
    openmeteo_background: bool = False
    background_variables: tuple[str, ...] = BACKGROUND_VARIABLES  # asked of Open-Meteo
    start: dt.date | None = None
    end: dt.date | None = None
    station_path: Path | None = None
    station_format: str | None = None
    description: str = ""
    context: FetchContext = field(default_factory=FetchContext, compare=False)

    def check(self) -> None:
        if bool(self.dem_paths) == self.elevation_service:
            raise ConfigError("give DEM file(s) or the elevation service (one of the two)")
        if self.era5_paths and self.openmeteo_background:
            raise ConfigError("one background: ERA5 files or Open-Meteo, not both")
        if self.start and self.end and self.end < self.start:
            raise ConfigError(f"end {self.end} is before start {self.start}")
        if self.station_path is not None and not self.station_format:
            raise ConfigError("a station file needs its format")
        if self.station_path is not None and not (self.era5_paths or
                                                  self.openmeteo_background):
            raise ConfigError("stations need a background (ERA5 or Open-Meteo): their "
                              "observations are matched to its times")


def region_grid(bbox: BBox, resolution_m: float) -> GridSpec:
    grid = GridSpec.tiling_box(bbox, resolution_m)
    ny, nx = grid.shape
    if ny < 2 or nx < 2:
        raise ConfigError(f"box is smaller than 2x2 cells at {resolution_m:g} m "
                          f"({ny}x{nx}); make it larger or the resolution finer")
    if ny * nx > MAX_CELLS:
        raise ConfigError(f"box at {resolution_m:g} m is {ny}x{nx} cells, more than "
                          f"{MAX_CELLS:,}; use a coarser resolution or a smaller box")
    return grid


def service_terrain(grid: GridSpec, context: FetchContext, progress: Progress,
                    cancel: threading.Event | None) -> xr.Dataset:
    """Terrain from Open-Meteo's elevation API: one point per cell centre (the service's
    own ~90 m DEM sampled, not averaged over the cell)."""
    ny, nx = grid.shape
    if ny * nx > MAX_ELEVATION_POINTS:
        raise ConfigError(f"the elevation service answers point by point: {ny}x{nx} cells "
                          f"is more than {MAX_ELEVATION_POINTS:,} points; use a DEM file or "
                          "a coarser resolution")
    om = OpenMeteo.from_settings(context.settings, http=context.get_http(),
                                 cache=context.get_cache())
    progress(0.1, f"asking the elevation service for {ny * nx} points")
    lat2, lon2 = np.meshgrid(grid.latitude, grid.longitude, indexing="ij")
    values = om.elevation(lat2.ravel(), lon2.ravel(), cancel=cancel).reshape(ny, nx)
    if np.isnan(values).any():
        raise DataFileError(f"the elevation service has no value for "
                            f"{int(np.isnan(values).sum())} of the {ny * nx} cells")
    attrs = {**get_variable("elevation").cf_attrs(), "grid_mapping": "crs"}
    ds = xr.Dataset(
        {"elevation": (("latitude", "longitude"), values.astype(np.float32), attrs)},
        coords={"latitude": grid.latitude, "longitude": grid.longitude,
                "crs": ((), np.int32(0), crs_attrs())})
    ds.attrs = {"title": "region terrain", "generated_values": "no",
                "source": f"Open-Meteo elevation API ({om.forecast_url}), point values at "
                          "cell centres (Copernicus DEM GLO-90)"}
    return ds


def _time_slice(ds: xr.Dataset, start: dt.date | None, end: dt.date | None) -> xr.Dataset:
    lo = np.datetime64(start, "ns") if start else None
    hi = np.datetime64(end + dt.timedelta(days=1), "ns") - np.timedelta64(1, "ns") \
        if end else None
    out = ds.sel(time=slice(lo, hi))
    if out.sizes["time"] == 0:
        have = (f"{np.datetime_as_string(ds['time'].values[0], 'h')} .. "
                f"{np.datetime_as_string(ds['time'].values[-1], 'h')}")
        raise DataFileError(f"the background has no time in {start} .. {end} (has {have})")
    return out


def crop_background(ds: xr.Dataset, bbox: BBox, what: str) -> xr.Dataset:
    """The coarse points around the box (one ring beyond it, for interpolation); the
    background must reach every side of the box."""
    lat, lon = ds["latitude"].values, ds["longitude"].values
    if lat[0] > bbox.south or lat[-1] < bbox.north or lon[0] > bbox.west or lon[-1] < bbox.east:
        raise DataFileError(
            f"{what} covers {lat[0]:.2f}–{lat[-1]:.2f}°N, {lon[0]:.2f}–{lon[-1]:.2f}°E; "
            f"box asks {bbox.south:.2f}–{bbox.north:.2f}°N, {bbox.west:.2f}–{bbox.east:.2f}°E")
    i0 = max(0, int(np.searchsorted(lat, bbox.south, "right")) - 2)
    i1 = min(lat.size, int(np.searchsorted(lat, bbox.north, "left")) + 2)
    j0 = max(0, int(np.searchsorted(lon, bbox.west, "right")) - 2)
    j1 = min(lon.size, int(np.searchsorted(lon, bbox.east, "left")) + 2)
    return ds.isel(latitude=slice(i0, i1), longitude=slice(j0, j1))


def background(request: RegionRequest, progress: Progress,
               cancel: threading.Event | None) -> xr.Dataset | None:
    """The coarse background the request asks for (with its orography), or None."""
    if request.era5_paths:
        names = ", ".join(p.name for p in request.era5_paths)
        progress(0.55, f"reading ERA5 {names}")
        ds = _time_slice(open_era5(request.era5_paths), request.start, request.end)
        ds = crop_background(ds, request.bbox, f"ERA5 {names}")
    elif request.openmeteo_background:
        b = request.bbox
        pad = BACKGROUND_STEP
        box = BBox(max(-89.9, b.south - pad), max(-180.0, b.west - pad),
                   min(89.9, b.north + pad), min(180.0, b.east + pad))
        fetch = OpenMeteoFetch(variables=request.background_variables, bbox=box,
                               grid_resolution=BACKGROUND_STEP, start=request.start,
                               end=request.end)
        ds = run_fetch(fetch, context=request.context, cancel=cancel,
                       progress=lambda f, m: progress(0.55 + 0.3 * f, m))
        names = "Open-Meteo"
    else:
        return None
    if "elevation" in ds.coords:  # Open-Meteo gives each point's height as a coordinate
        ds = ds.reset_coords("elevation")
    if "elevation" not in ds.data_vars:
        raise DataFileError(f"{names}: the background has no orography ('elevation'); "
                            "add ERA5's surface geopotential z (the invariant file) to the "
                            "ERA5 files")
    return ds


def stations_in_box(request: RegionRequest, coarse: xr.Dataset | None) -> xr.Dataset | None:
    """The stations of the file inside the box, on the background's times (the window
    and the QC line observations up with the fields step by step)."""
    if request.station_path is None or coarse is None:
        return None
    st = read_station_file(request.station_path, str(request.station_format))
    lat, lon = st["latitude"].values, st["longitude"].values
    inside = np.array([request.bbox.contains(float(a), float(o))
                       for a, o in zip(lat, lon, strict=True)], bool)
    if not inside.any():
        raise DataFileError(f"no station of {request.station_path.name} lies inside the box")
    st = st.isel(station=np.nonzero(inside)[0]).reindex(time=coarse["time"].values)
    observed = [v for v in st.data_vars if "time" in st[v].dims and not str(v).endswith("_qc")]
    if not any(bool(np.isfinite(st[v].values).any()) for v in observed):
        raise DataFileError(f"{request.station_path.name}: no observation at the "
                            "background's times")
    return st


def _check(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise CancelledError("region create cancelled: nothing written")


def build_region(request: RegionRequest, folder: Path, *, progress: Progress | None = None,
                 cancel: threading.Event | None = None) -> Path:
    """Build the region folder ``folder`` (which must not exist); return it."""
    report = progress or (lambda _f, _m: None)
    request.check()
    target_folder(request.name, folder)
    grid = region_grid(request.bbox, request.resolution_m)
    _check(cancel)
    if request.elevation_service:
        terrain = service_terrain(grid, request.context, report, cancel)
    else:
        terrain = dem_to_grid(request.dem_paths, request.bbox, grid, crs=request.dem_crs,
                              progress=lambda f, m: report(0.5 * f, m), cancel=cancel)
    terrain.attrs["resolution"] = f"{request.resolution_m:g} m"
    _check(cancel)
    coarse = background(request, report, cancel)
    _check(cancel)
    stations = stations_in_box(request, coarse)
    _check(cancel)
    report(0.9, f"writing {folder}")
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".part", dir=folder.parent))
    try:
        files = {"terrain": "terrain.nc"}
        write_netcdf(terrain, tmp / "terrain.nc")
        if coarse is not None:
            write_netcdf(coarse, tmp / "coarse.nc")
            files["coarse"] = "coarse.nc"
        if stations is not None:
            write_netcdf(stations, tmp / "stations.nc")
            files["stations"] = "stations.nc"
        meta = {"name": request.name, "description": request.description or describe(
            request, grid), "bbox": [request.bbox.south, request.bbox.west,
                                     request.bbox.north, request.bbox.east],
                "files": files, "generated_values": []}
        (tmp / "region.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        _check(cancel)
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes 0700; a user's folder is usual
        os.rename(tmp, folder)  # fails rather than replace a folder made meanwhile
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    report(1.0, f"region {request.name} ready")
    return folder


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def describe(request: RegionRequest, grid: GridSpec) -> str:
    ny, nx = grid.shape
    terrain = ("Open-Meteo elevation service" if request.elevation_service
               else ", ".join(p.name for p in request.dem_paths))
    text = f"{request.resolution_m:g} m grid ({ny}x{nx}) from {terrain}"
    if request.era5_paths:
        text += f"; background ERA5 {', '.join(p.name for p in request.era5_paths)}"
    elif request.openmeteo_background:
        text += "; background Open-Meteo"
    return text
