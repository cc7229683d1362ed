"""Write one variable of a canonical grid as a GeoTIFF (rioxarray/GDAL): WGS 84, north
up, float32 with NaN as nodata, one band per chosen valid time.

The file carries what a GIS user needs to read it without the app: dataset tags
``VARIABLE``, ``STANDARD_NAME``, ``UNITS``, ``VALID_TIME`` (the first band's, ISO UTC)
and ``VALID_TIMES`` (every band's), the source and provenance; each band its valid time
as description and ``VALID_TIME`` tag, and its units. Atomic like every output.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import xarray as xr

from desktop_app.errors import DataFileError
from desktop_app.fsutil import atomic_path

EPSG = "EPSG:4326"


def iso_utc(t: np.datetime64) -> str:
    return f"{np.datetime_as_string(t, unit='m')}Z"


def gridded_variables(ds: xr.Dataset) -> list[str]:
    return [str(v) for v, da in ds.data_vars.items()
            if da.dims[-2:] == ("latitude", "longitude")]


def write_geotiff(ds: xr.Dataset, variable: str, path: Path,
                  steps: Sequence[int] | None = None) -> Path:
    """Write ``variable`` at time ``steps`` (indices; None: every step) to ``path``."""
    import rasterio
    import rioxarray  # noqa: F401 - registers the .rio accessor

    path = Path(path)
    if path.suffix.lower() not in (".tif", ".tiff"):
        raise DataFileError(f"{path}: a GeoTIFF file name ends in .tif or .tiff")
    if variable not in gridded_variables(ds):
        have = ", ".join(gridded_variables(ds)) or "none"
        raise DataFileError(f"variable {variable!r} is not a gridded variable of the file "
                            f"(has: {have})")
    da = ds[variable]
    times: list[np.datetime64] = []
    if "time" in da.dims:
        index = list(range(da.sizes["time"])) if steps is None else list(steps)
        if not index:
            raise DataFileError("no time steps chosen for the GeoTIFF")
        da = da.isel(time=index)
        times = list(da["time"].values)
    else:
        da = da.expand_dims("band")
    da = da.drop_vars([c for c in da.coords if c not in da.dims])
    # GeoTIFF rows run north to south; the canonical grid's latitude ascends
    da = da.astype(np.float32).isel(latitude=slice(None, None, -1))
    da = (da.rio.set_spatial_dims(x_dim="longitude", y_dim="latitude")
          .rio.write_crs(EPSG).rio.write_nodata(np.nan, encoded=False))
    attrs = ds[variable].attrs
    units = str(attrs.get("units", ""))
    tags = {
        "VARIABLE": variable,
        "STANDARD_NAME": str(attrs.get("standard_name", "")),
        "LONG_NAME": str(attrs.get("long_name", variable)),
        "UNITS": units,
        "SOURCE": str(ds.attrs.get("model_name") or ds.attrs.get("source")
                      or ds.attrs.get("title") or ""),
        "ATTRIBUTION": str(ds.attrs.get("attribution", "")),
        "SOFTWARE": "Microclimate Desk",
    }
    tags = {k: v for k, v in tags.items() if v}
    if ds.attrs.get("generated_values") == "yes":
        tags["GENERATED_VALUES"] = "yes: synthetic sample data, not a forecast"
    if times:
        tags["VALID_TIME"] = iso_utc(times[0])
        tags["VALID_TIMES"] = ",".join(iso_utc(t) for t in times)
    da.attrs = {}
    try:
        with atomic_path(path) as tmp:
            da.rio.to_raster(tmp, driver="GTiff", compress="DEFLATE", tags=tags)
            with rasterio.open(tmp, "r+") as dst:
                dst.units = tuple(units for _ in range(dst.count))
                for band in range(1, dst.count + 1):
                    if times:
                        when = iso_utc(times[band - 1])
                        dst.set_band_description(band, f"{variable} valid {when}")
                        dst.update_tags(band, VALID_TIME=when)
                    else:
                        dst.set_band_description(band, variable)
    except (OSError, RuntimeError, ValueError, rasterio.errors.RasterioError) as exc:
        raise DataFileError(f"cannot write GeoTIFF {path}: {exc}") from exc
    return path
