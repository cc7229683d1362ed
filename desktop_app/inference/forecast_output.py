"""What a forecast's output is made of, shared by the desktop predictor and the cluster
run (``batch``), so both write the same grid, the same provenance and the same tiles.

- :func:`with_halo`: the rows and columns a tile is computed on (the tile plus the
  model's halo, cut at the grid's edge) and where the tile proper sits inside them;
- :func:`model_source`: the ``source`` attribute of a variable a model predicted;
- :func:`forecast_dataset`: the CF grid with the model cards' provenance.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import xarray as xr

from desktop_app.inference.card import ModelCard


def with_halo(rows: tuple[int, int], cols: tuple[int, int], halo: int,
              shape: tuple[int, int]) -> tuple[slice, slice, slice, slice]:
    """For the tile ``rows`` x ``cols`` (start, stop) of a ``shape`` grid: the rows and
    columns to compute (the tile grown by ``halo`` cells, within the grid) and the rows and
    columns of that computation's result that belong to the tile."""
    (r0, r1), (c0, c1), (ny, nx) = rows, cols, shape
    a0, b0 = max(0, r0 - halo), max(0, c0 - halo)
    a1, b1 = min(ny, r1 + halo), min(nx, c1 + halo)
    return slice(a0, a1), slice(b0, b1), slice(r0 - a0, r1 - a0), slice(c0 - b0, c1 - b0)


def model_source(card: ModelCard) -> str:
    return f"model {card.spec} ({'trained' if card.trained else 'NOT trained'})"


def forecast_dataset(data_vars: dict[str, Any], times: Any, terrain: xr.Dataset,
                     cards: Iterable[ModelCard], **attrs: Any) -> xr.Dataset:
    """``data_vars`` on the terrain's grid at ``times``, with its elevation and the
    cards' provenance first in the attributes, then ``attrs``."""
    cards = list(cards)
    ds = xr.Dataset(data_vars, coords={"time": times,
                                       "latitude": terrain["latitude"].values,
                                       "longitude": terrain["longitude"].values})
    ds["elevation"] = terrain["elevation"]
    ds.attrs = {
        "Conventions": "CF-1.8",
        "title": f"micro-climate forecast ({', '.join(c.spec for c in cards)})",
        "model_name": ", ".join(c.name for c in cards),
        "model_version": ", ".join(c.version for c in cards),
        "model_sha256": ", ".join(c.sha256 for c in cards),
        "model_trained": "yes" if all(c.trained for c in cards) else "no",
        **attrs,
    }
    return ds
