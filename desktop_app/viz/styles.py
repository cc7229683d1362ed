"""Shared look: colormaps (smooth or stepped) and QC marker colours, for both renderers."""

from __future__ import annotations

import numpy as np
from vispy.color import Colormap, get_colormap
from vispy.color.colormap import BaseColormap

from desktop_app.viz.map_model.colour import DEFAULT_COLORMAPS, default_cmap
from desktop_app.viz.map_model.layers import QC_COLORS

__all__ = ["DEFAULT_COLORMAPS", "QC_COLORS", "colormap_for", "make_colormap"]


def colormap_for(variable: str) -> str:
    return default_cmap(variable)


def make_colormap(name: str, steps: int | None = None) -> BaseColormap:
    """The named vispy colormap, or ``steps`` flat bands of it (a stepped palette: each
    band one tick interval, so a colour reads as a range)."""
    cmap = get_colormap(name)
    if not steps:
        return cmap
    centres = (np.arange(steps) + 0.5) / steps
    colors = np.asarray(cmap.map(centres[:, None]), np.float32)
    return Colormap(colors, controls=np.linspace(0.0, 1.0, steps + 1), interpolation="zero")


def known_colormaps() -> list[str]:
    """The colormap names vispy can draw (checked before painting: an unknown name
    raised inside a QPainter and crashed the process)."""
    from vispy.color import get_colormaps

    return sorted(get_colormaps())
