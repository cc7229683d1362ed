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
from desktop_app.batch.engine import ChunkProgress
from desktop_app.errors import CancelledError
from desktop_app.fsutil import load_netcdf
from desktop_app.verify.report import VerificationReport
from desktop_app.verify.stations import match, report

_OPENED: inputs_mod.LastOnly[xr.Dataset] = inputs_mod.LastOnly()  # per worker process


def _forecast(paths: tuple[str, ...]) -> xr.Dataset:
    return _OPENED.get(paths, lambda: inputs_mod.open_inputs([Path(p) for p in paths],
                                                             "forecast"))


def sample_chunk(paths: tuple[str, ...], names: dict[str, str], times: np.ndarray,
                 i: np.ndarray, j: np.ndarray) -> dict[str, np.ndarray]:
    """Worker: each candidate field at the station cells for ``times``: (station, time)."""
    with inputs_mod.in_task():
        sel = _forecast(paths).sel(time=times)
        return {label: np.asarray(sel[name].values, float)[:, i, j].T
                for label, name in names.items()}


def run_batch_verify(client: Any, forecast_paths: list[Path], obs_path: Path,
                     variable: str = "temperature", *, time_chunk: int = 24 * 7,
                     progress: ChunkProgress | None = None,
                     cancelled: Callable[[], bool] | None = None) -> VerificationReport:
    distributed = require("distributed")
    forecast = inputs_mod.open_inputs(forecast_paths, "forecast")
    with inputs_mod.in_task():
        forecast = forecast.assign_coords(
            latitude=forecast["latitude"].values, longitude=forecast["longitude"].values)
    obs = load_netcdf(obs_path, "observations")
    matched = match(forecast, obs, variable, forecast_name=f"forecast {forecast_paths[0]}",
                    obs_name=f"observations {obs_path}")
    present = matched.present
    key_paths = tuple(str(Path(p).resolve()) for p in forecast_paths)
    times = matched.times
    parts = [times[k:k + time_chunk] for k in range(0, times.size, time_chunk)]
    futures = [client.submit(sample_chunk, key_paths, present, p, matched.i, matched.j,
                             pure=False)
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
    return report(forecast, obs, variable, matched, candidates,
                  notes=[f"{len(parts)} time chunks verified on a Dask cluster"])
