"""The physical baselines beside a forecast: the fallback fields and the references.

:func:`baseline_fields` is what fills a variable no model predicts and a step the guard
keeps from the model; :func:`reference_fields` adds, for comparison, the best baseline,
plain bilinear interpolation and each temperature baseline method, so ``verify`` and
the benchmarks score every one from the same file.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from desktop_app.core.progress import CancelToken
from desktop_app.core.variables import VARIABLES
from desktop_app.downscale.baseline import (
    METHODS,
    downscale_temperature,
    interp_matrix,
    lapse_rate_baseline,
    separable_bilinear,
)
from desktop_app.errors import CancelledError

DEFAULT_BATCH_CELLS = 4 * 1024 * 1024  # cells per chunk of steps (as the predictor's)


def baseline_fields(coarse: xr.Dataset, terrain: xr.Dataset, *,
                    cancel: CancelToken | None = None,
                    batch_cells: int = DEFAULT_BATCH_CELLS,
                    method: str = "lapse_fixed") -> dict[str, np.ndarray]:
    """A baseline (temperature by ``method``) in time chunks (its float64 temporaries
    stay small), as float32 ``(time, lat, lon)`` per variable."""
    nt = coarse.sizes["time"]
    step = max(1, batch_cells // max(1, terrain.sizes["latitude"] * terrain.sizes["longitude"]))
    out: dict[str, np.ndarray] = {}
    for t0 in range(0, nt, step):
        if cancel is not None and cancel.is_set():
            raise CancelledError("forecast cancelled")
        part = lapse_rate_baseline(coarse.isel(time=slice(t0, t0 + step)), terrain,
                                   method=method)
        for name in part.data_vars:
            var = str(name)
            if var == "elevation":
                continue
            if var not in out:
                out[var] = np.empty((nt, *part[var].shape[1:]), np.float32)
            out[var][t0:t0 + step] = part[var].values
    return out


def reference_fields(coarse: xr.Dataset, terrain: xr.Dataset, variables: list[str],
                     baseline: dict[str, np.ndarray], method: str, methods: list[str]
                     ) -> dict[str, Any]:
    """For comparison, beside each modelled variable: ``<var>_baseline`` (the best
    baseline, ``method``), plain ``<var>_bilinear`` and, for temperature, each baseline
    method (``temperature_lapse_fixed``, ``temperature_lapse_estimated``,
    ``temperature_toposcale``), so ``verify`` can score every one."""
    dims = ("time", "latitude", "longitude")
    out: dict[str, Any] = {}
    lat, lon = terrain["latitude"].values, terrain["longitude"].values
    wy = interp_matrix(coarse["latitude"].values, lat).astype(np.float32)
    wx = interp_matrix(coarse["longitude"].values, lon).astype(np.float32)
    for var in variables:
        if var not in baseline or var not in coarse:
            continue
        # the same physical quantity, so the same CF standard name (GIS tools read it)
        attrs = {"units": VARIABLES[var].units,
                 "standard_name": VARIABLES[var].standard_name}
        out[f"{var}_baseline"] = (dims, baseline[var], {
            **attrs, "long_name": f"{var}: {method} baseline (for comparison)",
            "baseline_method": method})
        out[f"{var}_bilinear"] = (dims, separable_bilinear(coarse[var].values, wy, wx
                                                           ).astype(np.float32), {
            **attrs, "long_name": f"{var}: plain bilinear interpolation (for comparison)"})
        if var != "temperature":
            continue
        for name in methods:
            if name == "bilinear":
                continue
            values = (baseline[var] if name == method
                      else downscale_temperature(coarse, terrain, name))
            out[f"{var}_{name}"] = (dims, values, {
                **attrs, "long_name": f"{var}: {METHODS[name]} (for comparison)"})
    return out
