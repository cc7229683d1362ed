"""Unit conversion at the provider edge: whatever a provider or file says, into the
internal unit of the variable registry (degC, hPa, %, m s-1, degree, mm, m)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from desktop_app.core.variables import get_variable

Converter = Callable[[np.ndarray], np.ndarray]


def _identity(x: np.ndarray) -> np.ndarray:
    return x


def _scale(factor: float) -> Converter:
    return lambda x: x * factor


def _offset(delta: float) -> Converter:
    return lambda x: x + delta


# Spellings providers use for one unit, mapped to a canonical token.
_ALIASES = {
    "°c": "degC", "degc": "degC", "c": "degC", "celsius": "degC", "deg_c": "degC",
    "°f": "degF", "degf": "degF", "f": "degF",
    "k": "K", "kelvin": "K",
    "hpa": "hPa", "mbar": "hPa", "mb": "hPa", "millibar": "hPa",
    "pa": "Pa", "kpa": "kPa",
    "%": "%", "percent": "%",
    "m/s": "m s-1", "m s-1": "m s-1", "m s**-1": "m s-1", "ms": "m s-1", "m.s-1": "m s-1",
    "km/h": "km h-1", "kmh": "km h-1", "mph": "mph", "kn": "kn", "knots": "kn", "kt": "kn",
    "°": "degree", "deg": "degree", "degree": "degree", "degrees": "degree",
    "degrees_true": "degree",
    "mm": "mm", "m": "m", "inch": "inch", "in": "inch", "cm": "cm",
}

# (canonical source unit, internal unit) -> converter
_CONVERSIONS: dict[tuple[str, str], Converter] = {
    ("K", "degC"): _offset(-273.15),
    ("degF", "degC"): lambda x: (x - 32.0) * (5.0 / 9.0),
    ("Pa", "hPa"): _scale(0.01),
    ("kPa", "hPa"): _scale(10.0),
    ("km h-1", "m s-1"): _scale(1.0 / 3.6),
    ("mph", "m s-1"): _scale(0.44704),
    ("kn", "m s-1"): _scale(1852.0 / 3600.0),
    ("m", "mm"): _scale(1000.0),
    ("cm", "mm"): _scale(10.0),
    ("inch", "mm"): _scale(25.4),
    ("m", "m"): _identity,
}


def canonical_unit(unit: str) -> str:
    key = unit.strip()
    return _ALIASES.get(key.lower(), key)


def converter(unit: str, variable: str) -> Converter:
    """The function taking values in ``unit`` to the internal unit of ``variable``.

    Raises ``ValueError`` naming both units when there is no known conversion; providers
    turn that into their own error type.
    """
    target = get_variable(variable).units
    source = canonical_unit(unit)
    if source == target:
        return _identity
    try:
        return _CONVERSIONS[(source, target)]
    except KeyError:
        raise ValueError(
            f"cannot convert {variable} from {unit!r} to {target!r}"
        ) from None


def to_internal(values: np.ndarray, unit: str, variable: str) -> np.ndarray:
    out: np.ndarray = converter(unit, variable)(np.asarray(values, dtype="float64"))
    return out
