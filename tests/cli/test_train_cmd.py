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
