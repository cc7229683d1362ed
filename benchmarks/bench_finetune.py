"""Fine-tuning cost: time per 1,000 station-hours and parameters trained vs total, side by
side with a full training of the same model (the reference a user would otherwise run).

    python benchmarks/bench_finetune.py [--steps 6] [--repeats 3] [--threads 2]

The base is the first trained bundled model (its ONNX rebuilt in PyTorch from its card,
as ``microclimate train finetune`` does); fine-tuning trains its last layer only. The
reference trains every parameter of the same architecture from scratch, with the same
data, batch size and steps. Data: the bundled sample region (REAL 150 m terrain,
111x257 cells; its weather and six station series are GENERATED: fine for timing only),
QC-passed observations of the training stations as targets. A station-hour is one
QC-passed observation at a training station in a batch (what the station loss sees).
Times are the training steps only (the batch, forward, loss, backward, AdamW), best of
interleaved repeats (the machine may be shared); they never pass/fail anything.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from desktop_app.inference.registry import ModelRegistry  # noqa: E402
from desktop_app.training.config import parse_config  # noqa: E402
from desktop_app.training.finetune import finetune_config  # noqa: E402
from desktop_app.training.trainer import Trainer  # noqa: E402

REGION = ROOT / "resources" / "sample_region"


def config(steps: int, threads: int) -> dict:
    return {"data": {"coarse": str(REGION / "coarse.nc"), "fine": str(REGION / "terrain.nc"),
                     "stations": str(REGION / "stations.nc"), "val_days": ["2024-07-16"],
                     "test_days": ["2024-07-17"]},
            "train": {"steps": steps, "batch_size": 4, "threads": threads, "device": "cpu",
                      "eval_every": 10_000, "checkpoint_every": 10_000},
            "track": {"enabled": False}}


def station_hours(trainer: Trainer, steps: range) -> int:
    total = 0
    for step in steps:
        st_obs = trainer.batch(step)[3]
        assert st_obs is not None
        total += int(torch.isfinite(st_obs).sum())
    return total


def timed(trainer: Trainer, steps: int) -> float:
    start = time.perf_counter()
    for _ in range(steps):
        trainer.train_step()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    base = next(e for e in ModelRegistry().entries()
                if e.origin == "bundled" and e.card.trained)
    tmp = Path(tempfile.mkdtemp())
    tune_cfg = finetune_config(parse_config(config(args.steps, args.threads)),
                               base.onnx_path, base.spec, None)
    full_cfg = parse_config({**config(args.steps, args.threads),
                             "model": {"channels": tune_cfg.model.channels,
                                       "layers": tune_cfg.model.layers}})
    full_cfg.data.features = list(tune_cfg.data.features)
    tune = Trainer(tune_cfg, tmp / "tune")
    full = Trainer(full_cfg, tmp / "full", data=tune.data)
    results: dict[str, list[float]] = {"tune": [], "full": []}
    hours: dict[str, int] = {}
    for _ in range(args.repeats):  # interleaved: both see the same machine load
        for name, trainer in (("tune", tune), ("full", full)):
            first = trainer.step
            results[name].append(timed(trainer, args.steps))
            hours[name] = station_hours(trainer, range(first, first + args.steps))
    print(f"torch {torch.__version__}, CPU threads {torch.get_num_threads()}; base "
          f"{base.spec} ({tune_cfg.model.layers} layers, {tune_cfg.model.channels} "
          f"channels); sample region 111x257, batch {tune_cfg.train.batch_size} pairs, "
          f"{args.steps} steps x best of {args.repeats}")
    per_k = {}
    for name, trainer in (("tune", tune), ("full", full)):
        params = list(trainer.model.parameters())
        trained = sum(p.numel() for p in params if p.requires_grad)
        total = sum(p.numel() for p in params)
        best = min(results[name])
        per_k[name] = best / hours[name] * 1000
        label = ("fine-tune (last layer)" if name == "tune"
                 else "full training (reference)")
        print(f"{label:26s}: {per_k[name]:7.2f} s per 1,000 station-hours "
              f"({hours[name]} station-hours in {best:.2f} s); parameters trained "
              f"{trained} of {total} ({100 * trained / total:.2f} %)")
    print(f"fine-tune / full training time per station-hour: "
          f"{per_k['tune'] / per_k['full']:.2f}")
    assert np.isfinite(per_k["tune"])


if __name__ == "__main__":
    main()
