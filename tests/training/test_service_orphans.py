"""The trainer service owns its job processes: after a SIGKILLed ``trainer serve``, the
next start ends the job process it left running before queueing the job again, and two
processes never train into one run folder."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("torch", reason="the trainer needs torch (the [train] extra)")
psutil = pytest.importorskip("psutil", reason="the service needs the [train] extra")

from desktop_app.errors import (  # noqa: E402
    MicroclimateError,
    TrainerServiceError,
    TrainingError,
)
from desktop_app.fsutil import folder_lock  # noqa: E402
from desktop_app.trainer_client import TrainerClient  # noqa: E402
from desktop_app.training.run import resume_and_export  # noqa: E402
from desktop_app.training.service import TrainerService  # noqa: E402
from desktop_app.training.worker import PID_FILE, job_dir  # noqa: E402

from .conftest import make_dataset  # noqa: E402
from .test_service import TOKEN, tiny_job_config  # noqa: E402


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(predicate, what: str, timeout: float = 120.0) -> None:  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < end, f"timed out waiting for {what}"
        time.sleep(0.2)


def test_a_restart_ends_the_job_process_a_killed_service_left(tmp_path: Path) -> None:
    data = tmp_path / "data"
    make_dataset(data)
    state, token_file = tmp_path / "state", tmp_path / "token"
    token_file.write_text(TOKEN)
    port = _free_port()
    serve = subprocess.Popen(
        [sys.executable, "-m", "desktop_app", "trainer", "serve", "--port", str(port),
         "--state-dir", str(state), "--token-file", str(token_file), "--data-root",
         str(data)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])})
    try:
        url = f"http://127.0.0.1:{port}"
        with TrainerClient(url, TOKEN) as client:
            _wait(lambda: _answers(client), "the service to start")
            job = client.submit(tiny_job_config(steps=1_000_000),
                                coarse_path=str(data / "coarse.nc"),
                                fine_path=str(data / "fine.nc"))
            pid_file = job_dir(state, job["id"]) / PID_FILE
            _wait(pid_file.exists, "the job process")
    finally:
        serve.send_signal(signal.SIGKILL)
        serve.wait(30)
    import json
    orphan = psutil.Process(json.loads(pid_file.read_text())["pid"])
    assert orphan.is_running() and orphan.status() != psutil.STATUS_ZOMBIE  # left behind
    service = TrainerService(state, TOKEN)
    try:
        assert service.orphans_ended == [job["id"]]
        assert not orphan.is_running() or orphan.status() == psutil.STATUS_ZOMBIE
        assert service.store.get(job["id"])["state"] == "queued"  # resumes, in one process
        with pytest.raises(MicroclimateError, match="state folder .* is in use"):
            TrainerService(state, TOKEN)  # a second service on the same state folder
    finally:
        service.stop()


def _answers(client: TrainerClient) -> bool:
    try:
        client.jobs()
    except TrainerServiceError:  # not listening yet
        return False
    return True


def test_two_processes_never_train_into_one_run_folder(tmp_path: Path) -> None:
    run = tmp_path / "run"
    code = ("import sys, time; from pathlib import Path; from desktop_app.fsutil import "
            "folder_lock\nwith folder_lock(Path(sys.argv[1]), 'run'):\n"
            "    print('held', flush=True); time.sleep(60)\n")
    holder = subprocess.Popen([sys.executable, "-c", code, str(run)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(TrainingError, match=rf"run folder {run} is in use by another "
                                                rf"process \(pid {holder.pid}\)"):
            resume_and_export(run)
    finally:
        holder.kill()
        holder.wait()
    with folder_lock(run, "run"):  # released by the kernel when the holder died
        pass
