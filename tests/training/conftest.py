"""Tiny GENERATED training data (labelled so): it tests the code, never the model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

BLOCK = 4


def block_mean(values: np.ndarray) -> np.ndarray:
    *lead, ny, nx = values.shape
    v = values.reshape(*lead, ny // BLOCK, BLOCK, nx // BLOCK, BLOCK)
    return np.asarray(v.mean(axis=(-3, -1)))


def make_dataset(folder: Path, days: int = 4, steps_per_day: int = 6,
                 ny: int = 16, nx: int = 20) -> tuple[Path, Path]:
    rng = np.random.default_rng(0)
    lat = 50.125 + 0.25 * np.arange(ny)
    lon = -4.875 + 0.25 * np.arange(nx)
    yy, xx = np.meshgrid(np.arange(ny), np.arange(nx), indexing="ij")
    elev = (800 * np.exp(-((yy - ny / 2) ** 2 + (xx - nx / 3) ** 2) / 20)).astype(np.float32)
    times = (np.datetime64("2020-01-01T00:00", "ns")
             + np.arange(days * steps_per_day) * np.timedelta64(24 // steps_per_day, "h"))
    hours = (times - times.astype("datetime64[D]")) / np.timedelta64(1, "h")
    diurnal = 4 * np.sin(2 * np.pi * (hours - 9) / 24)
    temp = (8 + diurnal[:, None, None] - 0.0065 * elev[None]
            - 0.002 * (elev[None] - elev.mean()) * (diurnal[:, None, None] < 0)
            + 0.1 * rng.standard_normal((times.size, ny, nx))).astype(np.float32)
    attrs = {"generated_values": "yes", "title": "GENERATED test data (not real)"}
    t_attrs = {"units": "degC", "standard_name": "air_temperature"}
    z_attrs = {"units": "m", "standard_name": "surface_altitude"}
    fine = xr.Dataset({"temperature": (("time", "latitude", "longitude"), temp, t_attrs),
                       "elevation": (("latitude", "longitude"), elev, z_attrs)},
                      coords={"time": times, "latitude": lat, "longitude": lon}, attrs=attrs)
    coarse = xr.Dataset(
        {"temperature": (("time", "latitude", "longitude"), block_mean(temp), t_attrs),
         "elevation": (("latitude", "longitude"), block_mean(elev), z_attrs)},
        coords={"time": times, "latitude": lat.reshape(-1, BLOCK).mean(1),
                "longitude": lon.reshape(-1, BLOCK).mean(1)}, attrs=attrs)
    folder.mkdir(parents=True, exist_ok=True)
    fine.to_netcdf(folder / "fine.nc")
    coarse.to_netcdf(folder / "coarse.nc")
    return folder / "coarse.nc", folder / "fine.nc"


TINY_CONFIG = """
[data]
coarse = "coarse.nc"
fine = "fine.nc"
features = ["temperature_interp", "elevation", "elevation_difference",
            "topographic_position", "hour_sin", "hour_cos"]
val_days = ["2020-01-03"]
test_days = ["2020-01-04"]

[model]
channels = 8
layers = 3

[loss]
smoothness = 0.1
conservation = 0.1

[train]
seed = 1
steps = {steps}
batch_size = 2
checkpoint_every = {checkpoint_every}
eval_every = 2
patience = 100
threads = 1

[export]
name = "tiny-test"
version = "0.0.1"
"""


def write_config(folder: Path, steps: int = 6, checkpoint_every: int = 3,
                 extra: str = "") -> Path:
    make_dataset(folder)
    path = folder / "train.toml"
    path.write_text(TINY_CONFIG.format(steps=steps, checkpoint_every=checkpoint_every)
                    + extra, encoding="utf-8")
    return path


@pytest.fixture
def tiny_config(tmp_path: Path) -> Path:
    return write_config(tmp_path / "data")
