"""Fine-tuning an installed model: rebuilt from its ONNX, only the chosen parameters
trained, Ctrl-C and resume, the gate against the base, the tracked runs.

On the sample region: real terrain, GENERATED weather and stations (see
finetune_helpers): every number here tests the code, none is a model's skill.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the trainer needs torch (the [train] extra)")

from desktop_app.cli import main  # noqa: E402
from desktop_app.errors import GateError, TrainingError  # noqa: E402
from desktop_app.inference.registry import ModelRegistry  # noqa: E402
from desktop_app.tracking import list_runs  # noqa: E402
from desktop_app.training.config import load_config  # noqa: E402
from desktop_app.training.export import export_run  # noqa: E402
from desktop_app.training.finetune import finetune_config, load_base  # noqa: E402
from desktop_app.training.trainer import BEST, LAST, start  # noqa: E402
from tests.training.finetune_helpers import (  # noqa: E402
    REGION,
    write_base_config,
    write_finetune_config,
)


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict]:
    """(base ONNX, run store, base weights) of a tiny model trained on the sample region."""
    folder = tmp_path_factory.mktemp("base")
    track = folder / "mlruns"
    trainer = start(load_config(write_base_config(folder, track)), folder / "run")
    trainer.run()
    exported = export_run(trainer)
    weights = torch.load(folder / "run" / BEST, weights_only=True)
    return exported.onnx_path, track, weights


def _tune(base_onnx: Path, folder: Path, track: Path, **kw) -> tuple:
    cfg = finetune_config(load_config(write_finetune_config(folder, track, **kw)),
                          base_onnx, "tiny-base@1.0.0", REGION / "stations.nc")
    return cfg, start(cfg, folder / "run")


def test_rebuilt_model_is_the_graph(base) -> None:
    onnx_path, _, weights = base
    rebuilt = load_base(onnx_path)  # also checks PyTorch against onnxruntime
    assert rebuilt.architecture == {"kind": "residual_cnn", "channels": 4, "layers": 3,
                                    "activation": "gelu"}
    state = rebuilt.model.state_dict()
    assert all(torch.equal(state[k], weights[k]) for k, _ in rebuilt.model.named_parameters())


def test_bundled_models_rebuild_from_their_card_and_from_their_graph() -> None:
    """Each bundled model rebuilds from its card's record, and reading the record off its
    graph alone (as for cards written before the record was kept) gives the same."""
    import onnx

    from desktop_app.training.finetune import infer_architecture

    bundled = [e for e in ModelRegistry().entries() if e.origin == "bundled"]
    assert bundled
    for entry in bundled:
        rebuilt = load_base(entry.onnx_path)  # PyTorch against onnxruntime
        assert rebuilt.architecture == entry.card.raw["architecture"]
        assert infer_architecture(onnx.load(str(entry.onnx_path))) == rebuilt.architecture


def test_a_card_that_does_not_fit_the_graph_is_refused(base, tmp_path: Path) -> None:
    onnx_path = base[0]
    copy = tmp_path / onnx_path.name
    copy.write_bytes(onnx_path.read_bytes())
    card = json.loads(onnx_path.with_suffix(".json").read_text())
    card["architecture"]["channels"] = 5
    copy.with_suffix(".json").write_text(json.dumps(card))
    with pytest.raises(TrainingError, match="weight 'net.0.weight' is"):
        load_base(copy)


def _twin(base_onnx: Path, folder: Path, activation: str, record: str | None) -> Path:
    """The base's card on a network of the same shape with another ``activation`` (random
    weights), the card's architecture record saying ``record`` (None: no record, as in
    cards written before it was kept)."""
    import hashlib

    from desktop_app.inference.card import load_card
    from desktop_app.training.export import to_onnx
    from desktop_app.training.model import build_model

    card = json.loads(base_onnx.with_suffix(".json").read_text())
    parsed = load_card(base_onnx.with_suffix(".json"))
    names = [f.name for f in parsed.features]
    out = parsed.outputs[0]
    model = build_model({**card["architecture"], "activation": activation}, names,
                        [f.mean for f in parsed.features], [f.std for f in parsed.features],
                        out.mean, out.std, out.variable)
    torch.manual_seed(0)
    for p in model.net.parameters():
        torch.nn.init.normal_(p, std=0.3)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / base_onnx.name
    path.write_bytes(to_onnx(model, len(names), out.variable, 17, names,
                             "degC").SerializeToString())
    card["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    if record is None:
        del card["architecture"]
    else:
        card["architecture"]["activation"] = record
    path.with_suffix(".json").write_text(json.dumps(card))
    return path


@pytest.mark.parametrize("activation", ["relu", "silu"])
def test_a_base_rebuilds_with_its_activation_from_its_record_or_its_graph(
        base, tmp_path: Path, activation: str) -> None:
    for record in (activation, None):
        twin = _twin(base[0], tmp_path / str(record), activation, record)
        rebuilt = load_base(twin)  # PyTorch against onnxruntime: the activation must fit
        assert rebuilt.architecture["activation"] == activation
        assert type(rebuilt.model.net[1]).__name__.lower() == activation
        cfg = finetune_config(load_config(write_finetune_config(tmp_path / "cfg", base[1])),
                              twin, "tiny-base@1.0.0", REGION / "stations.nc")
        assert cfg.model.activation == activation  # the network fine-tuned is the base's
    # a record that names the wrong non-linearity is caught by the parity check
    wrong = _twin(base[0], tmp_path / "wrong", activation, "gelu")
    with pytest.raises(TrainingError, match="differs from its ONNX graph"):
        load_base(wrong)


@pytest.mark.parametrize("trainable", ["last_layers", "biases"])
def test_only_the_chosen_parameters_change(base, tmp_path: Path, trainable: str) -> None:
    onnx_path, track, weights = base
    _, trainer = _tune(onnx_path, tmp_path, track, steps=4, trainable=trainable)
    expected = (["net.4.weight", "net.4.bias"] if trainable == "last_layers"
                else ["net.0.bias", "net.2.bias", "net.4.bias"])
    assert trainer.trainable == expected
    trainer.run()
    after = trainer.model.state_dict()
    for name, _ in trainer.model.named_parameters():
        same = torch.equal(after[name], weights[name])
        assert same is (name not in expected), name
    trained = sum(weights[n].numel() for n in expected)
    total = sum(w.numel() for k, w in weights.items() if k.startswith("net."))
    assert trained < total / 4


class _StopAfter:
    """Cancel token: set once the trainer has done ``n`` steps (what Ctrl-C sets)."""

    def __init__(self, n: int) -> None:
        self.n, self.trainer = n, None

    def is_set(self) -> bool:
        return self.trainer is not None and self.trainer.step >= self.n


def test_cancel_checkpoints_and_resume_continues_exactly(base, tmp_path: Path,
                                                         capsys) -> None:
    onnx_path, track, _ = base
    token = _StopAfter(3)
    cfg, interrupted = _tune(onnx_path, tmp_path / "a", track, steps=6, checkpoint_every=100)
    interrupted.cancel = token
    token.trainer = interrupted
    assert interrupted.run().stopped == "cancelled"
    out = tmp_path / "a" / "run"
    assert torch.load(out / LAST, weights_only=True)["step"] == 3
    run_id = json.loads((out / "tracking.json").read_text())["run_id"]
    assert {r.run_id: r.status for r in list_runs(track)}[run_id] == "KILLED"
    capsys.readouterr()
    assert main(["train", "resume", str(out)]) == 0
    assert "finished at step 6" in capsys.readouterr().out
    _, straight = _tune(onnx_path, tmp_path / "b", track, steps=6, checkpoint_every=100)
    straight.run()
    resumed = torch.load(out / LAST, weights_only=True)["model"]
    assert all(torch.equal(resumed[k], v) for k, v in straight.model.state_dict().items())
    record = {r.run_id: r for r in list_runs(track)}[run_id]  # the same run, finished
    assert record.status == "FINISHED" and record.tags["microclimate.kind"] == "finetune"


def test_gate_refuses_a_deliberately_worse_model(base, tmp_path: Path, capsys) -> None:
    onnx_path, track, _ = base
    cfg, trainer = _tune(onnx_path, tmp_path, track, steps=2)
    trainer.run()
    with torch.no_grad():  # a +3 degC error everywhere: the last layer's bias is the offset
        trainer.model.net[-1].bias += 3.0
    torch.save(trainer.model.state_dict(), trainer.out_dir / BEST)
    exported = export_run(trainer)
    gate = exported.metrics["gate"]
    assert gate["passed"] is False and gate["base"] == "tiny-base@1.0.0"
    assert gate["rmse"]["finetuned"] > gate["rmse"]["base"] + 2.0
    assert gate["n"] > 0 and "GENERATED" in gate["note"]
    assert set(gate["rmse"]) == {"finetuned", "base", "baseline", "bilinear"}
    registry = ModelRegistry()
    with pytest.raises(GateError, match="worse than its base tiny-base@1.0.0"):
        registry.install(exported.onnx_path)
    assert main(["models", "install", str(exported.onnx_path)]) == 1
    err = capsys.readouterr().err
    assert f"finetuned {gate['rmse']['finetuned']}" in err and "--force" in err
    assert not any(e.spec == f"tiny-base@{cfg.export.version}" for e in registry.entries())
    assert main(["models", "install", str(exported.onnx_path), "--force"]) == 0
    installed = registry.find(f"tiny-base@{cfg.export.version}")
    assert installed.card.metrics["gate"]["forced"] is True


def test_runs_are_tracked_and_named_in_the_card(base, tmp_path: Path) -> None:
    onnx_path, track, _ = base
    from desktop_app.training.run import finetune_and_export

    cfg = finetune_config(load_config(write_finetune_config(tmp_path, track, steps=4)),
                          onnx_path, "tiny-base@1.0.0", REGION / "stations.nc")
    _, exported = finetune_and_export(cfg, tmp_path / "run")
    card = json.loads(exported.card_path.read_text())
    kinds = [r["kind"] for r in card["training_runs"]]
    assert kinds == ["train", "finetune"]  # the base's run, then this one
    runs = {r.run_id: r for r in list_runs(track)}
    mine = runs[card["training_runs"][-1]["run_id"]]
    assert mine.params["finetune.trainable"] == "last_layers"
    assert int(mine.params["parameters.trained"]) < int(mine.params["parameters.total"])
    assert mine.tags["microclimate.base"] == "tiny-base@1.0.0"
    history = (mine.folder / "metrics" / "val_rmse").read_text().splitlines()
    assert [int(line.split()[2]) for line in history] == [2, 4]  # every evaluation
    assert np.isfinite(mine.metrics["val_rmse"])
    assert card["training_runs"][0]["run_id"] in runs  # the base's run is in the store
    artifacts = sorted(p.name for p in (mine.folder / "artifacts" / "model").iterdir())
    assert artifacts == [exported.card_path.name, exported.onnx_path.name]
    assert mine.status == "FINISHED"
    assert mine.tags["microclimate.model"] == f"tiny-base@{cfg.export.version}"


def test_ctrl_c_during_finetune_then_resume(base, tmp_path: Path, capsys) -> None:
    """SIGINT to a real `microclimate train finetune` process: the step in progress ends,
    its checkpoint is written, exit 130; `train resume` continues that run."""
    import os
    import signal
    import subprocess
    import sys
    import time

    onnx_path, track, _ = base
    assert main(["models", "install", str(onnx_path)]) == 0
    config = write_finetune_config(tmp_path, track, steps=100_000, checkpoint_every=100_000)
    config.write_text(config.read_text().replace("eval_every = 2", "eval_every = 1"))
    out = tmp_path / "run"
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen(
        [sys.executable, "-m", "desktop_app", "train", "finetune", "--base", "tiny-base",
         "--stations", str(REGION / "stations.nc"), "--config", str(config), "--out",
         str(out)], cwd=root, env={**os.environ, "PYTHONPATH": str(root)},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                if json.loads((out / "progress.json").read_text())["step"] >= 2:
                    break
            except (OSError, ValueError):
                pass
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, stderr[-2000:]
    k = int(torch.load(out / LAST, weights_only=True)["step"])
    assert k >= 2 and f"resume with: microclimate train resume {out}" in stdout
    saved = json.loads((out / "config.json").read_text())
    assert saved["finetune"]["base_spec"] == "tiny-base@1.0.0"
    saved["train"]["steps"] = k + 1
    (out / "config.json").write_text(json.dumps(saved))
    capsys.readouterr()
    assert main(["train", "resume", str(out)]) == 0
    assert f"finished at step {k + 1}" in capsys.readouterr().out
    assert (out / "model").is_dir()


def test_tuned_training_domain_is_the_union_with_the_base() -> None:
    from desktop_app.training.export import merge_domains

    base = {"quantiles": [0.001, 0.999], "inputs": {"elevation": [0.0, 900.0]},
            "elevation_m": [0.0, 900.0], "spacing_ratio": [4.0, 4.0], "months": [3],
            "latitude": [50.0, 58.0]}
    tuned = {"quantiles": [0.001, 0.999], "inputs": {"elevation": [500.0, 2300.0]},
             "elevation_m": [480.0, 2350.0], "spacing_ratio": [160.0, 160.0],
             "months": [7], "latitude": [34.2, 34.4]}
    merged = merge_domains(base, tuned)
    assert merged["inputs"] == {"elevation": [0.0, 2300.0]}
    assert merged["elevation_m"] == [0.0, 2350.0] and merged["months"] == [3, 7]
    assert merged["spacing_ratio"] == [4.0, 160.0] and merged["latitude"] == [34.2, 58.0]
