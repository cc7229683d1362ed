"""Train then export: what ``microclimate train`` and the job service run."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

from desktop_app.errors import TrainingError
from desktop_app.fsutil import folder_lock
from desktop_app.training.config import load_config
from desktop_app.training.export import ExportResult, export_run
from desktop_app.training.trainer import LAST, RunResult, resume, start


def _held(out_dir: Path) -> contextlib.AbstractContextManager[None]:
    """Two runs never write into one run folder (a second ``train`` with the same
    ``--out``, a job a restarted service started again). Only rank 0 holds it: the other
    ranks of a multi-process run share the folder on purpose."""
    if os.environ.get("RANK", "0") != "0":
        return contextlib.nullcontext()
    return folder_lock(out_dir, "the run folder", TrainingError)


def train_and_export(config: Path, out_dir: Path, **kwargs: Any
                     ) -> tuple[RunResult, ExportResult | None]:
    cfg = load_config(config)
    with _held(out_dir):
        trainer = start(cfg, out_dir, **kwargs)
        return _finish(trainer.run(), trainer)


def resume_and_export(out_dir: Path, **kwargs: Any
                      ) -> tuple[RunResult, ExportResult | None]:
    with _held(out_dir) if Path(out_dir).is_dir() else contextlib.nullcontext():
        trainer = resume(out_dir, **kwargs)
        return _finish(trainer.run(), trainer)


def _finish(result: RunResult, trainer: Any) -> tuple[RunResult, ExportResult | None]:
    if result.stopped == "cancelled" or trainer.rank != 0:
        return result, None
    return result, export_run(trainer)


def has_checkpoint(out_dir: Path) -> bool:
    return (Path(out_dir) / LAST).exists()
