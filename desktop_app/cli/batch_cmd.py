"""``microclimate batch qc|forecast|verify INPUTS... --out OUT --cluster ...``: archive-scale
runs chunk by chunk on a Dask cluster (the ``[cluster]`` extra).

``--cluster local`` (default) starts a LocalCluster on this machine; ``tcp://HOST:PORT``
connects to a running scheduler; ``slurm``/``pbs`` submit worker jobs with dask-jobqueue
(queue/account/walltime options, the rest from dask's jobqueue config). Output goes to a
temporary store beside ``--out`` and is moved into place at the end; running the same
command again after an interruption resumes, skipping finished chunks.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from desktop_app.cli._common import EXIT_INTERRUPTED, interruptible
from desktop_app.errors import CancelledError, ConfigError
from desktop_app.validation import arg_float, arg_int

CHUNK_KEYS = {"qc": ("station", "time"), "forecast": ("time", "tile"), "verify": ("time",)}


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "batch", help="archive-scale QC, forecast or verification on a Dask cluster",
        description="Run QC, downscaling or verification chunk-wise on a Dask cluster "
                    "(needs the [cluster] extra).")
    jobs = parser.add_subparsers(dest="job", metavar="JOB", required=True)
    qc = jobs.add_parser("qc", help="QC station files (flags identical to 'qc')")
    qc.add_argument("inputs", nargs="+", type=Path, metavar="INPUT",
                    help="station NetCDF files (one archive split in time) or a Zarr store")
    qc.add_argument("--config", type=Path, default=None, metavar="FILE")
    fc = jobs.add_parser("forecast", help="downscale coarse files over a DEM, tiled")
    fc.add_argument("inputs", nargs="+", type=Path, metavar="COARSE",
                    help="hourly coarse NetCDF/GRIB files or a Zarr store")
    fc.add_argument("--dem", type=Path, required=True, metavar="DEM.nc")
    fc.add_argument("--model", default=None, metavar="NAME[@VERSION]",
                    help="model (default: the active temperature model)")
    fc.add_argument("--provider", choices=("cpu", "cuda", "auto"), default="cpu",
                    help="where each worker runs the model (default cpu)")
    vf = jobs.add_parser("verify", help="verify forecast files against stations")
    vf.add_argument("inputs", nargs="+", type=Path, metavar="FORECAST",
                    help="forecast NetCDF files or Zarr stores (from 'batch forecast')")
    vf.add_argument("--obs", type=Path, required=True, help="station observations NetCDF")
    vf.add_argument("--variable", default="temperature")
    for job in (qc, fc, vf):
        job.add_argument("--out", type=Path, required=True,
                         help="output .zarr or .nc (verify: report STEM for .csv/.json)")
        job.add_argument("--cluster", default="local", metavar="local|tcp://HOST:PORT|slurm|pbs")
        job.add_argument("--workers", type=arg_int(1, 100_000), default=2, metavar="N",
                         help="workers (local) or worker jobs (slurm/pbs); default 2")
        job.add_argument("--threads-per-worker", type=arg_int(1, 4096), default=1, metavar="N")
        job.add_argument("--memory-limit", default=None, metavar="SIZE",
                         help="memory per worker, e.g. 2GiB (default: machine share)")
        job.add_argument("--connect-timeout", type=arg_float(0.1, 86400), default=10.0, metavar="S",
                         help="seconds to reach a scheduler address (default 10)")
        job.add_argument("--chunks", default=None, metavar="K=N,...",
                         help="qc: station=64,time=8760; forecast: time=24,tile=256; "
                              "verify: time=168")
        job.add_argument("--restart", action="store_true",
                         help="discard an unfinished earlier run instead of resuming it")
        job.add_argument("--queue", default=None, help="slurm/pbs: queue or partition")
        job.add_argument("--account", default=None, help="slurm/pbs: account/project")
        job.add_argument("--walltime", default=None, help="slurm/pbs: per job, e.g. 01:00:00")
        job.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def parse_chunks(text: str | None, job: str) -> dict[str, int]:
    if not text:
        return {}
    out: dict[str, int] = {}
    for item in text.split(","):
        key, _, value = item.partition("=")
        if key.strip() not in CHUNK_KEYS[job]:
            raise ConfigError(f"--chunks key {key.strip()!r} is not one of "
                              f"{', '.join(CHUNK_KEYS[job])} for batch {job}")
        try:
            out[key.strip()] = int(value)
        except ValueError as exc:
            raise ConfigError(f"--chunks {key.strip()}={value!r}: expected an integer") from exc
        if out[key.strip()] < 1:
            raise ConfigError(f"--chunks {key.strip()} must be at least 1")
    return out


class ProgressBar:
    def __init__(self, stream: TextIO, quiet: bool) -> None:
        self.stream, self.quiet, self.label = stream, quiet, ""

    def __call__(self, done: int, total: int, message: str) -> None:
        if self.quiet:
            return
        label = message.split(":")[0]
        if label != self.label and self.label:
            self.stream.write("\n")
        self.label = label
        width = 30
        filled = int(width * done / max(1, total))
        self.stream.write(f"\r  {label:<10} [{'#' * filled}{'.' * (width - filled)}] "
                          f"{done}/{total}")
        if done >= total:
            self.stream.write("\n")
            self.label = ""
        self.stream.flush()


def cluster_spec(args: argparse.Namespace) -> Any:
    from desktop_app.batch.cluster import ClusterSpec, parse_target

    if args.workers < 1 or args.threads_per_worker < 1:
        raise ConfigError("--workers and --threads-per-worker must be at least 1")
    jobqueue = {k: v for k, v in (("queue", args.queue), ("account", args.account),
                                  ("walltime", args.walltime)) if v}
    return ClusterSpec(parse_target(args.cluster), workers=args.workers,
                       threads_per_worker=args.threads_per_worker,
                       memory_limit=args.memory_limit, connect_timeout_s=args.connect_timeout,
                       jobqueue=jobqueue)


def run(args: argparse.Namespace) -> int:
    from desktop_app.batch.cluster import dashboard_link, open_client, require_dask

    require_dask()  # without the [cluster] extra: one line naming it
    chunks = parse_chunks(args.chunks, args.job)
    spec = cluster_spec(args)
    bar = ProgressBar(sys.stderr, args.quiet)
    print(f"batch {args.job} on {spec.describe()}", file=sys.stderr)
    # The first Ctrl-C only sets a flag that the job polls between chunks: a
    # KeyboardInterrupt raised inside distributed's event-loop calls can make it log a
    # traceback of its own. A second Ctrl-C interrupts at once.
    with interruptible("interrupted: cancelling the futures (Ctrl-C again to stop at "
                       "once)") as stop, open_client(spec) as client:
        link = dashboard_link(client)
        if link:
            print(f"dashboard: {link}", file=sys.stderr)
        try:
            return _run_job(args, client, chunks, bar, stop.is_set)
        except (KeyboardInterrupt, CancelledError):
            if args.job == "verify":
                print("\ncancelled: nothing written", file=sys.stderr)
            else:
                print(f"\ncancelled: futures cancelled, cluster closed; nothing written at "
                      f"{args.out}; run the same command again to resume", file=sys.stderr)
            return EXIT_INTERRUPTED


def _run_job(args: argparse.Namespace, client: Any, chunks: dict[str, int],
             bar: ProgressBar, cancelled: Callable[[], bool]) -> int:
    if args.job == "qc":
        from desktop_app.batch.qc_run import run_batch_qc
        from desktop_app.qc.config import load_config

        config = load_config(args.config)
        result = run_batch_qc(client, args.inputs, config, args.out,
                              station_chunk=chunks.get("station", 64),
                              time_chunk=chunks.get("time", 8760),
                              restart=args.restart, progress=bar, cancelled=cancelled)
    elif args.job == "forecast":
        from desktop_app.batch.forecast_run import run_batch_forecast
        from desktop_app.errors import ModelError
        from desktop_app.inference.registry import ModelRegistry

        registry = ModelRegistry()
        entry = registry.find(args.model) if args.model else registry.active("temperature")
        if entry is None:
            raise ModelError("no model installed; install one with "
                             "'microclimate models install PATH'")
        result = run_batch_forecast(client, args.inputs, args.dem, entry, args.out,
                                    time_chunk=chunks.get("time", 24),
                                    tile=chunks.get("tile", 256), provider=args.provider,
                                    threads=args.threads_per_worker, restart=args.restart,
                                    progress=bar, cancelled=cancelled)
    else:
        from desktop_app.batch.verify_run import run_batch_verify

        report = run_batch_verify(client, args.inputs, args.obs, args.variable,
                                  time_chunk=chunks.get("time", 168), progress=bar,
                                  cancelled=cancelled)
        csv_path, json_path = report.write(args.out)
        print(report.table())
        print(f"wrote {csv_path} and {json_path}")
        return 0
    print(f"wrote {args.out}: {result['ran']} chunks run, {result['skipped']} already done "
          "(resumed)" if result["skipped"] else
          f"wrote {args.out}: {result['ran']} chunks run")
    return 0
