"""QC on a 2-worker LocalCluster: flags bit-identical to run_qc on the real TMY3 stations
(a year split into three files), plus the CLI, bad input and faults."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xarray as xr

from desktop_app.batch.cluster import ClusterError, ClusterSpec, jobqueue_cluster, open_client
from desktop_app.batch.engine import Chunk, run_chunks
from desktop_app.batch.inputs import open_inputs
from desktop_app.batch.qc_run import run_batch_qc
from desktop_app.batch.store import ChunkStore
from desktop_app.cli import main
from desktop_app.errors import DataFileError, MicroclimateError
from desktop_app.fsutil import load_netcdf
from desktop_app.qc.config import default_config
from desktop_app.qc.runner import run_qc
from tests.batch.conftest import era5_inputs
from tests.batch.helpers import disk_full
from tests.cf_check import assert_cf_compliant
from tests.qc.qc_data import tmy3_station_dataset


@pytest.fixture(scope="module")
def station_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("stations")
    ds = tmy3_station_dataset()
    paths = []
    for k, (a, b) in enumerate([(0, 2920), (2920, 5840), (5840, 8760)]):
        path = folder / f"tmy3_{k}.nc"
        ds.isel(time=slice(a, b)).to_netcdf(path)
        paths.append(path)
    return paths


def _assert_flags_identical(got: xr.Dataset, ref: xr.Dataset) -> None:
    names = [n for n in ref.data_vars if "_qc" in str(n)]
    assert len(names) > 10
    for name in names:
        assert got[name].dtype == np.uint8, name
        assert np.array_equal(got[name].values, ref[name].values), name
        assert got[name].attrs["flag_meanings"] == ref[name].attrs["flag_meanings"]
    for var in ("temperature", "surface_pressure"):
        np.testing.assert_array_equal(got[var].values, ref[var].values)
        assert got[var].attrs["ancillary_variables"] == ref[var].attrs["ancillary_variables"]


def test_flags_bit_identical_to_one_process(client: Any, station_files: list[Path],
                                            tmp_path: Path) -> None:
    ref, report = run_qc(tmy3_station_dataset(), default_config())
    assert report.counts["surface_pressure"]["flat_line"]  # the real stuck sensor is there
    out = tmp_path / "flags.zarr"
    # one station per slab, 1000-step buddy slabs: 2 + 9 + 2 chunks
    result = run_batch_qc(client, station_files, default_config(), out,
                          station_chunk=1, time_chunk=1000)
    assert result == {"ran": 13, "skipped": 0}
    _assert_flags_identical(xr.open_zarr(out).load(), ref)


def test_cli_on_a_scheduler_address_writes_netcdf(cluster: Any, station_files: list[Path],
                                                  tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "flags.nc"
    args = ["batch", "qc", *map(str, station_files), "--out", str(out), "--cluster",
            cluster.scheduler_address, "--chunks", "station=1,time=4000"]
    assert main(args) == 0
    captured = capsys.readouterr()
    assert "qc chunks run" not in captured.err and "wrote" in captured.out
    assert "series" in captured.err and "aggregate" in captured.err  # the progress bars
    # read as the app reads it: the CF file's signed-byte flags come back as uint8
    _assert_flags_identical(load_netcdf(out), run_qc(tmy3_station_dataset(),
                                                     default_config())[0])
    assert_cf_compliant(out, tmp_path)
    assert main(args) == 1  # an existing output is never overwritten
    assert "already exists" in capsys.readouterr().err


def test_unreachable_scheduler_is_a_clear_error() -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    with pytest.raises(ClusterError, match=f"cannot reach the Dask scheduler at {address}"), \
            open_client(ClusterSpec(address, connect_timeout_s=2)):
        pass


def test_cli_rejects_bad_cluster_and_chunks(station_files: list[Path], tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    base = ["batch", "qc", str(station_files[0]), "--out", str(tmp_path / "x.zarr")]
    assert main([*base, "--cluster", "kubernetes"]) == 1
    assert "--cluster must be local, slurm, pbs" in capsys.readouterr().err
    assert main([*base, "--chunks", "tile=4"]) == 1
    assert "'tile' is not one of station, time" in capsys.readouterr().err


def test_a_file_with_a_different_grid_is_named(tmp_path: Path) -> None:
    paths, _, coarse, _ = era5_inputs(tmp_path, parts=2)
    shifted = tmp_path / "shifted.nc"
    coarse.isel(time=slice(0, 5)).assign_coords(
        latitude=coarse["latitude"].values + 0.25).to_netcdf(shifted)
    with pytest.raises(DataFileError, match=f"{shifted}.*different grid.*'latitude'"):
        open_inputs([*paths, shifted], "coarse input")


def test_missing_extra_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from desktop_app.batch.cluster import require_dask

    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(MicroclimateError, match=r"pip install 'microclimate-desk\[cluster\]'"):
        require_dask()


def test_disk_full_is_clear_and_leaves_nothing_at_the_final_path(
        client: Any, tmp_path: Path) -> None:
    store = ChunkStore(tmp_path / "out.zarr")
    store.prepare({"kind": "test"})
    store.data.mkdir()  # (a real job's template store)
    with pytest.raises(DataFileError, match="output disk full.*resume"):
        run_chunks(client, [Chunk("a", disk_full, ())], str(store.done_dir), already=set(),
                   out_hint=str(store.partial))
    assert not store.out.exists() and store.done() == set()
    assert store.prepare({"kind": "test"}) is True  # still resumable


@pytest.mark.parametrize(("target", "directive"), [("slurm", "#SBATCH"), ("pbs", "#PBS")])
def test_jobqueue_clusters_are_built_with_the_options(target: str, directive: str) -> None:
    """Slurm/PBS cannot run here: check the job script the cluster would submit."""
    spec = ClusterSpec(target, threads_per_worker=2, memory_limit="4GiB",
                       jobqueue={"queue": "weather", "account": "met", "walltime": "02:00:00"})
    cluster = jobqueue_cluster(spec)
    try:
        script = cluster.job_script()
    finally:
        cluster.close()
    assert type(cluster).__name__ == {"slurm": "SLURMCluster", "pbs": "PBSCluster"}[target]
    assert directive in script and "weather" in script and "met" in script
    assert "02:00:00" in script and "--nthreads 2" in script


def test_a_zarr_store_as_input(client: Any, tmp_path: Path) -> None:
    ds = tmy3_station_dataset().isel(time=slice(0, 2000))
    store = tmp_path / "stations.zarr"
    ds.to_zarr(store, zarr_format=2)
    out = tmp_path / "flags.zarr"
    run_batch_qc(client, [store], default_config(), out, station_chunk=1, time_chunk=500)
    _assert_flags_identical(xr.open_zarr(out).load(), run_qc(ds, default_config())[0])
