"""Microclimate Desk: micro-climate forecasting on the forecaster's desktop."""

import contextlib
from importlib.metadata import PackageNotFoundError, version

# The pyproj and rasterio wheels each bundle their own PROJ library. When rasterio's
# copy is loaded first (xarray loads rioxarray's engine, and with it rasterio, as soon as
# it opens any file), pyproj finds no PROJ database ("no database context specified")
# and the process can crash at exit (double free). Loading pyproj's copy first avoids
# both; it costs about 0.1 s at start-up.
with contextlib.suppress(ImportError):
    import pyproj  # noqa: F401

try:
    __version__ = version("microclimate-desk")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"
