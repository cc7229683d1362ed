"""Verification of a long forecast archive at stations, in time chunks on a cluster.

Each task samples the forecast (model, baseline and bilinear fields where present) at
the stations' nearest cells for one time chunk and returns that small (station, time)
table; the scores are then computed once, over all pairs, with the same functions and
exclusions as :func:`desktop_app.verify.stations.verify_at_stations` -- so the numbers
are the same as a single-process verification of the whole archive.
No store and no resume: the result is a small report written atomically.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from desktop_app.batch import inputs as inputs_mod
from desktop_app.batch.cluster import require
from desktop_app.batch.engine import ProgressFn
from desktop_app.core.variables import get_variable
from desktop_app.errors import CancelledError, SchemaError
from desktop_app.fsutil import load_netcdf
from desktop_app.verify.metrics import compare
from desktop_app.verify.report import VerificationReport
from desktop_app.verify.stations import CANDIDATES, EXCLUDED_FLAGS, nearest_cells

_OPENED: dict[tuple[str, ...], xr.Dataset] = {}


def _forecast(paths: tuple[str, ...]) -> xr.Dataset:
    if paths not in _OPENED:
        _OPENED.clear()
        _OPENED[paths] = inputs_mod.open_inputs([Path(p) for p in paths], "forecast")
    return _OPENED[paths]


def sample_chunk(paths: tuple[str, ...], names: dict[str, str], times: np.ndarray,
                 i: np.ndarray, j: np.ndarray) -> dict[str, np.ndarray]:
    """Worker: each candidate field at the station cells for ``times``: (station, time)."""
    with inputs_mod.in_task():
        sel = _forecast(paths).sel(time=times)
        return {label: np.asarray(sel[name].values, float)[:, i, j].T
                for label, name in names.items()}


def run_batch_verify(client: Any, forecast_paths: list[Path], obs_path: Path,
                     variable: str = "temperature", *, time_chunk: int = 24 * 7,
                     progress: ProgressFn | None = None,
                     cancelled: Callable[[], bool] | None = None) -> VerificationReport:
    distributed = require("distributed")
    var = get_variable(variable)
    forecast = inputs_mod.open_inputs(forecast_paths, "forecast")
    with inputs_mod.in_task():
        forecast = forecast.assign_coords(
            latitude=forecast["latitude"].values, longitude=forecast["longitude"].values)
    obs = load_netcdf(obs_path, "observations")
    if variable not in obs:
        raise SchemaError(f"observations {obs_path} have no {variable!r}")
    present = {k: v.format(var=variable) for k, v in CANDIDATES.items()
               if v.format(var=variable) in forecast}
    if "model" not in present:
        raise SchemaError(f"forecast {forecast_paths[0]} has no {variable!r}")
    for name in present.values():
        if forecast[name].attrs.get("units") != var.units:
            raise SchemaError(f"forecast {name!r} is in {forecast[name].attrs.get('units')!r},"
                              f" expected {var.units!r}")
    if obs[variable].attrs.get("units") != var.units:
        raise SchemaError(f"observations {variable!r} are in "
                          f"{obs[variable].attrs.get('units')!r}, expected {var.units!r}")
    times = np.intersect1d(forecast["time"].values, obs["time"].values)
    if times.size == 0:
        raise SchemaError("forecast and observations share no time steps")
    i, j, inside = nearest_cells(forecast["latitude"].values, forecast["longitude"].values,
                                 obs["latitude"].values, obs["longitude"].values)
    key_paths = tuple(str(Path(p).resolve()) for p in forecast_paths)
    parts = [times[k:k + time_chunk] for k in range(0, times.size, time_chunk)]
    futures = [client.submit(sample_chunk, key_paths, present, p, i, j, pure=False)
               for p in parts]
    try:
        for n, _ in enumerate(distributed.as_completed(futures), start=1):
            if cancelled is not None and cancelled():
                raise CancelledError("verification cancelled")
            if progress is not None:
                progress(n, len(futures), f"verify: {n}/{len(futures)}")
        results = client.gather(futures)
    except BaseException:
        client.cancel(futures)
        raise
    candidates = {label: np.concatenate([r[label] for r in results], axis=1)
                  for label in present}
    o_sel = obs.sel(time=times)
    observed = np.asarray(o_sel[variable].transpose("station", "time").values, float)
    excluded = 0
    if f"{variable}_qc" in o_sel:
        bad = np.isin(o_sel[f"{variable}_qc"].transpose("station", "time").values,
                      EXCLUDED_FLAGS)
        excluded = int((bad & np.isfinite(observed)).sum())
        observed = np.where(bad, np.nan, observed)
    observed[~inside] = np.nan
    notes = [f"{len(parts)} time chunks verified on a Dask cluster"]
    if obs.attrs.get("generated_values") == "yes":
        notes.append("the observations are GENERATED: these numbers test the code, "
                     "they are not the model's skill")
    if forecast.attrs.get("model_trained") == "no":
        notes.append(f"the model {forecast.attrs.get('model_name', '')} is not trained")
    if int((~inside).sum()):
        notes.append(f"{int((~inside).sum())} stations lie outside the grid and are left out")
    return VerificationReport(
        variable=variable, units=var.units, rows=compare(observed, candidates),
        n_stations=int(inside.sum()), excluded_by_qc=excluded, notes=notes,
        meta={"model": f"{forecast.attrs.get('model_name', '?')}@"
                       f"{forecast.attrs.get('model_version', '?')}",
              "times": int(times.size)})
