"""Runs queued trainer jobs one at a time (one job on the GPU), each in a subprocess."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import psutil  # type: ignore[import-untyped]

import desktop_app
from desktop_app.fsutil import atomic_write_bytes
from desktop_app.training.jobstore import JobStore

POLL_S = 0.5
PID_FILE = "job.pid"  # the job process's PID and start time, for a restarted service


def job_dir(state_dir: Path, job_id: str) -> Path:
    return Path(state_dir) / "jobs" / job_id


def model_files(state_dir: Path, job_id: str) -> list[Path]:
    folder = job_dir(state_dir, job_id) / "run" / "model"
    return sorted(folder.glob("*.onnx")) + sorted(folder.glob("*.json")) if folder.is_dir() \
        else []


def last_line(path: Path) -> str:
    try:
        lines = [ln for ln in path.read_text(encoding="utf-8", errors="replace").splitlines()
                 if ln.strip()]
    except OSError:
        return ""
    errors = [ln for ln in lines if ln.startswith("error:")]
    return (errors or lines or [""])[-1][:500]


def _job_process(folder: Path) -> psutil.Process | None:
    """The live process that runs the job in ``folder``, if any: the PID from its file,
    checked against the start time and command line so a reused PID is never touched."""
    try:
        record = json.loads((folder / PID_FILE).read_text(encoding="utf-8"))
        proc = psutil.Process(int(record["pid"]))
        same = abs(proc.create_time() - float(record["started"])) < 1.0 and str(
            folder) in proc.cmdline()
    except (OSError, ValueError, KeyError, TypeError, psutil.Error):
        return None
    return proc if same else None


def end_orphans(store: JobStore, state_dir: Path, timeout: float = 30.0) -> list[str]:
    """End the job processes that a killed service left running (with their children),
    before their jobs are queued again: the job then resumes from its last checkpoint
    in one process, never two training into the same run folder."""
    ended = []
    for job in store.list():
        if job["state"] != "running":
            continue
        proc = _job_process(job_dir(state_dir, job["id"]))
        if proc is None:
            continue
        with contextlib.suppress(psutil.Error):
            family = [*proc.children(recursive=True), proc]
            for p in family:
                with contextlib.suppress(psutil.Error):
                    p.terminate()
            _, alive = psutil.wait_procs(family, timeout=timeout)
            for p in alive:
                with contextlib.suppress(psutil.Error):
                    p.kill()
            psutil.wait_procs(alive, timeout=timeout)
        ended.append(job["id"])
    return ended


class JobWorker(threading.Thread):
    def __init__(self, store: JobStore, state_dir: Path) -> None:
        super().__init__(name="trainer-worker", daemon=True)
        self.store, self.state_dir = store, Path(state_dir)
        self._stop_event = threading.Event()
        self._proc: subprocess.Popen[bytes] | None = None

    def stop(self, timeout: float = 15.0) -> None:
        """Stop the service side; a running job stays 'running' in the store and is
        resumed from its checkpoint by the next service start."""
        self._stop_event.set()
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.terminate()
        if self.is_alive():
            self.join(timeout)

    def run(self) -> None:
        while not self._stop_event.is_set():
            job_id = self.store.next_queued()
            if job_id is None:
                self._stop_event.wait(POLL_S)
                continue
            self._run_job(job_id)

    def _run_job(self, job_id: str) -> None:
        folder = job_dir(self.state_dir, job_id)
        folder.mkdir(parents=True, exist_ok=True)
        job = self.store.get(job_id)
        if job is None:
            return
        cfg_path = folder / "config.json"
        if not cfg_path.exists():
            atomic_write_bytes(cfg_path, json.dumps(job["config"], indent=2).encode("utf-8"))
        env = dict(os.environ)
        root = str(Path(desktop_app.__file__).resolve().parent.parent)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        env["PYTHONUNBUFFERED"] = "1"
        log_path = folder / "log.txt"
        with open(log_path, "ab") as log:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "desktop_app.training.job", str(folder)],
                stdout=log, stderr=subprocess.STDOUT, env=env)
            with contextlib.suppress(psutil.Error, OSError):
                started = psutil.Process(self._proc.pid).create_time()
                atomic_write_bytes(folder / PID_FILE, json.dumps(
                    {"pid": self._proc.pid, "started": started}).encode("utf-8"))
            cancelled = False
            while self._proc.poll() is None:
                if self._stop_event.wait(POLL_S):
                    self._proc.wait(30)
                    return  # service stopping: the job stays 'running' -> recovered later
                current = self.store.get(job_id)
                if current is not None and current["cancel"] and not cancelled:
                    cancelled = True
                    self._proc.terminate()
            rc = self._proc.returncode
            self._proc = None
        current = self.store.get(job_id)
        if cancelled or (current is not None and current["cancel"]):
            self.store.set_state(job_id, "cancelled")
        elif rc == 0 and model_files(self.state_dir, job_id):
            self.store.set_state(job_id, "done")
        else:
            self.store.set_state(job_id, "failed",
                                 last_line(log_path) or f"job process exited with {rc}")
