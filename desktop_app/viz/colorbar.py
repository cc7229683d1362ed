"""A vertical colorbar drawn in its own vispy view: gradient, round ticks, label.

vispy's ColorBarWidget places its label across the bar in current releases, and offers
only two ticks; this one draws the colour policy's ticks beside the bar and the label
beside them.
"""

from __future__ import annotations

import numpy as np
from vispy import scene
from vispy.color import Color
from vispy.visuals.transforms import STTransform

from desktop_app.viz.map_model.primitives import ColourScale
from desktop_app.viz.styles import make_colormap

# as RGBA, not a string: a Line reads a string as a colormap name first, and vispy looks
# an unknown name up in matplotlib (importing it, ~0.3 s before the first frame)
_TEXT = Color("#e8eaed").rgba
# the bar's outline as segments (start, end pairs)
_FRAME = np.array([[0, 0], [1, 0], [1, 0], [1, 1], [1, 1], [0, 1], [0, 1], [0, 0]],
                  np.float32)


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
        # the frame and the tick marks are one visual (every visual costs its own
        # draw at each frame of the map, and the time slider redraws them all)
        self.tick_marks = scene.visuals.Line(pos=_FRAME, color=_TEXT,
                                             connect="segments", parent=self.view.scene)
        self.tick_labels = scene.visuals.Text(["0"], pos=np.zeros((1, 2)), color=_TEXT,
                                              font_size=8, anchor_x="left",
                                              parent=self.view.scene)
        self.label = scene.visuals.Text("", color=_TEXT, font_size=9, rotation=-90,
                                        parent=self.view.scene, pos=(3.5, 0.5))
        self.clim: tuple[float, float] = (0.0, 1.0)
        self.cmap = "viridis"
        self.ticks: tuple[tuple[float, str], ...] = ()

    def set(self, scale: ColourScale) -> None:
        self.cmap, self.clim, self.ticks = scale.cmap, scale.clim, scale.ticks
        self.image.cmap = make_colormap(scale.cmap, scale.steps)
        lo, hi = scale.clim
        ys = [(v - lo) / (hi - lo if hi > lo else 1.0) for v, _ in scale.ticks] or [0.0]
        marks = np.array([p for y in ys for p in ((1.0, y), (1.15, y))], np.float32)
        self.tick_marks.set_data(pos=np.concatenate([_FRAME, marks]), connect="segments")
        self.tick_labels.text = [text for _, text in scale.ticks] or [""]
        self.tick_labels.pos = np.array([[1.25, y] for y in ys], np.float32)
        self.label.text = scale.label
