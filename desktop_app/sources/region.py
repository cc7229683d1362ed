"""Region bundles: a folder with ``region.json``, terrain, coarse background, stations.

The bundled sample region (``resources/sample_region``) is one; a user's fetched region
is saved the same way. Every file is checked against the canonical schema on load.
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
    coarse: xr.Dataset
    stations: xr.Dataset | None
    generated: list[str] = field(default_factory=list)
    path: Path | None = None

    @property
    def has_generated_values(self) -> bool:
        return bool(self.generated)


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
        coarse = _open(folder / files["coarse"])
        stations = _open(folder / files["stations"]) if files.get("stations") else None
        bbox = BBox(*(float(v) for v in meta["bbox"]))
    except KeyError as exc:
        raise DataFileError(f"{manifest}: missing key {exc.args[0]!r}") from None
    except MicroclimateError:
        raise
    except (TypeError, ValueError) as exc:
        raise DataFileError(f"{manifest}: {exc}") from exc
    validate_grid_dataset(terrain, require_time=False)
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
