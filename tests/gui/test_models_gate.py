"""The Models panel with a fine-tuned model: the gate refuses it with the numbers, the
force box installs it, the comparison is shown side by side, the runs behind it listed.

The fine-tuned model here is the bundled graph under a new version with a gate record
written by this test (its numbers are made up to drive the panel, they are no model's
scores); the run store is written by desktop_app.tracking as the trainer writes it."""

from __future__ import annotations

import json
import shutil

import pytest

from desktop_app.paths import bundled_models_dir
from desktop_app.tracking import Tracker

pytestmark = pytest.mark.gui
BUNDLED = sorted(p.stem for p in bundled_models_dir().glob("*.onnx")
                 if not p.name.endswith(".int8.onnx"))[-1]
NAME, VERSION = BUNDLED.rsplit("-", 1)
GATE = {"base": f"{NAME}@{VERSION}", "units": "degC", "passed": False, "n": 24,
        "where": "held-out test stations S3 on held-out test days: 2024-07-17",
        "rmse": {"finetuned": 1.5, "base": 1.25, "baseline": 1.3, "bilinear": 3.0},
        "mae": {"finetuned": 1.2, "base": 1.0, "baseline": 1.1, "bilinear": 2.9},
        "bias": {"finetuned": 0.5, "base": 0.1, "baseline": 0.2, "bilinear": -2.0}}


def test_gate_refusal_force_and_side_by_side(window, tmp_path, messages):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    tracker = Tracker.open(tmp_path / "mlruns", "microclimate-training", run_dir,
                           "finetune", {"finetune.trainable": "last_layers"},
                           {"microclimate.kind": "finetune"}, backend="files")
    tracker.log_metrics({"val_rmse": 0.75}, 2)
    tracker.status("FINISHED")
    for ext in ("onnx", "json"):
        shutil.copy(bundled_models_dir() / f"{BUNDLED}.{ext}", tmp_path / f"ft.{ext}")
    card = json.loads((tmp_path / "ft.json").read_text())
    card.update(version=f"{VERSION}-ft.1", onnx_file="ft.onnx",
                training_runs=[{**tracker.reference(), "kind": "finetune"}])
    card["metrics"]["gate"] = GATE
    (tmp_path / "ft.json").write_text(json.dumps(card))

    panel = window.models_panel
    assert not panel.install(tmp_path / "ft.onnx")
    assert "worse than its base" in messages[0] and "finetuned 1.5, base 1.25" in messages[0]
    assert panel.table.rowCount() == 1
    panel.force_box.setChecked(True)
    assert panel.install(tmp_path / "ft.onnx")
    row = [panel.table.item(r, 0).text() for r in range(2)].index(
        f"{NAME}@{VERSION}-ft.1")
    assert panel.table.item(row, 5).text() == f"FORCED vs {NAME}@{VERSION}"
    panel.table.selectRow(row)
    rmse = [panel.gate_table.item(r, 0).text() for r in range(4)]
    assert rmse == ["1.5000", "1.2500", "1.3000", "3.0000"]
    assert [panel.gate_table.verticalHeaderItem(r).text() for r in range(4)] == [
        "finetuned", "base", "baseline", "bilinear"]
    assert panel.runs_table.rowCount() == 1
    assert panel.runs_table.item(0, 0).text() == tracker.run_id[:12]
    assert panel.runs_table.item(0, 2).text() == "FINISHED"
    assert panel.runs_table.item(0, 4).text() == "0.7500"
