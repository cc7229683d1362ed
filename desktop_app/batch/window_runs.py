"""Cluster runs for the GUI: the data the window holds in memory, run as a batch job.

The window's stations are written to a scratch folder, QC'd by :func:`run_batch_qc` on
the scheduler from the settings (or a LocalCluster when none is set), and read back,
with the same report shape as :func:`desktop_app.qc.runner.run_qc`.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from desktop_app.batch.cluster import ClusterSpec, open_client
from desktop_app.batch.qc_run import run_batch_qc
from desktop_app.core.flags import QCFlag
from desktop_app.core.progress import Progress
from desktop_app.qc.config import QCConfig
from desktop_app.qc.runner import QCReport


@contextmanager
def _client(spec: ClusterSpec, progress: Progress | None
            ) -> Iterator[tuple[Any, Callable[[int, int, str], None]]]:
    """A client on the spec's cluster and the engine's progress callback mapped onto the
    GUI's (fraction, message) one."""
    def step(done: int, total: int, message: str) -> None:
        if progress is not None:
            progress(done / max(1, total), f"on cluster: {message}")

    if progress is not None:
        progress(0.02, f"connecting to {spec.describe()}")
    with open_client(spec) as client:
        yield client, step


def qc_on_cluster(ds: xr.Dataset, config: QCConfig, scheduler: str, *,
                  progress: Progress | None = None,
                  cancelled: Callable[[], bool] | None = None,
                  station_chunk: int = 64, time_chunk: int = 8760
                  ) -> tuple[xr.Dataset, QCReport]:
    spec = ClusterSpec(scheduler.strip() or "local", workers=2)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="microclimate-cluster-") as scratch:
        src = Path(scratch) / "stations.nc"
        ds.to_netcdf(src)
        out = Path(scratch) / "flags.zarr"
        with _client(spec, progress) as (client, step):
            run_batch_qc(client, [src], config, out, station_chunk=station_chunk,
                         time_chunk=time_chunk, progress=step, cancelled=cancelled)
        with xr.open_zarr(out) as stored:
            flagged = stored.load()
    report = QCReport(run_seconds=time.perf_counter() - start)
    for name in flagged.data_vars:
        var = str(name)
        tests = str(flagged[var].attrs.get("qc_tests", ""))
        if not var.endswith("_qc") or not tests:
            continue
        base = var[: -len("_qc")]
        report.counts[base] = {n.removeprefix(f"{base}_qc_"): _count(flagged[n].values)
                               for n in tests.split()}
        report.counts[base]["aggregate"] = _count(flagged[var].values)
    return flagged, report


def _count(flags: np.ndarray) -> dict[QCFlag, int]:
    counts = np.bincount(np.asarray(flags, np.uint8).ravel(), minlength=10)
    return {f: int(counts[int(f)]) for f in QCFlag}


def forecast_on_cluster(coarse: xr.Dataset, terrain: xr.Dataset, model: str | None,
                        scheduler: str, *, progress: Progress | None = None,
                        cancelled: Callable[[], bool] | None = None,
                        time_chunk: int = 24, tile: int = 128) -> xr.Dataset:
    """The region's model forecast, tiled on the cluster (model output variables only;
    see :mod:`desktop_app.batch.forecast_run`)."""
    from desktop_app.batch.forecast_run import run_batch_forecast
    from desktop_app.errors import ModelError
    from desktop_app.inference.predictor import to_hourly
    from desktop_app.inference.registry import ModelRegistry

    registry = ModelRegistry()
    entry = registry.find(model) if model else registry.active("temperature")
    if entry is None:
        raise ModelError("no model installed for temperature; install one first")
    spec = ClusterSpec(scheduler.strip() or "local", workers=2)
    with tempfile.TemporaryDirectory(prefix="microclimate-cluster-") as scratch:
        coarse_path, terrain_path = Path(scratch) / "coarse.nc", Path(scratch) / "terrain.nc"
        to_hourly(coarse).to_netcdf(coarse_path)
        terrain.to_netcdf(terrain_path)
        out = Path(scratch) / "forecast.zarr"
        with _client(spec, progress) as (client, step):
            run_batch_forecast(client, [coarse_path], terrain_path, entry, out,
                               time_chunk=time_chunk, tile=tile, progress=step,
                               cancelled=cancelled)
        with xr.open_zarr(out) as stored:
            forecast = stored.load()
    forecast.attrs["provider"] = f"cpu on {spec.describe()}"
    return forecast
