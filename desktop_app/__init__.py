"""Microclimate Desk: micro-climate forecasting on the forecaster's desktop."""

import contextlib
import importlib.abc
import importlib.machinery
import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from types import ModuleType

# packages whose wheels bundle a PROJ library of their own (rasterio's GDAL; ecCodes'
# eckit, which cfgrib loads), and the packages that load them
_OTHER_PROJ = frozenset({"rasterio", "rioxarray", "cfgrib", "eccodes", "gribapi",
                         "eccodeslib", "eckitlib", "osgeo", "fiona", "pyogrio"})


class _ProjFirst(importlib.abc.MetaPathFinder):
    """Load pyproj just before the first import of another PROJ copy, wherever from.

    The pyproj, rasterio and ecCodes wheels each bundle their own PROJ library. When
    another copy is loaded first (xarray loads every engine's plugin, rioxarray's with
    rasterio and cfgrib's with ecCodes, when it opens a file without a named engine; the
    DEM and GeoTIFF code import rasterio too), pyproj finds no PROJ database ("no
    database context specified") and the process can crash at exit (double free).
    Loading pyproj's copy first avoids both. Importing pyproj at start-up did that too
    but cost every launch its import time; this finder only acts when one of those
    packages is wanted, and takes nothing over (it always returns None).
    """

    def find_spec(self, fullname: str, path: Sequence[str] | None = None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if fullname in _OTHER_PROJ and "pyproj" not in sys.modules:
            # (not removed from sys.meta_path here: the import system is iterating it;
            # without pyproj installed there is nothing to put first)
            with contextlib.suppress(ImportError):
                import pyproj  # noqa: F401
        return None


if not any(type(f).__name__ == "_ProjFirst" for f in sys.meta_path):
    sys.meta_path.insert(0, _ProjFirst())

try:
    __version__ = version("microclimate-desk")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"
