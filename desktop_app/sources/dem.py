"""Digital elevation models onto a region's regular latitude/longitude grid.

Reads GeoTIFF, ESRI ASCII grids (CRS from a ``.prj`` beside the file, or given) and
NetCDF (an ``elevation`` variable, with or without ``standard_name``) in any CRS, one file
or a mosaic of tiles, and resamples them with GDAL's warper (rasterio): *average* when
the DEM is finer than the region grid (every DEM pixel counts once), *bilinear* when it
is coarser. Only the window of each file that covers the box is read, in the file's own
data type, so a large DEM costs memory in proportion to the box, not the file.

Nodata pixels never enter an average. A box cell the DEM's footprint does not reach is
an error that names the uncovered part; small voids inside the footprint (a few
percent, as SRTM has) are filled from their neighbours and counted in the attributes.

rasterio is imported lazily (start-up time) and used directly, not through rioxarray:
windowed reads of only the part over the box, and one warp per tile.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from desktop_app.core.grid import METRES_PER_DEGREE, BBox, GridSpec
from desktop_app.core.progress import Progress
from desktop_app.core.variables import get_variable
from desktop_app.errors import CancelledError, ConfigError, DataFileError

if TYPE_CHECKING:
    from affine import Affine
    from rasterio.crs import CRS

MAX_VOID_FRACTION = 0.05  # more missing than this inside the footprint is an error
_METRE_UNITS = {"m", "metre", "metres", "meter", "meters"}
_NETCDF_SUFFIXES = (".nc", ".nc4", ".cdf", ".netcdf")
WGS84 = "EPSG:4326"


@dataclass
class DemPiece:
    """The part of one DEM file that covers the box, ready for the warper."""

    path: Path
    values: np.ndarray  # the file's own dtype (no float copy of a big int16 window)
    nodata: float | None  # the value that marks no data in ``values`` (NaN for floats)
    transform: Affine
    crs: CRS
    bounds_lonlat: tuple[float, float, float, float]  # whole file: west, south, east, north

    @property
    def pixel_metres(self) -> float:
        size = min(abs(self.transform.a), abs(self.transform.e))
        return size * METRES_PER_DEGREE if self.crs.is_geographic else size


def parse_crs(text: str) -> CRS:
    """``EPSG:21781``, a PROJ string or WKT -> a CRS; anything else is one clear line."""
    from rasterio.crs import CRS
    from rasterio.errors import CRSError

    try:
        return CRS.from_user_input(text.strip())
    except CRSError as exc:
        raise ConfigError(f"not a CRS: {text!r} (give e.g. EPSG:21781)") from exc


def grid_transform(grid: GridSpec) -> Affine:
    """North-up affine of a grid given by ascending cell centres (equal steps)."""
    from affine import Affine

    dlat, dlon = grid.resolution
    north = float(grid.latitude[-1]) + dlat / 2
    west = float(grid.longitude[0]) - dlon / 2
    return Affine(dlon, 0.0, west, 0.0, -dlat, north)


def _raster_piece(path: Path, box: BBox, crs_override: CRS | None) -> DemPiece | None:
    import rasterio
    import rasterio.errors
    import rasterio.warp
    import rasterio.windows

    try:
        src = rasterio.open(path)
    except rasterio.errors.RasterioIOError as exc:
        raise DataFileError(f"cannot read DEM {path}: {str(exc).splitlines()[0]}") from exc
    with src:
        crs = _file_crs(path, src.crs, crs_override)
        bounds = rasterio.warp.transform_bounds(crs, WGS84, *src.bounds, densify_pts=21)
        try:
            box_native = rasterio.warp.transform_bounds(
                WGS84, crs, box.west, box.south, box.east, box.north, densify_pts=21)
        except rasterio.errors.CRSError as exc:
            raise DataFileError(f"DEM {path}: cannot place the box in {crs}: {exc}") from exc
        full = rasterio.windows.Window(0, 0, src.width, src.height)
        window = rasterio.windows.from_bounds(*box_native, transform=src.transform)
        # whole pixels, two of margin: the warper's kernels reach past the cell edges
        col0, row0 = math.floor(window.col_off) - 2, math.floor(window.row_off) - 2
        window = rasterio.windows.Window(
            col0, row0, math.ceil(window.col_off + window.width) + 2 - col0,
            math.ceil(window.row_off + window.height) + 2 - row0)
        try:
            window = window.intersection(full)
        except rasterio.errors.WindowError:
            return None  # this tile does not touch the box
        if window.width < 1 or window.height < 1:
            return None
        try:
            values = src.read(1, window=window)
        except rasterio.errors.RasterioIOError as exc:
            cause = exc.__cause__ or exc
            raise DataFileError(f"cannot read DEM {path}: corrupt or truncated "
                                f"({str(cause).splitlines()[0]})") from exc
        nodata = src.nodata
        if nodata is None and values.dtype.kind == "f":
            nodata = float("nan")
        return DemPiece(path, values, nodata, src.window_transform(window), crs,
                        (bounds[0], bounds[1], bounds[2], bounds[3]))


def _file_crs(path: Path, found: CRS | None, override: CRS | None) -> CRS:
    if found is not None and override is not None and found != override:
        raise ConfigError(f"DEM {path} says its CRS is {found.to_string()}, but the CRS "
                          f"given for it says {override.to_string()}")
    crs = found or override
    if crs is None:
        raise DataFileError(f"DEM {path} has no CRS (no .prj beside it, none inside): give "
                            "its CRS as EPSG:n")
    return crs


def _netcdf_piece(path: Path, box: BBox, crs_override: CRS | None) -> DemPiece | None:
    """A NetCDF DEM: ``elevation`` (or the one ``surface_altitude`` variable) on
    latitude/longitude (geographic) or on x/y with a CF grid mapping."""
    from affine import Affine
    from rasterio.crs import CRS

    # opened directly, not through fsutil.load_netcdf: that drops grid-mapping
    # variables (the app's own files are WGS 84), and a DEM's grid mapping is its CRS
    try:
        with xr.open_dataset(path, engine="netcdf4") as opened:
            ds = opened.load()
    except (OSError, ValueError, RuntimeError, EOFError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataFileError(f"cannot read DEM {path}: {first}") from exc
    names = [str(n) for n, v in ds.data_vars.items()
             if n == "elevation" or v.attrs.get("standard_name") == "surface_altitude"]
    if not names:
        raise DataFileError(f"DEM {path}: no 'elevation' variable (has "
                            f"{', '.join(map(str, ds.data_vars)) or 'none'})")
    da = ds[names[0]].squeeze(drop=True)
    units = str(da.attrs.get("units", "m"))
    if units not in _METRE_UNITS:
        raise DataFileError(f"DEM {path}: {names[0]} is in {units!r}, expected metres")
    ydim, xdim = (("latitude", "longitude") if "latitude" in da.dims else
                  ("lat", "lon") if "lat" in da.dims else ("y", "x"))
    if da.ndim != 2 or set(da.dims) != {ydim, xdim}:
        raise DataFileError(f"DEM {path}: {names[0]} must be 2-D on latitude/longitude or "
                            f"y/x, has dims {da.dims}")
    found: CRS | None = None
    mapping = ds.get(str(da.attrs.get("grid_mapping", ""))) if da.attrs.get(
        "grid_mapping") else None
    if mapping is not None:
        wkt = mapping.attrs.get("crs_wkt") or mapping.attrs.get("spatial_ref")
        found = CRS.from_wkt(str(wkt)) if wkt else None
        if found is None and "epsg_code" in mapping.attrs:
            found = CRS.from_user_input(str(mapping.attrs["epsg_code"]))
    elif ydim != "y":  # CF: latitude/longitude coordinates are geographic
        found = CRS.from_epsg(4326)
    crs = _file_crs(path, found, crs_override)
    da = da.transpose(ydim, xdim)
    y, x = da[ydim].values.astype(float), da[xdim].values.astype(float)
    if y.size < 2 or x.size < 2:
        raise DataFileError(f"DEM {path}: needs at least 2x2 cells")
    dy, dx = np.diff(y), np.diff(x)
    if not (np.allclose(dy, dy[0], rtol=1e-4) and np.allclose(dx, dx[0], rtol=1e-4)):
        raise DataFileError(f"DEM {path}: coordinates are not a regular grid")
    values = da.values.astype(np.float32)
    if dy[0] > 0:  # GDAL wants rows from north to south
        values, y, dy = values[::-1], y[::-1], -dy
    if dx[0] < 0:
        values, x, dx = values[:, ::-1], x[::-1], -dx
    transform = Affine(dx[0], 0.0, x[0] - dx[0] / 2, 0.0, dy[0], y[0] - dy[0] / 2)
    import rasterio.warp

    h, w = values.shape
    native = (transform.c, transform.f + dy[0] * h, transform.c + dx[0] * w, transform.f)
    bounds = rasterio.warp.transform_bounds(crs, WGS84, *native, densify_pts=21)
    return DemPiece(path, values, float("nan"), transform, crs,
                    (bounds[0], bounds[1], bounds[2], bounds[3]))


def read_pieces(paths: Sequence[Path], box: BBox, crs: str | None = None) -> list[DemPiece]:
    """The part of each DEM file that touches ``box`` (files that miss it are skipped)."""
    if not paths:
        raise ConfigError("no DEM file given")
    override = parse_crs(crs) if crs else None
    pieces: list[DemPiece | None] = []
    for raw in paths:
        path = Path(raw)
        if not path.is_file():
            raise DataFileError(f"DEM file not found: {path}")
        if path.suffix.lower() in _NETCDF_SUFFIXES:
            pieces.append(_netcdf_piece(path, box, override))
        else:
            pieces.append(_raster_piece(path, box, override))
    found = [p for p in pieces if p is not None]
    if not found:
        raise DataFileError(f"{_names(paths)} do not reach the box at all: "
                            f"{coverage_text(paths, [], box)}")
    return found


def _names(paths: Sequence[Path]) -> str:
    names = [Path(p).name for p in paths]
    return names[0] if len(names) == 1 else f"DEM tiles {', '.join(names)}"


def _fmt_lat(v: float) -> str:
    return f"{abs(v):.2f}°{'N' if v >= 0 else 'S'}"


def _fmt_lon(v: float) -> str:
    return f"{abs(v):.2f}°{'E' if v >= 0 else 'W'}"


def coverage_text(paths: Sequence[Path], pieces: Sequence[DemPiece], box: BBox) -> str:
    """'DEM covers 46.70–46.90°N, 9.80–10.00°E; box asks ...' for an error message."""
    asks = (f"box asks {_fmt_lat(box.south)}–{_fmt_lat(box.north)}, "
            f"{_fmt_lon(box.west)}–{_fmt_lon(box.east)}")
    if not pieces:
        return asks
    w = min(p.bounds_lonlat[0] for p in pieces)
    s = min(p.bounds_lonlat[1] for p in pieces)
    e = max(p.bounds_lonlat[2] for p in pieces)
    n = max(p.bounds_lonlat[3] for p in pieces)
    return f"DEM covers {_fmt_lat(s)}–{_fmt_lat(n)}, {_fmt_lon(w)}–{_fmt_lon(e)}; {asks}"


def _side(missing: np.ndarray) -> str:
    """Where in the box the uncovered cells lie, in compass words."""
    if missing.all():
        return "whole"
    rows, cols = np.nonzero(missing)
    ny, nx = missing.shape
    y = (rows.mean() + 0.5) / ny - 0.5  # row 0 is the southernmost (ascending latitude)
    x = (cols.mean() + 0.5) / nx - 0.5
    ns = "north" if y > 0.15 else "south" if y < -0.15 else ""
    ew = "east" if x > 0.15 else "west" if x < -0.15 else ""
    return (f"{ns}-{ew}" if ns and ew else ns or ew or "scattered") + " part"


def resample_to_grid(pieces: Sequence[DemPiece], grid: GridSpec,
                     cancel: threading.Event | None = None) -> tuple[np.ndarray, np.ndarray, str]:
    """Warp every piece onto the grid. Returns (elevation with NaN where nothing landed,
    footprint mask: cell centre inside some file's extent, resampling used)."""
    from rasterio.warp import Resampling, reproject

    dst_transform = grid_transform(grid)
    cell_m = abs(grid.resolution[0]) * METRES_PER_DEGREE
    out = np.full(grid.shape, np.nan, np.float32)
    footprint = np.zeros(grid.shape, bool)
    methods = set()
    for piece in pieces:
        if cancel is not None and cancel.is_set():
            raise CancelledError("region: cancelled while resampling the DEM")
        # finer DEM -> average of every pixel in the cell; coarser -> bilinear
        method = Resampling.average if piece.pixel_metres < cell_m else Resampling.bilinear
        methods.add(method.name)
        part = np.full(grid.shape, np.nan, np.float32)
        reproject(piece.values, part, src_transform=piece.transform, src_crs=piece.crs,
                  src_nodata=piece.nodata, dst_transform=dst_transform, dst_crs=WGS84,
                  dst_nodata=np.nan, resampling=method)
        inside = np.zeros(grid.shape, np.uint8)
        reproject(np.ones(piece.values.shape, np.uint8), inside,
                  src_transform=piece.transform, src_crs=piece.crs, dst_transform=dst_transform,
                  dst_crs=WGS84, dst_nodata=0, resampling=Resampling.nearest)
        # rows of the warped arrays run north to south; the grid is south to north
        part, inside = part[::-1], inside[::-1].astype(bool)
        fill = np.isnan(out) & ~np.isnan(part)
        out[fill] = part[fill]
        footprint |= inside
    return out, footprint, "+".join(sorted(methods))


def dem_to_grid(paths: Sequence[Path], box: BBox, grid: GridSpec, *, crs: str | None = None,
                progress: Progress | None = None,
                cancel: threading.Event | None = None) -> xr.Dataset:
    """The terrain dataset of a region: ``elevation`` (m) on ``grid``, with its CRS."""
    report = progress or (lambda _f, _m: None)
    report(0.05, f"reading {_names(paths)}")
    pieces = read_pieces(paths, box, crs)
    report(0.4, "resampling the DEM onto the region grid")
    elevation, footprint, method = resample_to_grid(pieces, grid, cancel)
    if not footprint.all():
        share = 100.0 * (~footprint).mean()
        raise DataFileError(
            f"{_names(paths)} does not cover the {_side(~footprint)} of the box "
            f"({share:.0f}% of it): {coverage_text(paths, pieces, box)}")
    voids = np.isnan(elevation)
    if voids.mean() > MAX_VOID_FRACTION:
        raise DataFileError(
            f"{_names(paths)} has no data (nodata) for {100 * voids.mean():.0f}% of the box, "
            f"in its {_side(voids)}; a DEM with fewer voids is needed")
    if voids.any():
        from rasterio.fill import fillnodata

        elevation = fillnodata(elevation, mask=~voids, max_search_distance=max(grid.shape))
    report(0.9, "terrain ready")
    attrs = {**get_variable("elevation").cf_attrs(), "grid_mapping": "crs"}
    ds = xr.Dataset(
        {"elevation": (("latitude", "longitude"), elevation.astype(np.float32), attrs)},
        coords={"latitude": grid.latitude, "longitude": grid.longitude,
                "crs": ((), np.int32(0), crs_attrs())},
    )
    ds.attrs = {
        "title": "region terrain",
        "source": ", ".join(f"{p.path.name} ({p.crs.to_string()})" for p in pieces),
        "processing": f"rasterio/GDAL warp to a regular latitude/longitude grid, "
                      f"{method} resampling; nodata excluded",
        "filled_void_cells": int(voids.sum()),
        "generated_values": "no",
    }
    return ds


def crs_attrs() -> dict[str, Any]:
    """CF grid mapping of a plain WGS 84 latitude/longitude grid (the writer's own)."""
    from desktop_app.sources.output import CRS_ATTRS

    return dict(CRS_ATTRS)
