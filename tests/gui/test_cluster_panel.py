"""'Run on cluster' in the QC panel, against a LocalCluster address the test starts."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from desktop_app.qc.config import default_config
from desktop_app.qc.runner import run_qc
from desktop_app.settings import Settings, save_settings

pytestmark = pytest.mark.gui
distributed = pytest.importorskip("distributed", reason="needs the [cluster] extra")


@contextmanager
def _on_cluster(window, panel) -> Iterator[None]:
    """A LocalCluster that the settings name, and ``panel`` shown with "Run on cluster"
    ticked; the cluster stops afterwards."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  memory_limit="1GiB", dashboard_address=":0",
                                  host="127.0.0.1") as cluster:
        save_settings(Settings(cluster_scheduler=cluster.scheduler_address))
        window.panels.setCurrentWidget(panel)
        panel.cluster_box.setChecked(True)
        yield


def test_qc_on_cluster_gives_the_same_flags(window, qtbot, tmp_path: Path) -> None:
    panel = window.qc_panel
    with _on_cluster(window, panel):
        stations = window.view.stations
        seen: list[str] = []
        window.tasks.bar.valueChanged.connect(lambda _v: seen.append(window.tasks.bar.format()))
        with qtbot.waitSignal(window.tasks.finished, timeout=120000):
            assert panel.run()
        window.grab().save(str(Path(os.environ.get("SHOT_DIR", tmp_path)) / "qc_cluster.png"))
    ref, _ = run_qc(stations, default_config())
    got = window.view.stations
    for name in [n for n in ref.data_vars if "_qc" in str(n)]:
        assert np.array_equal(got[name].values, ref[name].values), name
    assert panel.summary.text().startswith("Checked on the cluster")
    rows = {(panel.table.item(r, 0).text(), panel.table.item(r, 1).text())
            for r in range(panel.table.rowCount())}
    assert ("temperature", "spike") in rows and ("temperature", "aggregate") in rows
    assert any("on cluster" in text for text in seen)  # progress came from the cluster job


def test_forecast_on_cluster_matches_the_local_forecast(window, qtbot) -> None:
    from desktop_app.inference.predictor import run_forecast

    panel = window.forecast_panel
    with _on_cluster(window, panel):
        panel.provider_box.setCurrentText("cpu")
        with qtbot.waitSignal(window.tasks.finished, timeout=120000):
            panel.run()
    region = window.view.region
    # a cluster run has no guard and says so: compare with the model on every step
    ref = run_forecast(region, None, "cpu", references=False, force_model=True)
    got = window.view.forecast
    assert got is not None and "on LocalCluster" not in got.attrs["provider"]
    assert got.attrs["provider"].startswith("cpu on tcp://127.0.0.1:")
    # 111x257 fine grid in 128-cell tiles: seams inside, equal to the untiled forecast
    np.testing.assert_allclose(got["temperature"].values, ref["temperature"].values,
                               rtol=0, atol=1e-4)
    assert window.view.layer == "forecast"
    assert "on cpu on tcp://" in panel.result_label.text()
    assert got.attrs["guard"].startswith("guard off (cluster run)")
    assert "guard off (cluster run)" in panel.result_label.text()
