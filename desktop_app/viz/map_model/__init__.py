"""The map as data, free of Qt and vispy: an ordered list of layers with one colour
policy. The vispy canvas (``viz.map_canvas``) and the headless PNG export
(``viz.export``) both draw a :class:`MapModel`, and everything that changes the map
changes it here, so the two cannot disagree."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

from desktop_app.viz.map_model.layers import (
    LAYER_TYPES,
    BasemapLayer,
    FieldLayer,
    GraticuleLayer,
    HillshadeLayer,
    Layer,
    PlacesLayer,
    ScaleBarLayer,
    SelectionLayer,
    StationsLayer,
    WatchLayer,
)
from desktop_app.viz.map_model.primitives import View

__all__ = ["LAYER_TYPES", "Layer", "MapMeta", "MapModel", "View"]

L = TypeVar("L", bound=Layer)


@dataclass
class MapMeta:
    """What a shared picture says about itself (title line, footer, PNG text keys)."""

    title: str = ""
    valid_time: str = ""
    model: str = ""
    attribution: str = ""


class MapModel:
    def __init__(self) -> None:
        self.layers: dict[str, Layer] = {}
        self._listeners: list[Callable[[str], None]] = []
        self.meta = MapMeta()
        for cls in LAYER_TYPES:
            layer = cls()
            layer._notify = self._emit
            self.layers[cls.name] = layer

    def __iter__(self) -> Iterator[Layer]:
        return iter(self.layers.values())

    def layer(self, cls: type[L]) -> L:
        found = self.layers[cls.name]
        assert isinstance(found, cls)
        return found

    def subscribe(self, listener: Callable[[str], None]) -> None:
        """``listener(layer_name)`` after each change of that layer."""
        self._listeners.append(listener)

    def _emit(self, name: str) -> None:
        for listener in list(self._listeners):
            listener(name)

    # typed shortcuts for the layers every caller needs
    @property
    def field(self) -> FieldLayer:
        return self.layer(FieldLayer)

    @property
    def hillshade(self) -> HillshadeLayer:
        return self.layer(HillshadeLayer)

    @property
    def stations(self) -> StationsLayer:
        return self.layer(StationsLayer)

    @property
    def watch(self) -> WatchLayer:
        return self.layer(WatchLayer)

    @property
    def selection(self) -> SelectionLayer:
        return self.layer(SelectionLayer)

    @property
    def basemap(self) -> BasemapLayer:
        return self.layer(BasemapLayer)

    @property
    def graticule(self) -> GraticuleLayer:
        return self.layer(GraticuleLayer)

    @property
    def places(self) -> PlacesLayer:
        return self.layer(PlacesLayer)

    @property
    def scalebar(self) -> ScaleBarLayer:
        return self.layer(ScaleBarLayer)

    def extent(self) -> tuple[float, float, float, float]:
        """West, south, east, north of the field's cells (edges, not centres)."""
        f = self.field
        dlat = float(f.lat[1] - f.lat[0]) if f.lat.size > 1 else 1.0
        dlon = float(f.lon[1] - f.lon[0]) if f.lon.size > 1 else 1.0
        return (float(f.lon[0]) - dlon / 2, float(f.lat[0]) - dlat / 2,
                float(f.lon[-1]) + dlon / 2, float(f.lat[-1]) + dlat / 2)
