"""Display for people, storage for CF: unit symbols, display-unit conversion, round ticks.

Data stay in the internal units of ``core.variables`` (degC, m s-1, ...); only what a
person reads is converted here, at the edge. Differences convert by the scale alone
(a 1 degC difference is a 1.8 degF difference, not 33.8 degF).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from desktop_app.errors import ConfigError

# CF/UDUNITS spelling -> what a person reads
SYMBOLS = {"degC": "°C", "degF": "°F", "K": "K", "m s-1": "m/s", "degree": "°", "%": "%",
           "hPa": "hPa", "mm": "mm", "m": "m", "kt": "kt", "km h-1": "km/h"}
TEMPERATURE_UNITS = ("°C", "°F")
WIND_UNITS = ("m/s", "kt", "km/h")
TIME_ZONES = ("UTC", "local")
# display unit -> (scale, offset) from the internal unit
_FROM_DEGC = {"°C": (1.0, 0.0), "°F": (1.8, 32.0)}
_FROM_MS = {"m/s": (1.0, 0.0), "kt": (3600.0 / 1852.0, 0.0), "km/h": (3.6, 0.0)}


def symbol(units: str) -> str:
    """The readable form of a CF unit string ("degC" -> "°C", "m s-1" -> "m/s")."""
    return SYMBOLS.get(units, units)


@dataclass(frozen=True)
class DisplayUnits:
    """What the user chose to read: temperature and wind units, UTC or local time."""

    temperature: str = "°C"
    wind: str = "m/s"
    time_zone: str = "UTC"

    def __post_init__(self) -> None:
        for key, value, allowed in (("temperature", self.temperature, TEMPERATURE_UNITS),
                                    ("wind", self.wind, WIND_UNITS),
                                    ("time_zone", self.time_zone, TIME_ZONES)):
            if value not in allowed:
                raise ConfigError(f"display {key} must be one of {', '.join(allowed)}, "
                                  f"got {value!r}")


@dataclass(frozen=True)
class Conversion:
    """display = scale * stored + offset."""

    scale: float
    offset: float
    symbol: str

    def __call__(self, values: np.ndarray | float) -> np.ndarray:
        return np.asarray(values, float) * self.scale + self.offset

    def inverse(self, values: np.ndarray | float) -> np.ndarray:
        return (np.asarray(values, float) - self.offset) / self.scale


def conversion(units: str, prefs: DisplayUnits, difference: bool = False) -> Conversion:
    """How to show values stored in CF ``units`` in the user's display units."""
    table = _FROM_DEGC if units == "degC" else _FROM_MS if units == "m s-1" else None
    if table is None:
        return Conversion(1.0, 0.0, symbol(units))
    shown = prefs.temperature if units == "degC" else prefs.wind
    scale, offset = table[shown]
    return Conversion(scale, 0.0 if difference else offset, shown)


def nice_step(span: float, target: int = 6) -> float:
    """A 1-2-5 step giving about ``target`` intervals over ``span``."""
    if not span > 0 or not math.isfinite(span):
        return 1.0
    raw = span / target
    magnitude = 10.0 ** math.floor(math.log10(raw))
    for m in (1.0, 2.0, 5.0, 10.0):
        if m * magnitude >= raw * 0.999:
            return m * magnitude
    return 10.0 * magnitude


def nice_limits(lo: float, hi: float, symmetric: bool = False,
                target: int = 6) -> tuple[float, float, float]:
    """Limits widened to whole 1-2-5 steps (symmetric about zero if asked) and the step."""
    if symmetric:
        lim = max(abs(lo), abs(hi))
        lim = lim if lim > 0 else 1.0
        step = nice_step(2 * lim, target)
        lim = math.ceil(lim / step - 1e-9) * step
        return -lim, lim, step
    if not hi > lo:
        hi = lo + 1.0
    step = nice_step(hi - lo, target)
    return (math.floor(lo / step + 1e-9) * step, math.ceil(hi / step - 1e-9) * step, step)


def tick_text(value: float, step: float) -> str:
    decimals = max(0, -math.floor(math.log10(step) + 1e-9)) if step > 0 else 0
    text = f"{value:.{decimals}f}"
    return "0" if text.strip("-0.") == "" else text.replace("-", "−")


def format_time(t: np.datetime64, time_zone: str = "UTC") -> str:
    """A valid time as a person reads it, in UTC or the machine's zone (named)."""
    if time_zone == "local":  # the edge of the program: the machine's zone, named
        import datetime as dt

        seconds = int(np.asarray(t, "datetime64[s]").astype(np.int64))
        stamp = dt.datetime.fromtimestamp(seconds, dt.UTC).astimezone()
        return stamp.strftime("%Y-%m-%d %H:%M %Z")
    return str(np.datetime_as_string(t, unit="m")).replace("T", " ") + " UTC"


def format_lat_lon(lat: float, lon: float) -> str:
    return (f"{abs(lat):.4f}°{'N' if lat >= 0 else 'S'}, "
            f"{abs(lon):.4f}°{'W' if lon < 0 else 'E'}")
