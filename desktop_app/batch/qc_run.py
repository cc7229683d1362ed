"""QC of a station archive on a cluster, flag for flag the same as :func:`run_qc`.

Why two layouts instead of time chunks with overlap: the per-series tests are not all
local in time (``robust_outlier`` uses the whole series' median and spread, ``flat_line``
turns its time thresholds into a window from the series' median step), so an overlap of
any fixed width would not reproduce them. Instead:

1. station slabs, whole series: every per-series test (:func:`run_qc` on the slab, so
   the Numba kernels run per chunk exactly as in one process);
2. time slabs, all stations: the network tests, those the QC registry marks
   ``scope="network"`` (the buddy check: independent per time step; it needs every
   station's neighbours);
3. station slabs: the aggregate ``<var>_qc`` from the stored per-test flags.

The output store is chunked (station chunk x time chunk), and every write covers whole
store chunks of one variable written by no other task, so parallel writes never collide.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from desktop_app.batch import inputs as inputs_mod
from desktop_app.batch.engine import Chunk, ChunkProgress, run_chunks
from desktop_app.batch.store import ChunkStore
from desktop_app.core.flags import worst
from desktop_app.core.schema import validate_station_dataset
from desktop_app.errors import DataFileError, SchemaError
from desktop_app.qc.config import QCConfig, VariableQC
from desktop_app.qc.registry import qc_test
from desktop_app.qc.runner import require_values, run_qc

_OPENED: inputs_mod.LastOnly[xr.Dataset] = inputs_mod.LastOnly()  # per worker process


def split_config(config: QCConfig, network: bool) -> QCConfig:
    """Only the network tests (``network``) or only the per-series ones, per variable."""
    variables = {}
    for var, vqc in config.variables.items():
        tests = {k: v for k, v in vqc.tests.items()
                 if (qc_test(k).scope == "network") == network}
        variables[var] = replace(vqc, tests=tests) if tests else VariableQC({})
    return QCConfig(variables)


def _open(paths: tuple[str, ...]) -> xr.Dataset:
    return _OPENED.get(paths, lambda: inputs_mod.open_inputs([Path(p) for p in paths],
                                                             "station input"))


def _flag_vars(flagged: xr.Dataset, source: xr.Dataset) -> xr.Dataset:
    names = [n for n in flagged.data_vars if n not in source.data_vars]
    return flagged[names].drop_vars(list(flagged.coords))


def _region_write(part: xr.Dataset, store: str, stations: slice, times: slice) -> None:
    part.to_zarr(store, region={"station": stations, "time": times}, mode="r+")


def qc_station_slab(paths: tuple[str, ...], config: QCConfig, store: str,
                    s0: int, s1: int) -> None:
    """Pass 1 (worker): observed values and every non-buddy flag of stations s0:s1."""
    with inputs_mod.in_task():
        ds = _open(paths).isel(station=slice(s0, s1)).load()
    flagged, _ = run_qc(ds, config)
    observed = [n for n in ds.data_vars if ds[n].dims == ("station", "time")]
    part = xr.merge([ds[observed].drop_vars(list(ds.coords)), _flag_vars(flagged, ds)])
    _region_write(part, store, slice(s0, s1), slice(None))


def qc_time_slab(paths: tuple[str, ...], config: QCConfig, store: str,
                 t0: int, t1: int) -> None:
    """Pass 2 (worker): the network tests for time steps t0:t1, all stations."""
    with inputs_mod.in_task():
        ds = _open(paths).isel(time=slice(t0, t1)).load()
    flagged, _ = run_qc(ds, config)
    _region_write(_flag_vars(flagged, ds), store, slice(None), slice(t0, t1))


def qc_aggregate(store: str, groups: dict[str, list[str]], s0: int, s1: int) -> None:
    """Pass 3 (worker): ``<var>_qc`` = worst of the stored per-test flags."""
    with inputs_mod.in_task(), xr.open_zarr(store) as stored:
        part = xr.Dataset({
            f"{var}_qc": (("station", "time"),
                          worst(*[stored[n][s0:s1].values for n in names]))
            for var, names in groups.items()})
    _region_write(part, store, slice(s0, s1), slice(None))


def template(ds: xr.Dataset, config: QCConfig, chunks: tuple[int, int]) -> xr.Dataset:
    """The output's variables and attributes (from run_qc on a small slice), as lazy
    zeros in the store's chunking."""
    import dask.array as dask_array

    sample = ds.isel(station=slice(0, 2), time=slice(0, 4)).load()
    flagged, _ = run_qc(sample, config)
    shape = (ds.sizes["station"], ds.sizes["time"])
    coords = {k: (v.dims, np.asarray(v.values), v.attrs) for k, v in ds.coords.items()}
    data_vars = {}
    for name, var in flagged.data_vars.items():
        if var.dims != ("station", "time"):
            continue
        data_vars[str(name)] = (("station", "time"),
                                dask_array.zeros(shape, dtype=ds[name].dtype
                                                 if name in ds else np.uint8, chunks=chunks),
                                var.attrs)
    out = xr.Dataset(data_vars, coords=coords, attrs=dict(ds.attrs))
    out.attrs["history"] = (str(ds.attrs.get("history", "")) + "\nmicroclimate batch qc").strip()
    return out


