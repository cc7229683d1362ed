"""A vertical colorbar drawn in its own vispy view: gradient, ticks, label with units.

vispy's ColorBarWidget places its label across the bar in current releases, and offers
only two ticks; this one draws five ticks beside the bar and the label beside them.
"""

from __future__ import annotations

import numpy as np
from vispy import scene
from vispy.visuals.transforms import STTransform

N_TICKS = 5
_TEXT = "#e8eaed"


def tick_values(lo: float, hi: float, n: int = N_TICKS) -> np.ndarray:
    return np.linspace(lo, hi, n)


def tick_text(value: float, span: float) -> str:
    decimals = 0 if span >= 20 else 1 if span >= 2 else 2
    return f"{value:.{decimals}f}"


class ColorBar:
    """Owns a vispy ViewBox; add ``view`` to a grid next to the map."""

    def __init__(self) -> None:
        self.view = scene.widgets.ViewBox(border_color=None)
        self.view.width_max = 120
        self.view.width_min = 120
        self.view.camera = scene.PanZoomCamera(rect=(0, -0.05, 4.0, 1.1), interactive=False)
        gradient = np.linspace(0.0, 1.0, 256, dtype=np.float32)[:, None]
        self.image = scene.visuals.Image(gradient, cmap="viridis", clim=(0.0, 1.0),
                                         parent=self.view.scene)
        self.image.transform = STTransform(scale=(1.0, 1.0 / 256.0))
        self.frame = scene.visuals.Line(
            pos=np.array([[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]], np.float32),
            color=_TEXT, parent=self.view.scene,
        )
        self.ticks = [
            scene.visuals.Text("", color=_TEXT, font_size=8, anchor_x="left",
                               parent=self.view.scene, pos=(1.2, y))
            for y in np.linspace(0.0, 1.0, N_TICKS)
        ]
        self.label = scene.visuals.Text("", color=_TEXT, font_size=9, rotation=-90,
                                        parent=self.view.scene, pos=(3.5, 0.5))
        self.clim: tuple[float, float] = (0.0, 1.0)
        self.cmap = "viridis"

    def set(self, cmap: str, clim: tuple[float, float], label: str) -> None:
        self.cmap, self.clim = cmap, clim
        self.image.cmap = cmap
        span = clim[1] - clim[0]
        for text, value in zip(self.ticks, tick_values(*clim), strict=True):
            text.text = tick_text(float(value), span)
        self.label.text = label
