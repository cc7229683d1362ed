"""Batch runs on a Dask cluster vs the single-process path a user would otherwise run.

    python benchmarks/bench_cluster.py            # ~3-5 minutes on 2 cores
    python benchmarks/bench_cluster.py --quick    # smaller sizes, a smoke run

1. Speed-up: the same QC job (all checks incl. buddy) and the same forecast job, single
   process (read, compute, write Zarr) vs ``microclimate batch`` on a LocalCluster with 1
   and 2 worker processes (1 thread each); speed-up and efficiency printed. Cluster start-up
   is measured separately and not in the job times.
2. Scheduler overhead at small sizes: empty chunk tasks (per-task round trip) and a tiny
   QC job, cluster vs single process.
3. Bounded memory: a QC job whose data is several times one worker's memory limit, on 2
   workers with that limit; peak RSS per worker process reported (ru_maxrss).
4. Per-chunk cost and what a 10-node cluster would do with the same chunking.

DATA: the QC station series are GENERATED (diurnal cycle + noise + injected spikes and
stuck sensors, random station layout); the forecast job is the REAL ERA5 UK March 2019
month (tests/data/inference), its 0.25 deg elevation interpolated to a 4x finer grid and
the month repeated in time (labelled: tiled up for size). Speed and memory only; no skill.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from desktop_app.batch.engine import Chunk, run_chunks  # noqa: E402
from desktop_app.batch.forecast_run import run_batch_forecast  # noqa: E402
from desktop_app.batch.memory import peak_mib, start_sampler  # noqa: E402
from desktop_app.batch.qc_run import run_batch_qc  # noqa: E402
from desktop_app.batch.store import ChunkStore  # noqa: E402
from desktop_app.inference.predictor import run_forecast  # noqa: E402
from desktop_app.inference.registry import ModelRegistry  # noqa: E402
from desktop_app.qc.config import QCConfig, VariableQC, default_tests  # noqa: E402
from desktop_app.qc.runner import kernels_ready, run_qc  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
MODEL = "era5-uk-downscaler"  # the bundled version (the newest installed)
CONFIG = QCConfig({"temperature": VariableQC(default_tests("temperature"))})


def stations(n: int, hours: int, seed: int = 7) -> xr.Dataset:
    """GENERATED station temperatures with faults (see the module docstring)."""
    rng = np.random.default_rng(seed)
    t = np.arange(hours)
    lat = 50 + rng.uniform(0, 4 * np.sqrt(n / 1000), n)
    lon = rng.uniform(-3, -3 + 6 * np.sqrt(n / 1000), n)
    elev = rng.uniform(0, 800, n)
    values = (10 - 0.0065 * elev[:, None] + 5 * np.sin(2 * np.pi * (t[None, :] - 9) / 24)
              + rng.normal(0, 0.7, (n, hours)))
    spikes = rng.integers(0, n * hours, n // 2)
    values.ravel()[spikes] += 12
    for k in rng.integers(0, n, n // 50):
        a = rng.integers(0, hours - 30)
        values[k, a:a + 24] = values[k, a]
    times = pd.date_range("2021-01-01", periods=hours, freq="h").to_numpy("datetime64[ns]")
    return xr.Dataset(
        {"temperature": (("station", "time"), values,
                         {"units": "degC", "standard_name": "air_temperature"})},
        coords={"time": times, "latitude": ("station", lat), "longitude": ("station", lon),
                "elevation": ("station", elev),
                "station_id": ("station", [f"G{k:06d}" for k in range(n)])},
        attrs={"generated_values": "yes"})


def era5_tiled(folder: Path, refine: int, repeat: int) -> tuple[Path, Path, xr.Dataset,
                                                                 xr.Dataset]:
    data = ROOT / "tests" / "data" / "inference"
    coarse = xr.open_dataset(data / "era5_uk_coarse.nc").load()
    fine = xr.open_dataset(data / "era5_uk_fine.nc")[["elevation"]].load()
    lat = np.linspace(fine.latitude.values[0], fine.latitude.values[-1],
                      fine.sizes["latitude"] * refine)
    lon = np.linspace(fine.longitude.values[0], fine.longitude.values[-1],
                      fine.sizes["longitude"] * refine)
    terrain = fine.interp(latitude=lat, longitude=lon)
    parts = []
    step = np.timedelta64(coarse.sizes["time"], "h")
    for k in range(repeat):
        parts.append(coarse.assign_coords(time=coarse["time"].values + k * step))
    big = xr.concat(parts, "time", data_vars="minimal")
    big.attrs["note"] = "ERA5 March 2019 repeated in time for benchmark size"
    cpath, tpath = folder / "coarse.nc", folder / "terrain.nc"
    big.to_netcdf(cpath)
    terrain.to_netcdf(tpath)
    return cpath, tpath, big, terrain


def cluster(workers: int, memory: str = "2GiB") -> Any:
    import distributed

    t0 = time.perf_counter()
    local = distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                     memory_limit=memory, dashboard_address=":0",
                                     host="127.0.0.1")
    client = distributed.Client(local)
    return local, client, time.perf_counter() - t0


def timed(fn: Any) -> tuple[float, Any]:
    t0 = time.perf_counter()
    result = fn()
    return time.perf_counter() - t0, result


def single_qc(src: Path, out: Path) -> None:
    with xr.open_dataset(src) as ds:
        flagged, _ = run_qc(ds.load(), CONFIG)
    flagged.to_zarr(out, mode="w", zarr_format=2)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    n_st, refine, repeat, big_n = (400, 2, 1, 4000) if args.quick else (2000, 4, 2, 16000)
    work = Path(tempfile.mkdtemp(prefix="bench-cluster-"))
    lines: list[str] = []

    def say(text: str = "") -> None:
        print(text, flush=True)
        lines.append(text)

    try:
        kernels_ready()
        say(f"# machine: {os.cpu_count()} cores; workers have 1 thread each; "
            f"{'--quick' if args.quick else 'full'} run")
        qc_src = work / "stations.nc"
        stations(n_st, 8760).to_netcdf(qc_src)
        cpath, tpath, coarse, terrain = era5_tiled(work, refine, repeat)
        entry = ModelRegistry().find(MODEL)
        qc_chunks = {"station_chunk": max(1, n_st // 8), "time_chunk": 730}
        fc_chunks = {"time_chunk": 48, "tile": 64}
        say(f"\n== 1. speed-up: QC {n_st} stations x 8760 h (GENERATED), all temperature "
            f"checks; chunks {qc_chunks}")
        t_qc1, _ = timed(lambda: single_qc(qc_src, work / "single_qc.zarr"))
        ny, nx = terrain.sizes["latitude"], terrain.sizes["longitude"]
        say(f"   forecast REAL ERA5 UK x{repeat} in time: {coarse.sizes['time']} steps on "
            f"{ny}x{nx} (elevation interpolated x{refine}); chunks {fc_chunks}")

        def single_fc() -> None:
            ds = run_forecast((coarse, terrain), MODEL, "cpu", references=False, threads=2)
            ds.to_zarr(work / "single_fc.zarr", mode="w", zarr_format=2)

        single_fc()  # warm the session once (the cluster workers also warm up)
        t_fc1, _ = timed(single_fc)
        say(f"   single process: QC {t_qc1:7.2f} s   forecast (onnxruntime 2 threads) "
            f"{t_fc1:7.2f} s")
        per_chunk: dict[str, float] = {}
        n_chunks: dict[str, int] = {}
        for workers in (1, 2):
            local, client, startup = cluster(workers)
            try:
                client.run(kernels_ready)
                t_q, r_q = timed(lambda w=workers, c=client: run_batch_qc(
                    c, [qc_src], CONFIG, work / f"qc{w}.zarr", **qc_chunks))
                t_f, r_f = timed(lambda w=workers, c=client: run_batch_forecast(
                    c, [cpath], tpath, entry, work / f"fc{w}.zarr", **fc_chunks))
            finally:
                client.close()
                local.close()
            say(f"   LocalCluster {workers} worker(s) (start-up {startup:.1f} s): "
                f"QC {t_q:7.2f} s ({r_q['ran']} chunks)  speed-up {t_qc1 / t_q:5.2f}x  "
                f"efficiency {t_qc1 / t_q / workers:4.0%} | forecast {t_f:7.2f} s "
                f"({r_f['ran']} chunks)  speed-up {t_fc1 / t_f:5.2f}x  "
                f"efficiency {t_fc1 / t_f / workers:4.0%}")
            if workers == 1:
                per_chunk = {"qc": t_q / r_q["ran"], "forecast": t_f / r_f["ran"]}
                n_chunks = {"qc": r_q["ran"], "forecast": r_f["ran"]}
        xa = xr.open_zarr(work / "single_qc.zarr")["temperature_qc"].values
        xb = xr.open_zarr(work / "qc2.zarr")["temperature_qc"].values
        say(f"   QC flags cluster == single process: {bool(np.array_equal(xa, xb))}")

        say("\n== 2. scheduler overhead at small sizes (2 workers)")
        local, client, startup = cluster(2)
        try:
            store = ChunkStore(work / "noop.zarr")
            store.prepare({"kind": "noop"})
            n = 400
            t_noop, _ = timed(lambda: run_chunks(
                client, [Chunk(f"n{k}", len, ((),)) for k in range(n)],
                str(store.done_dir), already=set()))
            say(f"   {n} empty chunk tasks: {t_noop:.2f} s = {1000 * t_noop / n:.1f} ms per "
                "task (submit, run, marker file, result)")
            tiny = work / "tiny.nc"
            stations(20, 240).to_netcdf(tiny)
            t_single, _ = timed(lambda: single_qc(tiny, work / "tiny_single.zarr"))
            t_tiny, r_tiny = timed(lambda: run_batch_qc(client, [tiny], CONFIG,
                                                        work / "tiny.zarr", station_chunk=5,
                                                        time_chunk=60))
            say(f"   QC 20 stations x 240 h: single process {t_single:.3f} s, cluster "
                f"{t_tiny:.3f} s ({r_tiny['ran']} chunks): {t_tiny / t_single:.0f}x slower "
                "-- small jobs belong on the desktop")
        finally:
            client.close()
            local.close()

        limit = "700MiB"
        say(f"\n== 3. bounded memory: QC of {big_n} stations x 8760 h (GENERATED) on 2 "
            f"workers with memory_limit={limit}")
        big = work / "big.nc"
        stations(big_n, 8760, seed=11).to_netcdf(big)
        data_mib = big_n * 8760 * (8 + 7) / 2**20  # values + 7 flag arrays written
        local, client, startup = cluster(2, limit)
        try:
            client.run(start_sampler)
            t_big, r_big = timed(lambda: run_batch_qc(client, [big], CONFIG,
                                                      work / "big.zarr", station_chunk=500,
                                                      time_chunk=240))
            peaks = client.run(peak_mib)
        finally:
            client.close()
            local.close()
        say(f"   data {data_mib:.0f} MiB (input {big_n * 8760 * 8 / 2**20:.0f} MiB) = "
            f"{data_mib / 700:.1f}x one worker's limit; {r_big['ran']} chunks in {t_big:.1f} s")
        say("   peak RSS per worker: " + ", ".join(f"{v:.0f} MiB" for v in peaks.values())
            + f" (sampled every 20 ms; limit {limit}; no worker was killed)")

        say("\n== 4. per-chunk cost (1 worker, incl. scheduling and I/O) and a 10-node "
            "cluster with the same chunking")
        for job, cost in per_chunk.items():
            cores = 10 * 16
            say(f"   {job}: {cost * 1000:.0f} ms per chunk x {n_chunks[job]} chunks; on 10 "
                f"nodes x 16 workers the chunks run in ~{int(np.ceil(n_chunks[job] / cores))} "
                f"wave(s): ~{int(np.ceil(n_chunks[job] / cores)) * cost:.2f} s + start-up; "
                f"an archive 1000x larger ({n_chunks[job] * 1000} chunks): "
                f"~{n_chunks[job] * 1000 * cost / cores / 60:.1f} min if the shared "
                "file system keeps up")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    out = ROOT / "benchmarks" / "results" / "bench_cluster_cpu.txt"
    if not args.quick:
        out.write_text("# command: python benchmarks/bench_cluster.py\n" + "\n".join(lines)
                       + "\n", encoding="utf-8")
        print(f"wrote {out}")


if __name__ == "__main__":
    main()
