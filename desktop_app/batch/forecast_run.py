"""Downscaling an archive on a cluster: space tiles with a halo, time chunks, one
onnxruntime session per worker process.

Each chunk is (time steps) x (a tile of the fine grid). Its task builds the features of
the tile *plus a halo* of ``card.halo`` cells (the model's receptive field; the card
states it) with the same :class:`FeatureBuilder` the single-process forecast uses, runs
the model, keeps the inner tile and scales it exactly as :meth:`Predictor.predict` does.
So a tile's cells see the same neighbourhood as in the unchunked forecast and tile seams
match it (to float rounding of the convolution order).

What the batch forecast writes: the model's output variables (``card.outputs``) and the
terrain elevation; not the lapse-rate/bilinear comparison fields of ``microclimate
forecast``, and not variables no model predicts. The coarse input must be hourly (the
single-process forecast interpolates coarser input in time first; across chunk
boundaries that needs neighbouring steps and is not done here).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from desktop_app.batch import inputs as inputs_mod
from desktop_app.batch.engine import Chunk, ChunkProgress, run_chunks
from desktop_app.batch.store import ChunkStore
from desktop_app.core.schema import check_overlap, validate_grid_dataset
from desktop_app.core.variables import VARIABLES
from desktop_app.downscale.features import FeatureBuilder
from desktop_app.errors import DataFileError
from desktop_app.fsutil import load_netcdf
from desktop_app.inference.forecast_output import forecast_dataset, model_source, with_halo
from desktop_app.inference.predictor import Predictor
from desktop_app.inference.registry import ModelEntry

# Per worker process (module state lives in the worker's interpreter): one Predictor
# (one onnxruntime session) per model file, the terrain and the opened inputs once, and
# the feature builder of the last time chunk (tiles of one chunk often land together).
_PREDICTORS: dict[tuple[str, str, int | None], Predictor] = {}
_TERRAIN: dict[str, xr.Dataset] = {}
_COARSE: inputs_mod.LastOnly[xr.Dataset] = inputs_mod.LastOnly()
_BUILDERS: inputs_mod.LastOnly[FeatureBuilder] = inputs_mod.LastOnly()


def worker_predictor(entry: ModelEntry, provider: str = "cpu",
                     threads: int | None = 1) -> Predictor:
    key = (str(entry.onnx_path), provider, threads)
    if key not in _PREDICTORS:
        _PREDICTORS[key] = Predictor(entry, provider, threads=threads, warm_up=False)
    return _PREDICTORS[key]


def _terrain(path: str) -> xr.Dataset:
    if path not in _TERRAIN:
        _TERRAIN[path] = load_netcdf(Path(path), "terrain")
    return _TERRAIN[path]


def _coarse(paths: tuple[str, ...]) -> xr.Dataset:
    return _COARSE.get(paths, lambda: inputs_mod.open_inputs([Path(p) for p in paths],
                                                             "coarse input"))


def _builder(pred: Predictor, paths: tuple[str, ...], terrain: str,
             t0: int, t1: int) -> FeatureBuilder:
    def make() -> FeatureBuilder:
        with inputs_mod.in_task():
            block = _coarse(paths).isel(time=slice(t0, t1)).load()
        return pred.feature_builder(block, _terrain(terrain))
    return _BUILDERS.get((paths, terrain, str(pred.entry.onnx_path), t0, t1), make)


def forecast_block(paths: tuple[str, ...], terrain: str, entry: ModelEntry, provider: str,
                   threads: int | None, halo: int, store: str, t0: int, t1: int,
                   r0: int, r1: int, c0: int, c1: int) -> None:
    """One chunk (worker): steps t0:t1 of the tile rows r0:r1, cols c0:c1."""
    pred = worker_predictor(entry, provider, threads)
    builder = _builder(pred, paths, terrain, t0, t1)
    rows, cols, inner_r, inner_c = with_halo((r0, r1), (c0, c1), halo, builder.shape)
    nt = t1 - t0
    out = {o.variable: np.empty((nt, r1 - r0, c1 - c0), np.float32) for o in pred.card.outputs}
    step = pred.batch_steps((rows.stop - rows.start) * (cols.stop - cols.start))
    for s0 in range(0, nt, step):
        s1 = min(nt, s0 + step)
        x = builder.build(s0, s1, rows, cols)
        pred.to_physical(x, pred.session.run(x), {v: a[s0:s1] for v, a in out.items()},
                         (inner_r, inner_c), f" in steps {t0 + s0}:{t0 + s1}, tile rows "
                                             f"{r0}:{r1} cols {c0}:{c1}")
    part = xr.Dataset({v: (("time", "latitude", "longitude"), a) for v, a in out.items()})
    part.to_zarr(store, mode="r+", region={"time": slice(t0, t1), "latitude": slice(r0, r1),
                                           "longitude": slice(c0, c1)})


def template(coarse: xr.Dataset, terrain: xr.Dataset, entry: ModelEntry,
             chunks: tuple[int, int, int]) -> xr.Dataset:
    import dask.array as dask_array

    shape = (coarse.sizes["time"], terrain.sizes["latitude"], terrain.sizes["longitude"])
    data_vars: dict[str, Any] = {}
    for spec in entry.card.outputs:
        data_vars[spec.variable] = (
            ("time", "latitude", "longitude"),
            dask_array.zeros(shape, dtype=np.float32, chunks=chunks),
            {**VARIABLES[spec.variable].cf_attrs(), "source": model_source(entry.card)})
    return forecast_dataset(
        data_vars, coarse["time"].values, terrain, [entry.card],
        # tiles cannot see the whole grid's share of out-of-domain inputs, so the guard
        # does not run here: say so rather than leave it unsaid
        guard="guard off (cluster run): the model ran on every step, also outside its "
              "training domain",
        history="microclimate batch forecast (tiled on a Dask cluster)")


def plan(shape: tuple[int, int, int], time_chunk: int, tile: int
         ) -> list[tuple[int, int, int, int, int, int]]:
    nt, ny, nx = shape
    return [(t, min(nt, t + time_chunk), r, min(ny, r + tile), c, min(nx, c + tile))
            for t in range(0, nt, time_chunk) for r in range(0, ny, tile)
            for c in range(0, nx, tile)]


def run_batch_forecast(client: Any, coarse_paths: list[Path], terrain_path: Path,
                       entry: ModelEntry, out: Path, *, time_chunk: int = 24, tile: int = 256,
                       provider: str = "cpu", threads: int | None = 1,
                       halo: int | None = None, restart: bool = False,
                       progress: ChunkProgress | None = None,
                       cancelled: Callable[[], bool] | None = None) -> dict[str, int]:
    """Downscale the coarse files over the terrain into ``out``; ``halo`` overrides the
    card's (only to show what a too-small halo does)."""
    coarse = inputs_mod.open_inputs(coarse_paths, "coarse input")
    with inputs_mod.in_task():  # small reads for the checks: here, not on the cluster
        validate_grid_dataset(coarse)
    terrain = load_netcdf(terrain_path, "terrain")
    validate_grid_dataset(terrain, require_time=False)
    check_overlap(coarse, terrain)
    times = np.asarray(coarse["time"].values, "datetime64[ns]")
    if times.size > 1 and not bool((np.diff(times) == np.timedelta64(1, "h")).all()):
        raise DataFileError(f"coarse input {coarse_paths[0]}: batch forecasts need hourly "
                            "steps with no gaps; interpolate to hourly first")
    halo = entry.card.halo if halo is None else halo
    ny, nx = terrain.sizes["latitude"], terrain.sizes["longitude"]
    tc, tl = max(1, min(time_chunk, times.size)), max(1, min(tile, max(ny, nx)))
    store = ChunkStore(out)
    job = {"kind": "forecast", "inputs": inputs_mod.token([*coarse_paths, terrain_path]),
           "model": entry.card.spec, "sha256": entry.card.sha256, "chunks": [tc, tl],
           "halo": halo, "provider": provider}
    if not store.prepare(job, restart):
        template(coarse, terrain, entry, (tc, tl, tl)).to_zarr(
            str(store.data), mode="w", compute=False, zarr_format=2)
    key_paths = tuple(str(Path(p).resolve()) for p in coarse_paths)
    data = str(store.data)
    chunks = [Chunk(f"tile-{t0}-{r0}-{c0}", forecast_block,
                    (key_paths, str(Path(terrain_path).resolve()), entry, provider, threads,
                     halo, data, t0, t1, r0, r1, c0, c1))
              for t0, t1, r0, r1, c0, c1 in plan((times.size, ny, nx), tc, tl)]
    ran = run_chunks(client, chunks, str(store.done_dir), already=store.done(),
                     progress=progress, cancelled=cancelled, label="forecast",
                     out_hint=str(store.partial))
    store.finish()
    return {"ran": ran, "skipped": len(chunks) - ran}
