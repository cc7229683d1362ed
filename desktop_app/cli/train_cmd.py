"""``microclimate train``: train a downscaling model and export it (needs [train]).

    microclimate train --config FILE --out DIR
    microclimate train resume DIR

A run can be stopped (Ctrl-C) and resumed from its last checkpoint; it ends with
``DIR/model/NAME-VERSION.onnx`` and its card, ready for ``microclimate models install``.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from desktop_app.cli._common import import_training
from desktop_app.errors import ConfigError


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "train", help="train a downscaling model and export ONNX + card (needs [train])",
        description="microclimate train --config FILE --out DIR | microclimate train "
                    "resume DIR")
    parser.add_argument("--config", type=Path, help="training config (TOML or JSON)")
    parser.add_argument("--out", type=Path, help="run folder (checkpoints, logs, model)")
    parser.add_argument("resume", nargs="*", metavar="resume DIR",
                        help="continue the run in DIR from its last checkpoint")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    words = list(args.resume)
    if words:
        if len(words) != 2 or words[0] != "resume" or args.config or args.out:
            raise ConfigError("usage: microclimate train resume DIR "
                              "(or: microclimate train --config FILE --out DIR)")
        runner = import_training("run")
        result, exported = runner.resume_and_export(Path(words[1]))
    else:
        if args.config is None or args.out is None:
            raise ConfigError("microclimate train needs --config FILE and --out DIR "
                              "(or: microclimate train resume DIR)")
        runner = import_training("run")
        result, exported = runner.train_and_export(args.config, args.out)
    if os.environ.get("RANK", "0") != "0":
        return 0  # under torchrun only rank 0 reports (and exports)
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
    return 0
