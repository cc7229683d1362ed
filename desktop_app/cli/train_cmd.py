"""``microclimate train``: train a downscaling model and export it (needs [train]).

    microclimate train --config FILE --out DIR
    microclimate train resume DIR
    microclimate train finetune --base NAME[@VERSION] --stations FILE --out DIR
        (--config FILE | --coarse FILE --terrain FILE)

Ctrl-C (SIGINT) stops a run after the step in progress: the checkpoint of that last
completed step is written (atomically), the command says where it is and how to resume,
and exits 130; ``train resume DIR`` continues from exactly that step. A second Ctrl-C
aborts at once (the previous checkpoint stays as it was). A finished run ends with
``DIR/model/NAME-VERSION.onnx`` and its card, ready for ``microclimate models install``.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from desktop_app.cli._common import EXIT_INTERRUPTED, interruptible, training_extra
from desktop_app.errors import ConfigError

TRAIN_STOPPING = ("interrupted: saving a checkpoint after the current step (Ctrl-C again to "
                  "abort without saving)")


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "train", help="train a downscaling model and export ONNX + card (needs [train])",
        description="microclimate train --config FILE --out DIR | microclimate train "
                    "resume DIR")
    parser.add_argument("--config", type=Path, help="training config (TOML or JSON)")
    parser.add_argument("--out", type=Path, help="run folder (checkpoints, logs, model)")
    parser.add_argument("resume", nargs="*", metavar="resume DIR | finetune",
                        help="'resume DIR': continue the run in DIR from its last "
                             "checkpoint; 'finetune': tune part of an installed model")
    tune = parser.add_argument_group("finetune")
    tune.add_argument("--base", metavar="NAME[@VERSION]",
                      help="the installed model to start from")
    tune.add_argument("--stations", type=Path,
                      help="station targets (e.g. 'microclimate watch export pairs.nc')")
    tune.add_argument("--coarse", type=Path,
                      help="coarse fields over the stations (instead of --config)")
    tune.add_argument("--terrain", type=Path,
                      help="fine terrain over the stations (instead of --config)")
    parser.set_defaults(func=run)


FINETUNE_DEFAULTS = {"steps": 200, "eval_every": 20, "checkpoint_every": 20, "lr": 1e-3}


def _finetune_config(args: argparse.Namespace) -> Any:
    """The fine-tuning config: --config (its [finetune] section says what trains) or
    --coarse/--terrain with defaults; the base's card fixes features and architecture."""
    from desktop_app.inference.registry import ModelRegistry

    with training_extra():
        import desktop_app.training.config as config
        import desktop_app.training.finetune as finetune
    if args.base is None or args.out is None:
        raise ConfigError("usage: microclimate train finetune --base NAME[@VERSION] "
                          "--stations FILE --out DIR (--config FILE | --coarse FILE "
                          "--terrain FILE)")
    if args.config is not None:
        cfg = config.load_config(args.config)
        if args.coarse or args.terrain:
            raise ConfigError("give the data in --config or as --coarse/--terrain, not both")
    elif args.coarse and args.terrain:
        cfg = config.parse_config({"data": {"coarse": str(args.coarse.resolve()),
                                            "fine": str(args.terrain.resolve())},
                                   "train": dict(FINETUNE_DEFAULTS)})
    else:
        raise ConfigError("microclimate train finetune needs --config FILE, or --coarse "
                          "FILE and --terrain FILE (the fields over the stations)")
    entry = ModelRegistry().find(args.base)
    return finetune.finetune_config(cfg, entry.onnx_path, entry.spec, args.stations)


def run(args: argparse.Namespace) -> int:
    words = list(args.resume)
    tune_flags = [f"--{k}" for k in ("base", "stations", "coarse", "terrain")
                  if getattr(args, k) is not None]
    if tune_flags and words != ["finetune"]:
        raise ConfigError(f"{', '.join(tune_flags)} go with 'microclimate train finetune'")
    if words == ["finetune"]:
        cfg = _finetune_config(args)
        with training_extra():
            import desktop_app.training.run as runner
        with interruptible(TRAIN_STOPPING) as interrupt:
            result, exported = runner.finetune_and_export(cfg, args.out, cancel=interrupt)
    elif words:
        if len(words) != 2 or words[0] != "resume" or args.config or args.out:
            raise ConfigError("usage: microclimate train resume DIR "
                              "(or: microclimate train --config FILE --out DIR)")
        with training_extra():
            import desktop_app.training.run as runner
        with interruptible(TRAIN_STOPPING) as interrupt:
            result, exported = runner.resume_and_export(Path(words[1]), cancel=interrupt)
    else:
        if args.config is None or args.out is None:
            raise ConfigError("microclimate train needs --config FILE and --out DIR "
                              "(or: microclimate train resume DIR)")
        with training_extra():
            import desktop_app.training.run as runner
        with interruptible(TRAIN_STOPPING) as interrupt:
            result, exported = runner.train_and_export(args.config, args.out,
                                                       cancel=interrupt)
    interrupted = interrupt.is_set() and result.stopped == "cancelled"
    if os.environ.get("RANK", "0") != "0":
        return EXIT_INTERRUPTED if interrupted else 0  # only rank 0 reports (and exports)
    if interrupted:
        return _report_interrupted(result)
    print(f"{result.stopped} at step {result.step}; best validation RMSE "
          f"{result.best_val_rmse:.4f} at step {result.best_step}")
    if exported is None:
        print(f"not exported; resume with: microclimate train resume {result.out_dir}")
        return 0
    print(f"exported {exported.onnx_path} (card {exported.card_path.name}); ONNX parity "
          f"max abs error {exported.parity_max_abs:.3g}")
    for row in exported.metrics.get("rows", []):
        print(f"  {row['forecast']:9s} RMSE {row['rmse']:.4f} MAE {row['mae']:.4f} "
              f"({exported.metrics['holdout'].split(':')[0]})")
    _print_station_metrics(exported.metrics.get("stations"))
    _print_gate(exported.metrics.get("gate"))
    return 0


def _print_gate(gate: dict[str, Any] | None) -> None:
    if not gate:
        return
    print(f"  gate against the base {gate['base']}: "
          f"{'PASSED' if gate.get('passed') else 'REFUSED'} ({gate.get('reason', '')})")
    for label, value in (gate.get("rmse") or {}).items():
        print(f"  {label:9s} RMSE {value} {gate.get('units', '')}")
    if gate.get("note"):
        print(f"  note: {gate['note']}")


def _report_interrupted(result: Any) -> int:
    checkpoint = Path(result.out_dir) / "last.pt"
    print(f"interrupted at step {result.step}: checkpoint of that step saved in "
          f"{checkpoint}")
    print(f"resume with: microclimate train resume {result.out_dir}")
    return EXIT_INTERRUPTED


def _print_station_metrics(block: dict[str, Any] | None) -> None:
    if not block:
        return
    if "rows" not in block:
        print(f"  stations: {block['holdout']}")
        return
    print(f"  at {block['holdout'].split(' on ')[0]}:")
    for row in block.get("rows", []):
        if row.get("n"):
            print(f"  {row['forecast']:9s} RMSE {row['rmse']:.4f} MAE {row['mae']:.4f} "
                  f"(n={row['n']})")
    if block.get("note"):
        print(f"  note: {block['note']}")
