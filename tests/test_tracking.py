"""The run store: written as plain files without MLflow, read back by MLflow's client."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from desktop_app.tracking import Tracker, flatten, list_runs, runs_for


def _record(root: Path, run_dir: Path) -> Tracker:
    tracker = Tracker.open(root, "microclimate-training", run_dir, "train tiny@1",
                           flatten({"train": {"lr": 0.01, "steps": 4}, "data": {"x": "a"}}),
                           {"microclimate.kind": "train"}, backend="files")
    tracker.log_metrics({"step": 2, "loss": 0.5, "val_rmse": 1.25, "val_station_rmse": None},
                        2)
    tracker.log_metrics({"step": 4, "loss": 0.25, "val_rmse": 1.0,
                         "val_station_rmse": float("nan")}, 4)
    artifact = run_dir / "tiny-1.onnx"
    artifact.write_bytes(b"onnx bytes")
    tracker.artifact(artifact)
    tracker.status("FINISHED")
    return tracker


def test_plain_file_record_is_read_back(tmp_path: Path) -> None:
    root, run_dir = tmp_path / "mlruns", tmp_path / "run"
    run_dir.mkdir()
    tracker = _record(root, run_dir)
    [run] = list_runs(root)
    assert run.run_id == tracker.run_id and run.status == "FINISHED"
    assert run.params == {"train.lr": "0.01", "train.steps": "4", "data.x": "a"}
    assert run.metrics == {"loss": 0.25, "val_rmse": 1.0}  # unscored (None/NaN) left out
    assert (run.folder / "artifacts" / "model" / "tiny-1.onnx").read_bytes() == b"onnx bytes"
    assert run.tags["mlflow.runName"] == "train tiny@1"
    # a resumed run folder reopens the same run
    again = Tracker.open(root, "microclimate-training", run_dir, "x", {}, {}, backend="files")
    assert again.run_id == tracker.run_id
    assert list_runs(root)[0].status == "RUNNING"
    card = {"training_runs": [tracker.reference()]}
    assert [r.run_id for r in runs_for(card)] == [tracker.run_id]


def test_mlflow_reads_the_plain_file_record(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("mlflow", reason="the [track] extra (mlflow-skinny)")
    from mlflow.tracking import MlflowClient

    root, run_dir = tmp_path / "mlruns", tmp_path / "run"
    run_dir.mkdir()
    tracker = _record(root, run_dir)
    monkeypatch.setitem(os.environ, "MLFLOW_ALLOW_FILE_STORE", "true")
    client = MlflowClient(tracking_uri=root.resolve().as_uri())
    experiment = client.get_experiment_by_name("microclimate-training")
    assert experiment is not None and experiment.experiment_id == tracker.experiment_id
    [run] = client.search_runs([tracker.experiment_id])
    assert run.info.run_id == tracker.run_id and run.info.status == "FINISHED"
    assert run.data.params["train.lr"] == "0.01"
    history = client.get_metric_history(tracker.run_id, "val_rmse")
    assert [(m.step, m.value) for m in history] == [(2, 1.25), (4, 1.0)]
    assert [a.path for a in client.list_artifacts(tracker.run_id, "model")] == [
        "model/tiny-1.onnx"]
