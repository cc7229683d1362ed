"""Region bundles: a folder with ``region.json``, terrain, coarse background, stations.

The bundled sample region (``resources/sample_region``) is one; ``region create``
(:mod:`.region_build`) writes the same layout. The coarse background is optional (a
region made with no background shows its terrain). Every file is checked against the
canonical schema on load. A forecast file the app wrote opens as a region in memory.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import xarray as xr

from desktop_app import paths
from desktop_app.core.grid import BBox
from desktop_app.core.schema import validate_grid_dataset, validate_station_dataset
from desktop_app.core.variables import get_variable
from desktop_app.errors import DataFileError, MicroclimateError
from desktop_app.fsutil import load_netcdf

_KEYS = {"name", "description", "bbox", "files", "generated_values"}
METRES = ("m", "metre", "metres", "meter", "meters")


@dataclass
class RegionBundle:
    name: str
    description: str
    bbox: BBox
    terrain: xr.Dataset
    coarse: xr.Dataset | None  # None: terrain only (a region made with no background)
    stations: xr.Dataset | None
    generated: list[str] = field(default_factory=list)
    path: Path | None = None
    fields: xr.Dataset | None = None  # a forecast file's own fields (no coarse to redo them)


def _open(path: Path) -> xr.Dataset:
    return load_netcdf(path, "region")


def load_region(folder: Path | None = None) -> RegionBundle:
    """Open a region bundle folder (or its ``region.json``); default: the sample region."""
    folder = Path(folder) if folder else paths.sample_region_path().parent
    if folder.is_file():
        folder = folder.parent
    manifest = folder / "region.json"
    try:
        meta = json.loads(manifest.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataFileError(f"not a region folder (no region.json): {folder}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataFileError(f"cannot read {manifest}: {exc}") from exc
    if not isinstance(meta, dict):
        raise DataFileError(f"{manifest}: expected a JSON object")
    unknown = set(meta) - _KEYS
    if unknown:
        raise DataFileError(f"{manifest}: unknown key {sorted(unknown)[0]!r}")
    try:
        files = meta["files"]
        terrain = _open(folder / files["terrain"])
        coarse = _open(folder / files["coarse"]) if files.get("coarse") else None
        stations = _open(folder / files["stations"]) if files.get("stations") else None
        bbox = BBox(*(float(v) for v in meta["bbox"]))
    except KeyError as exc:
        raise DataFileError(f"{manifest}: missing key {exc.args[0]!r}") from None
    except MicroclimateError:
        raise
    except (TypeError, ValueError) as exc:
        raise DataFileError(f"{manifest}: {exc}") from exc
    validate_grid_dataset(terrain, require_time=False)
    if coarse is not None:
        validate_grid_dataset(coarse)
    if stations is not None:
        validate_station_dataset(stations)
    return RegionBundle(
        name=str(meta.get("name", folder.name)),
        description=str(meta.get("description", "")),
        bbox=bbox,
        terrain=terrain,
        coarse=coarse,
        stations=stations,
        generated=list(meta.get("generated_values", [])),
        path=folder,
    )


def open_data(path: Path | None = None) -> RegionBundle:
    """What ``gui --data`` and File ▸ Open take: a region folder (or its region.json),
    or a grid NetCDF the app wrote (a forecast, an exported field) as a region in memory."""
    if path is None or Path(path).is_dir() or Path(path).name == "region.json":
        return load_region(path)
    return forecast_region(Path(path))


def forecast_region(path: Path) -> RegionBundle:
    """A forecast file as a region: its elevation is the terrain, its fields are shown
    as they are (there is no coarse background to recompute them from)."""
    ds = open_grid_file(path)
    if "elevation" not in ds.variables:
        raise DataFileError(f"{path}: not a region folder nor a forecast file (a grid "
                            "with 'elevation' and time-varying fields)")
    fields = ds.reset_coords().drop_vars("elevation")
    if not any("time" in fields[v].dims for v in fields.data_vars):
        raise DataFileError(f"{path}: no time-varying field to show")
    terrain = ds.reset_coords()[["elevation"]]
    lat, lon = ds["latitude"].values, ds["longitude"].values
    generated = ["forecast input"] if ds.attrs.get("generated_values") == "yes" else []
    return RegionBundle(
        name=str(ds.attrs.get("title") or path.stem), description=f"forecast file {path}",
        bbox=BBox(float(lat.min()), float(lon.min()), float(lat.max()), float(lon.max())),
        terrain=terrain, coarse=None, stations=None, generated=generated, path=None,
        fields=fields)


def open_grid_file(path: Path) -> xr.Dataset:
    """Open one canonical grid NetCDF (a forecast or an exported field), validated."""
    ds = _open(Path(path))
    try:
        validate_grid_dataset(ds)
    except MicroclimateError as exc:
        raise DataFileError(f"{path}: {exc}") from exc
    return ds


def accept_terrain(ds: xr.Dataset, source: str) -> xr.Dataset:
    """A terrain NetCDF as the forecast needs it: ``elevation`` in metres on ascending
    latitude/longitude. Files written by other tools often give only ``units = "m"``
    (no ``standard_name``) or a descending latitude; both are fine and fixed here. Other
    units are an error naming them."""
    if "elevation" not in ds:
        have = ", ".join(map(str, ds.data_vars)) or "none"
        raise DataFileError(f"{source}: no 'elevation' variable (has: {have})")
    units = str(ds["elevation"].attrs.get("units", "")).strip()
    if units.lower() not in METRES:
        raise DataFileError(f"{source}: 'elevation' must be in metres, has units={units!r}")
    for dim in ("latitude", "longitude"):
        if dim not in ds["elevation"].dims:
            raise DataFileError(f"{source}: 'elevation' is not on latitude/longitude "
                                f"(dims {ds['elevation'].dims})")
    ds = ds.sortby(["latitude", "longitude"])
    ds["elevation"].attrs.update(get_variable("elevation").cf_attrs())
    return ds
