"""Ctrl-C on ``microclimate batch``: futures cancelled, cluster closed, nothing at --out;
the same command then resumes and finishes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from tests.batch.conftest import MODEL, ROOT, era5_inputs


@pytest.mark.slow
def test_ctrl_c_leaves_nothing_at_out_and_the_rerun_resumes(tmp_path: Path) -> None:
    paths, terrain, _, _ = era5_inputs(tmp_path / "in")
    out = tmp_path / "fc.nc"
    cmd = [sys.executable, "-m", "desktop_app", "batch", "forecast", *map(str, paths),
           "--dem", str(terrain), "--model", MODEL, "--out", str(out), "--workers", "1",
           "--chunks", "time=8,tile=16"]  # 180 chunks
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    # its own process group, so Ctrl-C can reach it and its worker processes as a terminal's
    # does (the whole foreground group)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, start_new_session=True)
    done = out.with_name(f".{out.name}.partial") / "done"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if done.is_dir() and len(list(done.iterdir())) >= 3:
            break
        time.sleep(0.05)
    assert proc.poll() is None, proc.communicate()[1][-2000:]
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err[-2000:]
    assert "dashboard: http://" in err
    assert "cancelled" in err and "run the same command again to resume" in err
    assert "Traceback" not in err
    assert not out.exists()
    finished = len(list(done.iterdir()))
    assert 3 <= finished < 180
    rerun = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=240)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert "already done (resumed)" in rerun.stdout
    with xr.open_dataset(out) as ds:
        assert ds.sizes["time"] == 240 and bool(np.isfinite(ds["temperature"].values).all())