def run_batch_qc(client: Any, paths: list[Path], config: QCConfig, out: Path, *,
                 station_chunk: int = 64, time_chunk: int = 8760, restart: bool = False,
                 progress: ChunkProgress | None = None,
                 cancelled: Callable[[], bool] | None = None) -> dict[str, int]:
    """QC the station files on the cluster into ``out`` (Zarr, or NetCDF for ``.nc``).
    Returns how many chunks ran and how many were skipped as already done."""
    ds = inputs_mod.open_inputs(paths, "station input")
    with inputs_mod.in_task():  # small reads for the checks and the template: here
        try:
            validate_station_dataset(ds)
            require_values(ds)
        except (SchemaError, DataFileError) as exc:
            raise SchemaError(f"station input {paths[0]}: {exc}") from exc
        n_st, n_t = ds.sizes["station"], ds.sizes["time"]
        sc, tc = max(1, min(station_chunk, n_st)), max(1, min(time_chunk, n_t))
        tmpl = template(ds, config, (sc, tc))
    store = ChunkStore(out)
    job = {"kind": "qc", "inputs": inputs_mod.token(paths), "chunks": [sc, tc],
           "config": repr(config)}
    resumed = store.prepare(job, restart)
    data = str(store.data)
    per_series, network = split_config(config, False), split_config(config, True)
    if not resumed:
        tmpl.to_zarr(data, mode="w", compute=False, zarr_format=2)
    key_paths = tuple(str(Path(p).resolve()) for p in paths)
    groups = {}
    for var in tmpl.data_vars:
        tests = str(tmpl[var].attrs.get("qc_tests", ""))
        if tests:
            groups[str(var)[: -len("_qc")]] = tests.split()
    has_network = any(vqc.tests and var in groups for var, vqc in network.variables.items())
    st = [(s, min(n_st, s + sc)) for s in range(0, n_st, sc)]
    tt = [(t, min(n_t, t + tc)) for t in range(0, n_t, tc)]
    passes = [("series", [Chunk(f"series-{a}-{b}", qc_station_slab,
                                (key_paths, per_series, data, a, b)) for a, b in st])]
    if has_network:  # chunk names kept from when the buddy check was the only one
        passes.append(("buddy", [Chunk(f"buddy-{a}-{b}", qc_time_slab,
                                       (key_paths, network, data, a, b)) for a, b in tt]))
    if groups:
        passes.append(("aggregate", [Chunk(f"aggregate-{a}-{b}", qc_aggregate,
                                           (data, groups, a, b)) for a, b in st]))
    ran = skipped = 0
    already = store.done()
    for label, chunks in passes:
        n = run_chunks(client, chunks, str(store.done_dir), already=already,
                       progress=progress, cancelled=cancelled, label=label,
                       out_hint=str(store.partial))
        ran += n
        skipped += len(chunks) - n
    store.finish()
    return {"ran": ran, "skipped": skipped}
