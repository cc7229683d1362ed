"""Tiled forecasts on a 2-worker LocalCluster against the single-process forecast, on the
real ERA5 UK month with the bundled (trained) model."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xarray as xr

from desktop_app.batch import forecast_run
from desktop_app.batch.forecast_run import run_batch_forecast
from desktop_app.errors import CancelledError
from desktop_app.inference.predictor import run_forecast
from desktop_app.inference.registry import ModelRegistry
from tests.batch.conftest import MODEL, era5_inputs
from tests.cf_check import assert_cf_compliant, assert_georeferenced


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Path], Path, np.ndarray]:
    folder = tmp_path_factory.mktemp("era5")
    paths, terrain_path, coarse, terrain = era5_inputs(folder)
    # the cluster run has no guard (its attributes say so): compare with the model on
    # every step
    ref = run_forecast((coarse, terrain), MODEL, "cpu", references=False, force_model=True)
    return paths, terrain_path, ref["temperature"].values


def test_tiles_match_the_unchunked_forecast_and_one_session_per_worker(
        client: Any, reference: tuple[list[Path], Path, np.ndarray], tmp_path: Path) -> None:
    paths, terrain, ref = reference
    entry = ModelRegistry().find(MODEL)
    assert entry.card.halo >= 1  # the model has a receptive field: seams would show
    out = tmp_path / "fc.zarr"
    # 32x48 fine grid in 16-cell tiles (2x3) and 240 steps in 48-step chunks: 30 chunks
    result = run_batch_forecast(client, paths, terrain, entry, out, time_chunk=48, tile=16)
    assert result == {"ran": 30, "skipped": 0}
    written = xr.open_zarr(out)
    got = written["temperature"].values
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-4)
    assert written.attrs["guard"].startswith("guard off (cluster run)")
    # each worker made one session (its predictor cache holds one), not one per chunk
    sessions = client.run(lambda: len(forecast_run._PREDICTORS))
    assert sorted(sessions.values()) == [1, 1]
    assert not out.with_name(f".{out.name}.partial").exists()


def test_without_the_halo_the_seams_differ(
        client: Any, reference: tuple[list[Path], Path, np.ndarray], tmp_path: Path) -> None:
    """The seam test can fail: with no halo, cells along tile edges change."""
    paths, terrain, ref = reference
    entry = ModelRegistry().find(MODEL)
    out = tmp_path / "nohalo.zarr"
    run_batch_forecast(client, paths, terrain, entry, out, time_chunk=240, tile=16, halo=0)
    err = np.abs(xr.open_zarr(out)["temperature"].values - ref).max(axis=0)
    seam_rows = np.isin(np.arange(err.shape[0]), [15, 16])
    seam_cols = np.isin(np.arange(err.shape[1]), [15, 16, 31, 32])
    seams = seam_rows[:, None] | seam_cols[None, :]
    assert err[seams].max() > 0.05  # edge artefacts
    far = ~(np.isin(np.arange(err.shape[0]), range(10, 22))[:, None]
            | np.isin(np.arange(err.shape[1]), [*range(10, 22), *range(26, 38)])[None, :])
    assert err[far].max() < 1e-4  # away from any seam, tiles are exact anyway


def test_worker_killed_mid_run_gives_the_identical_result(
        client: Any, reference: tuple[list[Path], Path, np.ndarray], tmp_path: Path) -> None:
    paths, terrain, ref = reference
    entry = ModelRegistry().find(MODEL)
    before = set(client.scheduler_info()["workers"])
    victim = sorted(before)[0]
    pid = client.run(os.getpid, workers=[victim])[victim]
    killed: list[str] = []

    def progress(done: int, total: int, message: str) -> None:
        if done >= 2 and not killed:
            killed.append(victim)
            os.kill(pid, signal.SIGKILL)  # the nanny starts a fresh worker

    out = tmp_path / "killed.zarr"
    run_batch_forecast(client, paths, terrain, entry, out, time_chunk=24, tile=16,
                       progress=progress)
    assert killed
    client.wait_for_workers(2, timeout=60)
    assert victim not in set(client.scheduler_info()["workers"])  # it really died
    np.testing.assert_allclose(xr.open_zarr(out)["temperature"].values, ref, rtol=0,
                               atol=1e-4)


def test_interrupted_run_resumes_and_skips_finished_chunks(
        client: Any, reference: tuple[list[Path], Path, np.ndarray], tmp_path: Path) -> None:
    paths, terrain, ref = reference
    entry = ModelRegistry().find(MODEL)
    out = tmp_path / "resume.nc"
    seen = [0]

    def progress(done: int, total: int, message: str) -> None:
        seen[0] = done

    with pytest.raises(CancelledError):
        run_batch_forecast(client, paths, terrain, entry, out, time_chunk=24, tile=16,
                           progress=progress, cancelled=lambda: seen[0] >= 8)
    assert not out.exists()  # nothing at the final path
    partial = out.with_name(f".{out.name}.partial")
    finished = len(list((partial / "done").iterdir()))
    assert 8 <= finished < 60
    result = run_batch_forecast(client, paths, terrain, entry, out, time_chunk=24, tile=16)
    # chunks already running when the cancel came may finish (and mark) after it
    assert finished <= result["skipped"] < 60
    assert result["ran"] + result["skipped"] == 60
    assert not partial.exists()
    with xr.open_dataset(out) as ds:
        np.testing.assert_allclose(ds["temperature"].values, ref, rtol=0, atol=1e-4)
        assert ds.sizes["time"] == 240  # no step duplicated
    assert_cf_compliant(out, tmp_path)
    assert_georeferenced(out, "temperature")


def test_a_different_job_in_the_partial_store_is_refused(
        client: Any, reference: tuple[list[Path], Path, np.ndarray], tmp_path: Path) -> None:
    from desktop_app.errors import ConfigError

    paths, terrain, _ = reference
    entry = ModelRegistry().find(MODEL)
    out = tmp_path / "other.zarr"
    with pytest.raises(CancelledError):
        run_batch_forecast(client, paths, terrain, entry, out, time_chunk=24, tile=16,
                           cancelled=lambda: True)
    with pytest.raises(ConfigError, match="different job"):
        run_batch_forecast(client, paths, terrain, entry, out, time_chunk=48, tile=16)
