"""Train then export: what ``microclimate train`` and the job service run."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

from desktop_app.errors import TrainingError
from desktop_app.fsutil import folder_lock
from desktop_app.training.config import Config, load_config
from desktop_app.training.export import ExportResult, export_run
from desktop_app.training.trainer import RunResult, resume, start


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
    tracker = trainer.tracker
    try:
        exported = export_run(trainer)
    except BaseException:
        if tracker is not None:
            tracker.status("FAILED")
        raise
    if tracker is not None:
        tracker.artifact(exported.onnx_path)
        tracker.artifact(exported.card_path)
        card = json.loads(exported.card_path.read_text(encoding="utf-8"))
        tracker.tag("microclimate.model", f"{card['name']}@{card['version']}")
        gate = exported.metrics.get("gate")
        if isinstance(gate, dict):
            tracker.tag("microclimate.gate", "passed" if gate.get("passed") else "refused")
            for label, value in (gate.get("rmse") or {}).items():
                if value is not None:
                    tracker.log_metrics({f"gate_rmse_{label}": value}, result.step)
        tracker.status("FINISHED")
    return result, exported


def finetune_and_export(config: Config, out_dir: Path, **kwargs: Any
                        ) -> tuple[RunResult, ExportResult | None]:
    """A fine-tuning run (``config.finetune.base`` set, see :mod:`.finetune`)."""
    with _held(out_dir):
        trainer = start(config, out_dir, **kwargs)
        return _finish(trainer.run(), trainer)

