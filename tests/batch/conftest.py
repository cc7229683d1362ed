"""One 2-worker LocalCluster (separate processes, small memory) for the whole module set,
and the real data of the batch tests, split into several files the way archives are."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import xarray as xr

from tests.inference.helpers import BUNDLED_SPEC

pytest.importorskip("distributed", reason="batch runs need the [cluster] extra")

ROOT = Path(__file__).resolve().parents[2]
INFERENCE = ROOT / "tests" / "data" / "inference"
MODEL = BUNDLED_SPEC


@pytest.fixture(scope="package")
def cluster() -> Iterator[Any]:
    import distributed

    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  memory_limit="1GiB", dashboard_address=":0",
                                  host="127.0.0.1") as local:
        yield local


@pytest.fixture
def client(cluster: Any) -> Iterator[Any]:
    import distributed

    with distributed.Client(cluster) as c:
        yield c


def era5_inputs(folder: Path, parts: int = 3) -> tuple[list[Path], Path, xr.Dataset, xr.Dataset]:
    """The real ERA5 UK month (coarse 1 deg and the 0.25 deg elevation) as ``parts``
    coarse files split in time, and the terrain file."""
    folder.mkdir(parents=True, exist_ok=True)
    coarse = xr.open_dataset(INFERENCE / "era5_uk_coarse.nc").load()
    terrain = xr.open_dataset(INFERENCE / "era5_uk_fine.nc")[["elevation"]].load()
    n = coarse.sizes["time"] // parts
    paths = []
    for k in range(parts):
        stop = None if k == parts - 1 else (k + 1) * n
        path = folder / f"coarse_{k}.nc"
        coarse.isel(time=slice(k * n, stop)).to_netcdf(path)
        paths.append(path)
    terrain_path = folder / "terrain.nc"
    terrain.to_netcdf(terrain_path)
    return paths, terrain_path, coarse, terrain
