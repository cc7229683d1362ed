"""Checks every NetCDF writer's test shares: the IOOS compliance checker (CF-1.8, offline
with its bundled standard-name table) and GDAL, through rasterio, reading a gridded
variable with its coordinate system and geotransform."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import xarray as xr


def cf_errors(path: Path, tmp_dir: Path) -> list[str]:
    """The compliance checker's error messages (its high-priority findings) for ``path``."""
    from compliance_checker.runner import CheckSuite, ComplianceChecker

    CheckSuite.load_all_available_checkers()
    report = tmp_dir / f"{Path(path).stem}.cf-report.json"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the checker's own deprecation noise
        ComplianceChecker.run_checker(str(path), ["cf:1.8"], 0, "normal",
                                      output_filename=str(report), output_format="json")
    result = json.loads(report.read_text())["cf:1.8"]
    return [f"{item['name']}: {msg}" for item in result["high_priorities"]
            for msg in item["msgs"]]


def assert_cf_compliant(path: Path, tmp_dir: Path) -> None:
    errors = cf_errors(path, tmp_dir)
    assert not errors, "compliance-checker cf:1.8 errors:\n" + "\n".join(errors)


def assert_georeferenced(path: Path, variable: str) -> None:
    """GDAL opens ``variable`` as a WGS 84 raster whose corners are the file's grid."""
    import rasterio

    with xr.open_dataset(path) as ds:
        lat, lon = ds["latitude"].values, ds["longitude"].values
    with rasterio.open(f"NETCDF:{path}:{variable}") as src:
        assert src.crs is not None and src.crs.to_epsg() == 4326
        assert (src.width, src.height) == (lon.size, lat.size)
        dx, dy = float(np.diff(lon).mean()), float(np.diff(lat).mean())
        np.testing.assert_allclose(
            [src.bounds.left, src.bounds.right, src.bounds.bottom, src.bounds.top],
            [lon[0] - dx / 2, lon[-1] + dx / 2, lat[0] - dy / 2, lat[-1] + dy / 2],
            atol=1e-6)
