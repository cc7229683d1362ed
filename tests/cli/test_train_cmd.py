"""``microclimate train`` and ``microclimate trainer``: usage, missing torch, a run."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from desktop_app.cli import main


def _hide_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    """As if the [train] extra were not installed."""
    monkeypatch.setitem(sys.modules, "torch", None)
    for name in list(sys.modules):
        if name.startswith("desktop_app.training."):
            monkeypatch.delitem(sys.modules, name)


def test_train_without_torch_names_the_extra(tmp_path: Path, monkeypatch, capsys) -> None:
    _hide_torch(monkeypatch)
    cfg = tmp_path / "t.toml"
    cfg.write_text("")
    assert main(["train", "--config", str(cfg), "--out", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err
    assert "[train]" in err and "torch" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_trainer_serve_without_torch_names_the_extra(tmp_path: Path, monkeypatch,
                                                     capsys) -> None:
    _hide_torch(monkeypatch)
    assert main(["trainer", "serve", "--state-dir", str(tmp_path)]) == 1
    assert "[train]" in capsys.readouterr().err


def test_train_usage_errors(capsys) -> None:
    assert main(["train"]) == 1
    assert "--config FILE and --out DIR" in capsys.readouterr().err
    assert main(["train", "resume"]) == 1
    assert "usage: microclimate train resume DIR" in capsys.readouterr().err


def test_train_wrong_config_key(tmp_path: Path, capsys) -> None:
    pytest.importorskip("torch", reason="the trainer needs torch (the [train] extra)")
    cfg = tmp_path / "t.toml"
    cfg.write_text('[data]\ncoarse = "c.nc"\nfine = "f.nc"\n[train]\nlearning_rate = 1.0\n')
    assert main(["train", "--config", str(cfg), "--out", str(tmp_path / "o")]) == 1
    assert "unknown config key 'train.learning_rate'" in capsys.readouterr().err


def test_train_then_resume_cli(tmp_path: Path, capsys) -> None:
    pytest.importorskip("torch", reason="the trainer needs torch (the [train] extra)")
    from tests.training.conftest import write_config

    cfg = write_config(tmp_path / "data", steps=4, checkpoint_every=2)
    out = tmp_path / "run"
    assert main(["train", "--config", str(cfg), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "finished at step 4" in text and "parity max abs error" in text
    assert (out / "model" / "tiny-test-0.0.1.onnx").exists()
    assert main(["train", "resume", str(out)]) == 0  # already finished: exports again
    assert "finished at step 4" in capsys.readouterr().out


@pytest.mark.slow
def test_torchrun_two_cpu_processes(tmp_path: Path) -> None:
    """DistributedDataParallel with the gloo backend: 2 processes on the CPU."""
    pytest.importorskip("torch", reason="the trainer needs torch (the [train] extra)")
    import subprocess

    from tests.training.conftest import write_config

    cfg = write_config(tmp_path / "data", steps=2, checkpoint_every=2)
    out = tmp_path / "run"
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2",
         "-m", "desktop_app", "train", "--config", str(cfg), "--out", str(out)],
        capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "x2 processes" in proc.stdout
    assert proc.stdout.count("exported ") == 1  # rank 0 only
    assert (out / "model" / "tiny-test-0.0.1.onnx").exists()


def test_trainer_serve_cli_on_loopback(tmp_path: Path) -> None:
    """The real command: binds 127.0.0.1, creates a private token, guards /jobs."""
    pytest.importorskip("torch", reason="the trainer needs torch (the [train] extra)")
    pytest.importorskip("uvicorn", reason="the service needs the [train] extra")
    import socket
    import stat
    import subprocess
    import time

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    state = tmp_path / "state"
    proc = subprocess.Popen([sys.executable, "-m", "desktop_app", "trainer", "serve",
                             "--port", str(port), "--state-dir", str(state)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(url + "/health").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline and proc.poll() is None, "server did not start"
            time.sleep(0.2)
        token_file = state / "token"
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        token = token_file.read_text().strip()
        assert httpx.get(url + "/jobs").status_code == 401
        ok = httpx.get(url + "/jobs", headers={"Authorization": f"Bearer {token}"})
        assert ok.status_code == 200 and ok.json() == []
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
    assert token not in out  # the token's path is printed, never the token
    assert f"http://127.0.0.1:{port}" in out


def test_ctrl_c_saves_the_last_step_and_resume_continues_exactly(tmp_path: Path,
                                                                 capsys) -> None:
    """SIGINT to a real `microclimate train` process, then `train resume` in this one:
    the checkpoint is the last completed step, and the resumed run ends with exactly the
    weights of an uninterrupted run of the same length."""
    torch = pytest.importorskip("torch", reason="the trainer needs torch (the [train] extra)")
    import json
    import os
    import signal
    import subprocess
    import time

    from desktop_app.training.config import load_config
    from desktop_app.training.trainer import LAST, start
    from tests.training.conftest import write_config

    root = Path(__file__).resolve().parents[2]
    # never reaches its end: eval (and progress.json) every step, no periodic checkpoint
    cfg = write_config(tmp_path / "data", steps=100_000, checkpoint_every=100_000)
    cfg.write_text(cfg.read_text().replace("eval_every = 2", "eval_every = 1"))
    out = tmp_path / "run"
    proc = subprocess.Popen(
        [sys.executable, "-m", "desktop_app", "train", "--config", str(cfg), "--out",
         str(out)], cwd=root, env={**os.environ, "PYTHONPATH": str(root)},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:  # until a few steps are done
            try:
                if json.loads((out / "progress.json").read_text())["step"] >= 3:
                    break
            except (OSError, ValueError):
                pass
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr
            time.sleep(0.02)
        assert not (out / LAST).exists()  # no checkpoint yet: Ctrl-C must write one
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, stderr[-2000:]
    assert "Traceback" not in stderr and "interrupted" in stderr
    state = torch.load(out / LAST, weights_only=True)
    k = int(state["step"])
    assert k >= 3
    progress = json.loads((out / "progress.json").read_text())
    assert progress["state"] == "cancelled" and progress["step"] == k
    assert f"interrupted at step {k}: checkpoint of that step saved in {out / LAST}" in stdout
    assert f"resume with: microclimate train resume {out}" in stdout
    assert not (out / "model").exists()  # an interrupted run is not exported

    # resume to two steps past the interruption, through the CLI
    saved = json.loads((out / "config.json").read_text())
    saved["train"]["steps"] = k + 2
    (out / "config.json").write_text(json.dumps(saved))
    capsys.readouterr()
    assert main(["train", "resume", str(out)]) == 0
    assert f"finished at step {k + 2}" in capsys.readouterr().out
    steps = [json.loads(r)["step"] for r in (out / "metrics.jsonl").read_text().splitlines()]
    assert steps == list(range(1, k + 3))  # continuous: no step lost, none repeated

    # the same k + 2 steps without an interruption
    straight_cfg = load_config(cfg)
    straight_cfg.train.steps = k + 2
    straight = start(straight_cfg, tmp_path / "straight")
    straight.run()
    resumed = torch.load(out / LAST, weights_only=True)["model"]
    expected = straight.model.state_dict()
    assert all(torch.equal(resumed[name], expected[name]) for name in expected)


def test_finetune_usage_errors(capsys) -> None:
    assert main(["train", "--base", "x", "--config", "c.toml", "--out", "o"]) != 0
    assert "--base go with 'microclimate train finetune'" in capsys.readouterr().err
    assert main(["train", "finetune", "--base", "x", "--out", "o"]) != 0
    assert "--config FILE, or --coarse FILE and --terrain FILE" in capsys.readouterr().err
