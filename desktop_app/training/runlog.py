"""The tracked record of a training run (see :mod:`desktop_app.tracking`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from desktop_app.tracking import Tracker, default_root, flatten


def open_tracker(trainer: Any) -> Tracker:
    """A run in the store for ``trainer`` (a :class:`~.trainer.Trainer`): the resolved
    config as parameters, trained vs total parameter counts, kind and base as tags."""
    cfg = trainer.cfg
    params = list(trainer.model.parameters())
    trained = sum(p.numel() for p in params if p.requires_grad)
    kind = "finetune" if trainer.base is not None else "train"
    tags = {"microclimate.kind": kind,
            "microclimate.run_dir": str(Path(trainer.out_dir).resolve())}
    if trainer.base is not None:
        tags["microclimate.base"] = cfg.finetune.base_spec or trainer.base.card.spec
    values = {**flatten(cfg.to_dict()), "parameters.trained": str(trained),
              "parameters.total": str(sum(p.numel() for p in params))}
    root = Path(cfg.track.uri) if cfg.track.uri else default_root()
    return Tracker.open(root, cfg.track.experiment, Path(trainer.out_dir),
                        f"{kind} {cfg.export.name}@{cfg.export.version}", values, tags)
