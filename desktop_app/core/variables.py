"""The variable registry: one canonical name, CF standard_name, internal unit and the
physically valid range per variable.

Internal units are fixed per variable and every provider converts at its edge:
temperatures in degC (forecasters read degC, and QC thresholds are written in it),
pressure in hPa, relative humidity in %, wind in m s-1, precipitation in mm per step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from desktop_app.errors import UnknownVariableError

Kind = Literal["instant", "accumulation"]


@dataclass(frozen=True)
class Variable:
    name: str
    standard_name: str
    units: str
    long_name: str
    valid_min: float
    valid_max: float
    kind: Kind = "instant"

    def cf_attrs(self) -> dict[str, str | float]:
        """CF attributes for a DataArray holding this variable."""
        return {
            "standard_name": self.standard_name,
            "long_name": self.long_name,
            "units": self.units,
            "valid_min": self.valid_min,
            "valid_max": self.valid_max,
        }


_ALL = (
    Variable("temperature", "air_temperature", "degC", "2 m air temperature", -90.0, 60.0),
    Variable(
        "dewpoint_temperature", "dew_point_temperature", "degC", "2 m dew point temperature",
        -100.0, 40.0,
    ),
    Variable("relative_humidity", "relative_humidity", "%", "2 m relative humidity", 0.0, 100.0),
    # Station-level pressure: high stations legitimately read ~700 hPa, so the valid range
    # is wide; the tighter 800..1050 hPa check belongs to sea-level pressure.
    Variable("surface_pressure", "surface_air_pressure", "hPa", "surface pressure", 300.0, 1100.0),
    Variable(
        "mean_sea_level_pressure", "air_pressure_at_mean_sea_level", "hPa",
        "mean sea level pressure", 800.0, 1100.0,
    ),
    Variable("wind_speed", "wind_speed", "m s-1", "10 m wind speed", 0.0, 75.0),
    Variable(
        "wind_direction", "wind_from_direction", "degree", "10 m wind direction", 0.0, 360.0
    ),
    Variable(
        "precipitation", "lwe_thickness_of_precipitation_amount", "mm",
        "precipitation amount over the step", 0.0, 500.0, "accumulation",
    ),
    Variable("elevation", "surface_altitude", "m", "surface elevation", -500.0, 9000.0),
)

VARIABLES: dict[str, Variable] = {v.name: v for v in _ALL}


def get_variable(name: str) -> Variable:
    """Look a variable up by canonical name; the error lists the known names."""
    try:
        return VARIABLES[name]
    except KeyError:
        known = ", ".join(sorted(VARIABLES))
        raise UnknownVariableError(f"unknown variable {name!r}; known: {known}") from None


def by_standard_name(standard_name: str) -> Variable:
    for var in _ALL:
        if var.standard_name == standard_name:
            return var
    raise UnknownVariableError(f"no variable with CF standard_name {standard_name!r}")
