"""A perfect-model test: coarsen a real fine field to make the input, score against it.

Coarsening the target (block means) gives an input with no forecast error that carries
the target's mean exactly, so skill measured this way is flattering: reports built on
it say "perfect-model" by name (see GUIDE.md, Honest skill).
"""

from __future__ import annotations

import numpy as np
import xarray as xr


def block_mean(values: np.ndarray, factor: int) -> np.ndarray:
    *lead, ny, nx = values.shape
    v = np.asarray(values)[..., : ny // factor * factor, : nx // factor * factor]
    v = v.reshape(*lead, ny // factor, factor, nx // factor, factor)
    return np.asarray(v.mean(axis=(-3, -1)), np.float32)


def coarsen(fine: xr.Dataset, factor: int) -> xr.Dataset:
    """Block mean by ``factor`` of every field (and the coordinates)."""
    ny = fine.sizes["latitude"] // factor * factor
    nx = fine.sizes["longitude"] // factor * factor
    lat = fine["latitude"].values[:ny].reshape(-1, factor).mean(1)
    lon = fine["longitude"].values[:nx].reshape(-1, factor).mean(1)
    data = {str(k): (v.dims, block_mean(v.values, factor), v.attrs)
            for k, v in fine.data_vars.items()}
    coords = {"time": fine["time"].values, "latitude": lat, "longitude": lon}
    if "pressure_level" in fine.coords:
        coords["pressure_level"] = fine["pressure_level"].values
    return xr.Dataset(data, coords=coords, attrs={
        **fine.attrs, "title": f"{fine.attrs.get('title', '')}, {factor}x{factor} block mean "
                               "(PERFECT-MODEL input)"})
