"""Train then export: what ``microclimate train`` and the job service run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from desktop_app.training.config import load_config
from desktop_app.training.export import ExportResult, export_run
from desktop_app.training.trainer import LAST, RunResult, resume, start


def train_and_export(config: Path, out_dir: Path, **kwargs: Any
                     ) -> tuple[RunResult, ExportResult | None]:
    trainer = start(load_config(config), out_dir, **kwargs)
    return _finish(trainer.run(), trainer)


def resume_and_export(out_dir: Path, **kwargs: Any
                      ) -> tuple[RunResult, ExportResult | None]:
    trainer = resume(out_dir, **kwargs)
    return _finish(trainer.run(), trainer)


def _finish(result: RunResult, trainer: Any) -> tuple[RunResult, ExportResult | None]:
    if result.stopped == "cancelled" or trainer.rank != 0:
        return result, None
    return result, export_run(trainer)


def has_checkpoint(out_dir: Path) -> bool:
    return (Path(out_dir) / LAST).exists()
