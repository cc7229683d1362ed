"""Several normalised ERA5 parts into one background.

Parts may split variables (surface + pressure levels, u10 and v10 in two files), months
(one file per month) or both; an invariant file adds only the orography. They must lie
on one grid: two files on unrelated grids are an error naming both, never a NaN-filled
union. An invariant file may cover more than the data (the CDS often delivers it for a
larger area or the globe); it is then cut to the data's grid. Without any surface
geopotential the orography comes from the bundled altitude grid, and the dataset says
so (``elevation_source`` and ``orography_fallback`` attributes).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr

from desktop_app.core.variables import get_variable
from desktop_app.errors import DataFileError
from desktop_app.sources.altitude import DESCRIPTION as ALTITUDE_GRID
from desktop_app.sources.altitude import cell_mean_altitude

GRID_TOLERANCE = 1e-4  # degrees: ERA5 writers round 0.25-degree coordinates differently
FALLBACK_NOTE = (
    "no ERA5 surface geopotential 'z' in these files: the coarse orography comes from "
    f"{ALTITUDE_GRID}; add ERA5's own orography by passing the CDS invariant file (or a "
    "single-levels file with 'geopotential') alongside"
)

Part = tuple[str, xr.Dataset]  # (label naming the file, normalised dataset)


def _describe(ds: xr.Dataset) -> str:
    lat, lon = ds["latitude"].values, ds["longitude"].values
    return (f"{lat.size}x{lon.size} cells, {lat.min():.2f}..{lat.max():.2f}N "
            f"{lon.min():.2f}..{lon.max():.2f}E")


def _same_grid(a: xr.Dataset, b: xr.Dataset) -> bool:
    return all(a[c].size == b[c].size and bool(np.allclose(a[c].values, b[c].values,
                                                           atol=GRID_TOLERANCE))
               for c in ("latitude", "longitude"))


def _cut_to(static: xr.Dataset, grid: xr.Dataset) -> xr.Dataset | None:
    """``static`` on ``grid``'s cells when it covers them exactly, else None."""
    picked = []
    for c in ("latitude", "longitude"):
        src, want = static[c].values, grid[c].values
        idx = np.abs(src[None, :] - want[:, None]).argmin(axis=1)
        if not np.allclose(src[idx], want, atol=GRID_TOLERANCE):
            return None
        picked.append(idx)
    return static.isel(latitude=picked[0], longitude=picked[1]).assign_coords(
        latitude=grid["latitude"].values, longitude=grid["longitude"].values)


def merge_parts(parts: Sequence[Part]) -> xr.Dataset:
    """One dataset on one grid: time-varying parts concatenated/merged, the orography
    from the first part that has it, winds derived where both components meet."""
    timed = [(label, ds) for label, ds in parts if "time" in ds.dims]
    static = [(label, ds) for label, ds in parts if "time" not in ds.dims]
    if not timed:
        names = ", ".join(label for label, _ in parts)
        raise DataFileError(f"{names}: only orography, no time-varying ERA5 field")
    ref_label, ref = timed[0]
    for label, ds in timed[1:]:
        if not _same_grid(ref, ds):
            raise DataFileError(
                f"ERA5 files {ref_label} ({_describe(ref)}) and {label} ({_describe(ds)}) "
                "are on different grids; give files of one area and resolution")
    aligned = [ds.assign_coords(latitude=ref["latitude"].values,
                                longitude=ref["longitude"].values) for _, ds in timed]
    fields = [ds.drop_vars("elevation", errors="ignore") for ds in aligned]
    try:
        merged = xr.merge(fields, compat="no_conflicts", join="outer",
                          combine_attrs="override")
        merged.attrs = {}
    except (ValueError, xr.MergeError) as exc:
        labels = ", ".join(label for label, _ in timed)
        raise DataFileError(f"ERA5 files {labels} do not fit together: {exc}") from exc
    found = [(label, ds["elevation"]) for (label, _), ds in zip(timed, aligned, strict=True)
             if "elevation" in ds]
    source, orography = found[0] if found else (ref_label, None)
    if orography is None:
        for label, ds in static:
            cut = _cut_to(ds, ref)
            if cut is None:
                raise DataFileError(
                    f"ERA5 invariant file {label} ({_describe(ds)}) does not cover the grid "
                    f"of {ref_label} ({_describe(ref)})")
            if "elevation" in cut:
                orography, source = cut["elevation"], label
                break
    if orography is not None:
        merged["elevation"] = (("latitude", "longitude"), orography.values,
                               dict(orography.attrs))
        merged.attrs["elevation_source"] = f"ERA5 surface geopotential z / g ({source})"
    else:
        merged["elevation"] = (("latitude", "longitude"),
                               cell_mean_altitude(merged["latitude"].values,
                                                  merged["longitude"].values),
                               {**get_variable("elevation").cf_attrs(),
                                "comment": f"fallback: mean of {ALTITUDE_GRID} per cell"})
        merged.attrs["elevation_source"] = f"fallback: {ALTITUDE_GRID}"
        merged.attrs["orography_fallback"] = FALLBACK_NOTE
    return derive_wind(merged)


def derive_wind(ds: xr.Dataset) -> xr.Dataset:
    """Wind speed and direction (from which it blows) when both 10 m components are
    there; a lone component stays as it is."""
    if "eastward_wind_10m" not in ds or "northward_wind_10m" not in ds:
        return ds
    u = ds["eastward_wind_10m"].values.astype("float64")
    v = ds["northward_wind_10m"].values.astype("float64")
    dims = ds["eastward_wind_10m"].dims
    ds["wind_speed"] = (dims, np.hypot(u, v).astype("float32"),
                        get_variable("wind_speed").cf_attrs())
    direction = (np.degrees(np.arctan2(-u, -v)) % 360.0).astype("float32")
    ds["wind_direction"] = (dims, direction, get_variable("wind_direction").cf_attrs())
    return ds
