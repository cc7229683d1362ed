"""Verification in time chunks on the cluster gives the scores of verify_at_stations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xarray as xr

from desktop_app.batch.verify_run import run_batch_verify
from desktop_app.inference.predictor import run_forecast
from desktop_app.verify.stations import verify_at_stations
from tests.batch.conftest import INFERENCE, MODEL, era5_inputs


def test_scores_equal_the_single_process_verification(client: Any, tmp_path: Path) -> None:
    _, _, coarse, terrain = era5_inputs(tmp_path / "in", parts=1)
    forecast = run_forecast((coarse, terrain), MODEL, "cpu")  # model, baseline, bilinear
    parts = [tmp_path / "fc_a.nc", tmp_path / "fc_b.nc"]
    forecast.isel(time=slice(0, 100)).to_netcdf(parts[0])
    forecast.isel(time=slice(100, None)).to_netcdf(parts[1])
    # "stations": real ERA5 0.25 deg temperatures at eight grid cells (held-out truth)
    fine = xr.open_dataset(INFERENCE / "era5_uk_fine.nc").load()
    rows, cols = np.array([2, 5, 9, 14, 20, 25, 28, 30]), np.array([3, 7, 12, 20, 26, 33, 40, 45])
    obs = xr.Dataset(
        {"temperature": (("station", "time"), fine["temperature"].values[:, rows, cols].T,
                         {"units": fine["temperature"].attrs["units"]})},
        coords={"time": fine["time"].values, "latitude": ("station", fine.latitude.values[rows]),
                "longitude": ("station", fine.longitude.values[cols]),
                "elevation": ("station", fine["elevation"].values[rows, cols]),
                "station_id": ("station", [f"cell{k}" for k in range(8)])})
    obs_path = tmp_path / "obs.nc"
    obs.to_netcdf(obs_path)
    ref = verify_at_stations(forecast, obs)
    got = run_batch_verify(client, parts, obs_path, time_chunk=48)
    assert got.n_stations == ref.n_stations == 8
    assert [r["forecast"] for r in got.rows] == [
        "model", "baseline", "lapse_estimated", "lapse_fixed", "bilinear"]
    for a, b in zip(got.rows, ref.rows, strict=True):
        assert a.keys() == b.keys()
        for key in a:
            if isinstance(a[key], float):
                assert a[key] == pytest.approx(b[key], rel=1e-12), key
            else:
                assert a[key] == b[key]
