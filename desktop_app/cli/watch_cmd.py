"""``microclimate watch``: live station watch.

``watch run --config F`` polls until Ctrl-C (a clean stop: the poll in progress
finishes its store write). ``watch serve --config F`` serves the local API on
127.0.0.1 (``--with-poller`` also runs the poller in the same process).
``watch export --config F OUT.csv|OUT.nc`` writes the verified-forecast training set.
``watch score-models --config F --coarse C --terrain T [--model SPEC ...]`` scores the
desk's own models at the stations (default: the active model and the one it replaced),
and ``watch skill --config F`` prints the rolling skill table (per model version: A/B).
"""

from __future__ import annotations

import argparse
import signal
import threading
from pathlib import Path
from typing import Any

from desktop_app import paths
from desktop_app.cli.trainer_cmd import read_or_create_token
from desktop_app.errors import MicroclimateError, WriteError
from desktop_app.validation import PORT, arg_int


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("watch", help="live station watch: poll, QC, alerts, local API")
    wsub = parser.add_subparsers(dest="watch_command", metavar="ACTION", required=True)
    run_p = wsub.add_parser("run", help="poll the configured stations until Ctrl-C")
    run_p.add_argument("--config", type=Path, required=True)
    run_p.add_argument("--polls", type=arg_int(1, 2**31), default=None, help="stop after N polls")
    run_p.set_defaults(func=run)
    serve = wsub.add_parser("serve", help="serve the local watch API")
    serve.add_argument("--config", type=Path, required=True)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=PORT, default=8766)
    serve.add_argument("--token-file", type=Path, default=None)
    serve.add_argument("--with-poller", action="store_true")
    serve.set_defaults(func=run_serve)
    export = wsub.add_parser("export", help="write the verified-forecast training set")
    export.add_argument("--config", type=Path, required=True)
    export.add_argument("out", type=Path, help="OUT.csv or OUT.nc")
    export.add_argument("--all-flags", action="store_true",
                        help="include observations QC did not pass")
    export.set_defaults(func=run_export)
    score = wsub.add_parser("score-models",
                            help="downscale with the desk's models at the stations")
    score.add_argument("--config", type=Path, required=True)
    score.add_argument("--coarse", type=Path, required=True, help="coarse fields (NetCDF)")
    score.add_argument("--terrain", type=Path, required=True, help="fine terrain (NetCDF)")
    score.add_argument("--model", action="append", default=[], metavar="NAME[@VERSION]",
                       help="a model to score (repeat); default: the active model and "
                            "the one it replaced")
    score.set_defaults(func=run_score_models)
    skill = wsub.add_parser("skill", help="the rolling skill table, per model version")
    skill.add_argument("--config", type=Path, required=True)
    skill.set_defaults(func=run_skill)


def _build(config_path: Path) -> tuple[Any, Any]:
    from desktop_app.watch.config import load_config
    from desktop_app.watch.sources import OpenMeteoCurrent, StationFiles
    from desktop_app.watch.store import Store
    from desktop_app.watch.watcher import Watcher

    cfg = load_config(config_path)
    store = Store(cfg.database_path)
    sources: list[Any] = []
    om = [s for s in cfg.stations if s.source == "openmeteo"]
    files = [s for s in cfg.stations if s.source == "file"]
    if om:
        sources.append(OpenMeteoCurrent(om, cfg.variable, cfg.openmeteo_url,
                                        cfg.forecast_hours))
    if files:
        sources.append(StationFiles(files, cfg.variable, cfg.base_dir))
    watcher = Watcher(cfg, store, sources, on_report=lambda m: print(m, flush=True))
    return watcher, store


def _stop_on_signals(stop: threading.Event) -> dict[int, Any]:
    """Ctrl-C / SIGTERM set ``stop``: the poll in progress finishes its write first.
    Returns the previous handlers to restore."""
    def handler(signum: int, frame: object) -> None:
        stop.set()
    return {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}


