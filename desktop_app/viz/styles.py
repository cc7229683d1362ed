"""Shared look: default colormap per variable and marker colour per QARTOD flag."""

from __future__ import annotations

DEFAULT_COLORMAPS = {
    "temperature": "coolwarm",
    "dewpoint_temperature": "coolwarm",
    "relative_humidity": "GrBu",
    "surface_pressure": "viridis",
    "mean_sea_level_pressure": "viridis",
    "wind_speed": "viridis",
    "precipitation": "GrBu",
}

QC_COLORS = {  # QARTOD flag -> RGBA marker face colour
    1: (0.10, 0.70, 0.20, 1.0),
    2: (0.60, 0.60, 0.60, 1.0),
    3: (1.00, 0.75, 0.00, 1.0),
    4: (0.90, 0.10, 0.10, 1.0),
    9: (0.20, 0.20, 0.20, 1.0),
}


def colormap_for(variable: str) -> str:
    return DEFAULT_COLORMAPS.get(variable, "viridis")


def known_colormaps() -> list[str]:
    """The colormap names vispy can draw (checked before painting: an unknown name
    raised inside a QPainter and crashed the process)."""
    from vispy.color import get_colormaps

    return sorted(get_colormaps())
