"""Microclimate Desk: micro-climate forecasting on the forecaster's desktop."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("microclimate-desk")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"
