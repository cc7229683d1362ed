"""Checks at the edge: values that enter the program from a file, a request body or a
command line are finite, in range and in the units the program means, or they are one
clear :class:`~desktop_app.errors.MicroclimateError` naming the value and where it came
from. Inside the program, data are trusted; so every reader calls these once.
"""

from __future__ import annotations

import argparse
import hmac
import json
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from desktop_app.errors import ConfigError, DataFileError, MicroclimateError

INT64_MAX = 2**63 - 1
# datetime64[ns] holds 1677-09-21 .. 2262-04-11; data outside these years is a typo or
# a unit mistake (epoch seconds read as ns give 1970), never weather.
YEAR_MIN, YEAR_MAX = 1800, 2200
_T_MIN = np.datetime64(f"{YEAR_MIN}-01-01", "ns")
_T_MAX = np.datetime64(f"{YEAR_MAX}-12-31", "ns")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e400 parses as inf
        raise ValueError(f"{text} is out of range for a number")
    return value


def loads_finite(text: str | bytes, what: str,
                 error: type[MicroclimateError] = ConfigError) -> Any:
    """``json.loads`` that refuses NaN, Infinity and numbers that overflow to inf (Python's
    json accepts all three, and they would be stored as data)."""
    try:
        return json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
    except (ValueError, UnicodeDecodeError) as exc:
        raise error(f"{what} is not valid JSON: {exc}") from exc


def finite_number(value: Any, what: str, *, low: float | None = None,
                  high: float | None = None,
                  error: type[MicroclimateError] = ConfigError) -> float:
    """``value`` as a float if it is a finite number within ``[low, high]``."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.number):
        raise error(f"{what} must be a number, got {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise error(f"{what} must be a finite number, got {value!r}")
    if (low is not None and number < low) or (high is not None and number > high):
        raise error(f"{what} must be between {low} and {high}, got {value!r}")
    return number


def latitude(value: Any, what: str = "latitude",
             error: type[MicroclimateError] = ConfigError) -> float:
    return finite_number(value, what, low=-90.0, high=90.0, error=error)


def longitude(value: Any, what: str = "longitude",
              error: type[MicroclimateError] = ConfigError) -> float:
    return finite_number(value, what, low=-180.0, high=360.0, error=error)


def check_coordinates(lat: Any, lon: Any, what: str,
                      error: type[MicroclimateError] = DataFileError) -> None:
    """Every latitude within ±90 and every longitude within -180..360, all finite."""
    for name, values, low, high in (("latitude", lat, -90.0, 90.0),
                                    ("longitude", lon, -180.0, 360.0)):
        arr = np.asarray(values, dtype="float64")
        bad = ~np.isfinite(arr) | (arr < low) | (arr > high)
        if bad.any():
            raise error(f"{what}: {name} {arr[bad].flat[0]!r} is not a finite value "
                        f"between {low:g} and {high:g}")


def check_times(times: Any, what: str,
                error: type[MicroclimateError] = DataFileError) -> None:
    """Every time (datetime64) within years 1800..2200; NaT is allowed (missing)."""
    arr = np.asarray(times)
    if arr.size == 0 or not np.issubdtype(arr.dtype, np.datetime64):
        return
    # compared in the values' own unit: casting 9999-12-31 to ns first would wrap to 1816
    valid = ~np.isnat(arr)
    bad = valid & ((arr < _T_MIN.astype("datetime64[D]")) | (arr > _T_MAX.astype(
        "datetime64[D]")))
    if bad.any():
        first = arr[bad].flat[0]
        hint = (" (epoch seconds read as nanoseconds? give ISO times or say the unit)"
                if np.datetime64("1969-12-31") <= first <= np.datetime64("1970-01-02")
                else "")
        raise error(f"{what}: time {first} is outside {YEAR_MIN}..{YEAR_MAX}{hint}")


def check_finite_values(values: Any, what: str, *, low: float, high: float,
                        error: type[MicroclimateError] = DataFileError) -> None:
    """Values are NaN (missing) or finite within ``[low, high]``; inf and 1e30 are not
    weather."""
    arr = np.asarray(values, dtype="float64")
    bad = np.isinf(arr) | (np.isfinite(arr) & ((arr < low) | (arr > high)))
    if bad.any():
        raise error(f"{what}: value {arr[bad].flat[0]!r} is outside the physically "
                    f"possible range {low:g}..{high:g}")


# -- command-line argument types (argparse prints "argument --x: ..." and exits 2) -------
def arg_float(low: float | None = None, high: float | None = None) -> Any:
    """An argparse ``type`` for a finite float within ``[low, high]``."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
        if (low is not None and value < low) or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"must be between {low:g} and {high:g}, "
                                             f"got {text}")
        return value
    parse.__name__ = "number"
    return parse


def arg_int(low: int, high: int) -> Any:
    """An argparse ``type`` for a whole number within ``[low, high]``."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be between {low} and {high}, got {text}")
        return value
    parse.__name__ = "whole number"
    return parse


PORT = arg_int(1, 65535)


def check_bearer(authorization: str, secret: bytes, http_error: Callable[..., Exception]
                 ) -> None:
    """An ``Authorization: Bearer <token>`` header that holds ``secret`` (compared in
    constant time, so the answer's timing tells nothing about the token), or the web
    framework's ``http_error`` 401 asking for one. Shared by the trainer service and the
    watch API."""
    scheme, _, given = authorization.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode("utf-8"),
                                                            secret):
        raise http_error(401, "missing or wrong bearer token",
                         headers={"WWW-Authenticate": "Bearer"})
