"""A chunk too large for a worker's memory: the nanny kills the worker, and the run ends
with a clear message suggesting smaller chunks (not a hang, not a traceback)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from desktop_app.batch.cluster import ClusterError
from desktop_app.batch.qc_run import run_batch_qc
from desktop_app.qc.config import default_config
from tests.qc.qc_data import tmy3_station_dataset


@pytest.mark.slow
def test_out_of_memory_chunk_says_use_smaller_chunks(tmp_path: Path) -> None:
    import dask
    import distributed

    # the two real TMY3 stations repeated 200 times (copies, 0.01 deg apart): 400 stations
    real = tmy3_station_dataset()
    copies = xr.concat([real] * 200, "station")
    n = copies.sizes["station"]
    copies = copies.assign_coords(
        latitude=("station", copies["latitude"].values + np.arange(n) * 0.01),
        station_id=("station", [f"T{k:04d}" for k in range(n)]))
    src = tmp_path / "tiled.nc"
    copies.to_netcdf(src)
    out = tmp_path / "flags.zarr"
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}), \
            distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                     memory_limit="300MiB", dashboard_address=":0",
                                     host="127.0.0.1") as cluster, \
            distributed.Client(cluster) as client, \
            pytest.raises(ClusterError, match="smaller --chunks"):
        # one slab of all 400 stations x 8760 h x 5 variables: far over 300 MiB in run_qc
        run_batch_qc(client, [src], default_config(), out, station_chunk=n)
    assert not out.exists()  # nothing at the final path
