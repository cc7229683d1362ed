"""Train a few steps on tiny GENERATED data, resume exactly, bad input (needs torch)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

torch = pytest.importorskip("torch", reason="the trainer needs torch (the [train] extra)")

from desktop_app.errors import TrainingError  # noqa: E402
from desktop_app.training import trainer as trainer_mod  # noqa: E402
from desktop_app.training.config import load_config  # noqa: E402
from desktop_app.training.trainer import LAST, resume, start  # noqa: E402

from .conftest import write_config  # noqa: E402


def _params(t: trainer_mod.Trainer) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in t.model.state_dict().items()}


def test_trains_logs_and_checkpoints(tiny_config: Path, tmp_path: Path) -> None:
    t = start(load_config(tiny_config), tmp_path / "run")
    result = t.run()
    assert result.step == 6 and result.stopped == "finished"
    run = tmp_path / "run"
    assert {p.name for p in run.iterdir()} >= {"config.json", LAST, "best.pt", "metrics.csv",
                                              "metrics.jsonl", "progress.json"}
    rows = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [2, 4, 6]
    assert all(np.isfinite(r["loss"]) for r in rows)
    progress = json.loads((run / "progress.json").read_text())
    assert progress["state"] == "finished" and progress["step"] == 6
    # the data split is by whole day: no validation or test day in training
    assert set(t.data.train.days).isdisjoint(t.data.val.days + t.data.test.days)


def test_untrained_model_is_the_baseline(tiny_config: Path, tmp_path: Path) -> None:
    t = start(load_config(tiny_config), tmp_path / "run")
    x = torch.from_numpy(t.data.val.x[:2])
    assert torch.equal(t.model.physical(x), t.model.baseline(x))


def test_resume_gives_the_identical_next_step(tmp_path: Path) -> None:
    cfg_path = write_config(tmp_path / "data", steps=4, checkpoint_every=3)
    straight = start(load_config(cfg_path), tmp_path / "a")
    straight.run()  # 4 steps; checkpoint at 3 and 4
    # interrupted run: only up to the step-3 checkpoint, then resumed for step 4
    cfg = load_config(cfg_path)
    cfg.train.steps = 3
    start(cfg, tmp_path / "b").run()
    saved = json.loads((tmp_path / "b" / "config.json").read_text())
    saved["train"]["steps"] = 4
    (tmp_path / "b" / "config.json").write_text(json.dumps(saved))
    resumed = resume(tmp_path / "b")
    assert resumed.step == 3
    resumed.run()
    a, b = _params(straight), _params(resumed)
    assert all(torch.equal(a[k], b[k]) for k in a)
    rows = (tmp_path / "b" / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(r)["step"] for r in rows] == [2, 3, 4]


def test_start_refuses_an_existing_run(tiny_config: Path, tmp_path: Path) -> None:
    start(load_config(tiny_config), tmp_path / "run").run()
    with pytest.raises(TrainingError, match="train resume"):
        start(load_config(tiny_config), tmp_path / "run")


def test_empty_dataset_is_a_clear_error(tmp_path: Path) -> None:
    cfg_path = write_config(tmp_path / "data")
    with xr.open_dataset(tmp_path / "data" / "fine.nc") as ds:
        fine = ds.load()
    fine["temperature"][:] = np.nan  # no step has a complete target
    fine.to_netcdf(tmp_path / "data" / "fine.nc")
    with pytest.raises(TrainingError, match="empty dataset"):
        start(load_config(cfg_path), tmp_path / "run")


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path: Path,
                                                           monkeypatch) -> None:
    cfg_path = write_config(tmp_path / "data", steps=6, checkpoint_every=2)
    t = start(load_config(cfg_path), tmp_path / "run")
    real_batch = t.batch

    def poisoned(step: int):  # the 4th step's inputs are NaN
        x, y, c, s = real_batch(step)
        return (x * float("nan"), y, c, s) if step == 3 else (x, y, c, s)

    monkeypatch.setattr(t, "batch", poisoned)
    with pytest.raises(TrainingError, match=r"NaN/inf at step 4.*last good checkpoint"):
        t.run()
    state = torch.load(tmp_path / "run" / LAST, weights_only=True)
    assert state["step"] == 2
    assert all(torch.isfinite(v).all() for v in state["model"].values())


def test_disk_full_during_checkpoint_keeps_the_old_one(tmp_path: Path,
                                                       monkeypatch) -> None:
    cfg_path = write_config(tmp_path / "data", steps=6, checkpoint_every=2)
    t = start(load_config(cfg_path), tmp_path / "run")
    real_save = torch.save
    calls = {"n": 0}

    def failing_save(obj, path, *a, **k):  # half a file, then "disk full"
        if isinstance(obj, dict) and "optimizer" in obj and obj["step"] == 4:
            Path(path).write_bytes(b"partial")
            raise OSError(28, "No space left on device")
        calls["n"] += 1
        return real_save(obj, path, *a, **k)

    monkeypatch.setattr(trainer_mod.torch, "save", failing_save)
    with pytest.raises(TrainingError,
                       match="(?i)no space left on device writing .*last.pt; the previous "
                             "file is kept"):
        t.run()
    state = torch.load(tmp_path / "run" / LAST, weights_only=True)
    assert state["step"] == 2
    assert not list((tmp_path / "run").glob("*.part"))