def run(args: argparse.Namespace) -> int:
    watcher, store = _build(args.config)
    stop = threading.Event()
    previous = _stop_on_signals(stop)
    print(f"watching {len(watcher.config.stations)} station(s) every "
          f"{watcher.config.interval_minutes:g} min; store {store.path}; Ctrl-C stops")
    try:
        watcher.run(stop, max_polls=args.polls)
    finally:
        store.close()
        for sig, old in previous.items():
            signal.signal(sig, old)
    c = watcher.counters
    print(f"stopped after {c.polls} poll(s): {c.new_values} new values, "
          f"{c.anomalies} anomalies, {c.poll_failures} failed polls")
    unstored = sum(len(b.observations) for b in watcher.pending)
    if unstored:
        # kept for retry while running; at exit they are lost, which is not a success
        raise WriteError(f"stopped with {unstored} polled value(s) not stored in {store.path} "
                         f"({c.store_failures} failed store write(s): full disk or locked "
                         "database?)")
    return 0


def run_serve(args: argparse.Namespace) -> int:
    from desktop_app.watch.api import create_app, watch_extra

    uvicorn = watch_extra("uvicorn")
    watcher, store = _build(args.config)
    state = paths.ensure_dir(paths.config_dir() / "watch")
    token, token_path = read_or_create_token(args.token_file, state)
    lock = threading.Lock()
    app = create_app(store, token, watcher.variable, watcher.counters, lock)
    stop = threading.Event()
    poller = None
    if args.with_poller:
        def loop() -> None:
            while not stop.is_set():
                with lock:
                    delay = watcher.poll_once(stop).next_delay_s
                stop.wait(delay)
        poller = threading.Thread(target=loop, name="watch-poller", daemon=True)
        poller.start()
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"warning: listening on {args.host}; put TLS in front of it")
    print(f"watch API on http://{args.host}:{args.port}  token: {token_path}")
    try:
        uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    finally:
        stop.set()
        if poller is not None:
            poller.join(timeout=10)
        store.close()
    return 0


def run_export(args: argparse.Namespace) -> int:
    from desktop_app.watch.config import load_config
    from desktop_app.watch.export import export_training_set
    from desktop_app.watch.store import Store

    cfg = load_config(args.config)
    if not cfg.database_path.exists():
        raise MicroclimateError(f"no watch store at {cfg.database_path} (run 'watch run' first)")
    with Store(cfg.database_path) as store:
        n = export_training_set(store, args.out, cfg.variable, args.all_flags)
    print(f"wrote {n} verification pairs to {args.out}")
    return 0


def run_score_models(args: argparse.Namespace) -> int:
    from desktop_app.cli._common import open_netcdf
    from desktop_app.inference.registry import ModelRegistry
    from desktop_app.watch.config import load_config
    from desktop_app.watch.models import score_models
    from desktop_app.watch.store import Store

    cfg = load_config(args.config)
    registry = ModelRegistry()
    if args.model:
        entries = [registry.find(spec) for spec in args.model]
    else:
        active = registry.resolve(None, cfg.variable)
        history = registry.history(cfg.variable)
        entries = [active] + ([registry.find(history[-1])] if history else [])
    coarse = open_netcdf(args.coarse, "coarse fields")
    terrain = open_netcdf(args.terrain, "terrain")
    with Store(cfg.database_path) as store:
        written = score_models(store, entries, coarse, terrain, cfg.variable)
    for spec, n in written.items():
        print(f"{spec}: {n} station values stored")
    return 0


def run_skill(args: argparse.Namespace) -> int:
    from desktop_app.watch.config import load_config
    from desktop_app.watch.store import Store

    cfg = load_config(args.config)
    with Store(cfg.database_path) as store:
        rows = store.skill(cfg.variable)
    print(f"{'station':16s} {'model':24s} {'version':24s} {'lead_h':>6s} {'n':>5s} "
          f"{'MAE':>7s} {'RMSE':>7s} {'bias':>7s}")
    for s in rows:
        print(f"{s.station:16s} {s.model:24s} {s.model_version:24s} {s.lead_s / 3600:6g} "
              f"{s.n:5d} {s.mae:7.3f} {s.rmse:7.3f} {s.bias:7.3f}")
    return 0
