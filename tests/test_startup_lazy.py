"""Start-up deferrals that are not about Qt: pyproj loads only when another PROJ copy
is about to (and still first), and xarray does not import Dask to learn that nothing is
a Dask array yet. Each runs in a fresh process (import order is the point)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from desktop_app import paths

ROOT = Path(__file__).resolve().parents[1]


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=ROOT)


def test_pyproj_is_not_imported_at_start_but_still_loads_its_proj_first() -> None:
    """xarray opening a file with no named engine loads every engine's plugin (rasterio's
    and ecCodes' PROJ copies); without pyproj's copy loaded first, pyproj then finds no
    PROJ database and the process crashed at exit (double free)."""
    coarse = paths.sample_region_path().parent / "coarse.nc"
    proc = _run(f"""
import sys
import desktop_app
assert "pyproj" not in sys.modules, "pyproj imported at start"
import xarray as xr
xr.open_dataset({str(coarse)!r}).close()  # no engine: every backend's plugin loads
assert "rasterio" in sys.modules or "cfgrib" in sys.modules
import pyproj
print(pyproj.CRS("EPSG:4326").name)
""")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "WGS 84"


@pytest.mark.skipif(importlib.util.find_spec("dask") is None,
                    reason="Dask is the optional cluster extra")
def test_xarray_does_not_import_dask_until_dask_is_used() -> None:
    proc = _run("""
import sys
from desktop_app.lazy_dask import defer_dask
from desktop_app.gui.region_view import RegionView
from desktop_app.sources.region import open_data
assert defer_dask()
view = RegionView(open_data(None))
print(float(view.field["temperature"].mean()) > -50.0, "dask" in sys.modules)
import dask.array as da
import xarray as xr
from xarray.namedarray.utils import is_duck_dask_array
a = xr.DataArray(da.ones((4,), chunks=2), dims="x")
print(a.chunks, float((a * 2).sum().compute()), is_duck_dask_array(a.data))
chunked = view.field["temperature"].chunk({"time": 24})
print(chunked.chunks[0], is_duck_dask_array(chunked.data))
""")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.splitlines() == ["True False", "((2, 2),) 8.0 True",
                                        "(24, 24, 24) True"]
