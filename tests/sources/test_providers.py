"""The GUI hook: run_fetch/fetch_to_file in a worker thread with progress and cancel."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import xarray as xr

from desktop_app.errors import CancelledError
from desktop_app.sources.providers import Era5FileFetch, StationFileFetch, fetch_to_file, run_fetch
from tests.sources.helpers import DATA


def test_runs_in_a_worker_thread_with_progress(tmp_path: Path) -> None:
    results: list[xr.Dataset] = []
    messages: list[tuple[float, str]] = []
    request = Era5FileFetch((DATA / "era5" / "new_layout" / "era5_2022-08-31_rhine.zip",))
    worker = threading.Thread(target=lambda: results.append(
        run_fetch(request, progress=lambda f, m: messages.append((f, m)))))
    worker.start()
    worker.join(timeout=60)
    assert results and "surface_pressure" in results[0]
    assert messages[0][0] == 0.0 and messages[-1][0] == 1.0


def test_cancelled_fetch_writes_nothing(tmp_path: Path) -> None:
    cancel = threading.Event()
    out = tmp_path / "stations.nc"
    request = StationFileFetch(DATA / "stations" / "723170TYA.CSV", "tmy3")

    def progress(fraction: float, message: str) -> None:
        if fraction >= 1.0:
            cancel.set()  # user cancels just as reading finishes, before the write

    with pytest.raises(CancelledError):
        fetch_to_file(request, out, progress=progress, cancel=cancel)
    assert not out.exists() and list(tmp_path.iterdir()) == []
