"""QC: pick a config (or the defaults), run the checks, see counts per test, and jump to
each flagged observation on the map and in the series."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6 import QtCore, QtWidgets

from desktop_app.core.flags import QCFlag
from desktop_app.qc.config import load_config
from desktop_app.qc.runner import QCReport, run_qc
from desktop_app.settings import load_settings

if TYPE_CHECKING:
    import xarray as xr

    from desktop_app.gui.main_window import MainWindow

TASK = "Quality control"
FLAG_NAMES = {QCFlag.PASS: "pass", QCFlag.NOT_EVALUATED: "not evaluated",
              QCFlag.SUSPECT: "suspect", QCFlag.FAIL: "fail", QCFlag.MISSING: "missing"}


class QCPanel(QtWidgets.QWidget):
    def __init__(self, window: MainWindow) -> None:
        super().__init__()
        self.window_ = window
        self._on_cluster = False
        layout = QtWidgets.QVBoxLayout(self)
        row = QtWidgets.QHBoxLayout()
        self.config_edit = QtWidgets.QLineEdit()
        self.config_edit.setPlaceholderText("default checks for each variable")
        browse = QtWidgets.QPushButton("Config…")
        browse.clicked.connect(self._browse)
        row.addWidget(self.config_edit, 1)
        row.addWidget(browse)
        self.run_button = QtWidgets.QPushButton("Run QC on the stations")
        self.cluster_box = QtWidgets.QCheckBox("Run on cluster")
        self.cluster_box.setToolTip(
            "Run the checks on the Dask scheduler set in the settings (cluster_scheduler), "
            "or on a local cluster when none is set; needs the [cluster] extra")
        self.summary = QtWidgets.QLabel("Not run: station markers show 'not evaluated'.")
        self.summary.setWordWrap(True)
        columns = ["variable", "test", *FLAG_NAMES.values()]
        self.table = QtWidgets.QTableWidget(0, len(columns))
        self.table.setHorizontalHeaderLabels(columns)
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.flagged = QtWidgets.QListWidget()
        self.flagged.setToolTip("Click to show that observation on the map and in the series")
        layout.addLayout(row)
        run_row = QtWidgets.QHBoxLayout()
        run_row.addWidget(self.run_button, 1)
        run_row.addWidget(self.cluster_box)
        layout.addLayout(run_row)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 2)
        layout.addWidget(QtWidgets.QLabel("Flagged observations (suspect or fail)"))
        layout.addWidget(self.flagged, 3)
        self.run_button.clicked.connect(self.run)
        self.flagged.itemClicked.connect(self._jump)
        window.tasks.finished.connect(self._on_done)

    def _browse(self) -> None:
        name, _ = QtWidgets.QFileDialog.getOpenFileName(self, "QC config", "",
                                                        "QC config (*.toml *.json)")
        if name:
            self.config_edit.setText(name)

    def run(self) -> bool:
        stations = self.window_.view.stations
        if stations is None:
            self.summary.setText("This region has no stations to check.")
            return False
        text = self.config_edit.text().strip()
        path = Path(text) if text else None
        on_cluster = self._on_cluster = self.cluster_box.isChecked()

        def job(progress: Any, cancel: threading.Event) -> tuple[xr.Dataset, QCReport]:
            progress(0.05, "loading config and kernels")
            config = load_config(path)
            if on_cluster:
                from desktop_app.batch.window_runs import qc_on_cluster

                scheduler = load_settings().cluster_scheduler
                flagged, report = qc_on_cluster(stations, config, scheduler,
                                                progress=progress, cancelled=cancel.is_set)
                progress(1.0, "done")
                return flagged, report
            result = run_qc(stations, config, cancelled=cancel.is_set)
            progress(1.0, "done")
            return result

        return self.window_.tasks.start(TASK, job)

    def _on_done(self, name: str, result: object) -> None:
        if name != TASK:
            return
        assert isinstance(result, tuple)
        ds: xr.Dataset = result[0]
        report: QCReport = result[1]
        self.window_.show_qc(ds)
        self._fill_table(report)
        self._fill_flagged(ds)
        if self._on_cluster:
            self.summary.setText(f"Checked on the cluster in {report.run_seconds:.2f} s.")
            return
        self.summary.setText(
            f"Checked in {report.run_seconds:.2f} s (kernels ready in "
            f"{report.compile_seconds:.2f} s{', compiled now' if report.first_call else ''}).")

    def _fill_table(self, report: QCReport) -> None:
        rows = [(var, test, counts) for var, tests in report.counts.items()
                for test, counts in tests.items()]
        self.table.setRowCount(len(rows))
        for r, (var, test, counts) in enumerate(rows):
            cells = [var, test, *(str(counts.get(flag, 0)) for flag in FLAG_NAMES)]
            for c, text in enumerate(cells):
                self.table.setItem(r, c, QtWidgets.QTableWidgetItem(text))
        self.table.resizeColumnsToContents()

    def _fill_flagged(self, ds: xr.Dataset) -> None:
        self.flagged.clear()
        times = ds["time"].values
        for var in [str(v) for v in ds.data_vars if f"{v}_qc" in ds]:
            agg = ds[f"{var}_qc"].values
            tests = [str(n) for n in ds.data_vars if str(n).startswith(f"{var}_qc_")]
            for k, t in np.argwhere(np.isin(agg, (QCFlag.SUSPECT, QCFlag.FAIL))):
                why = [n.removeprefix(f"{var}_qc_") for n in tests
                       if ds[n].values[k, t] in (QCFlag.SUSPECT, QCFlag.FAIL)]
                value = float(ds[var].values[k, t])
                text = (f"{ds['station_id'].values[k]} "
                        f"{np.datetime_as_string(times[t], unit='m').replace('T', ' ')} "
                        f"{var} {value:.1f} {ds[var].attrs.get('units', '')}: "
                        f"{FLAG_NAMES[QCFlag(int(agg[k, t]))]} ({', '.join(why)})")
                item = QtWidgets.QListWidgetItem(text)
                item.setData(QtCore.Qt.ItemDataRole.UserRole, (var, int(k), int(t)))
                self.flagged.addItem(item)

    def _jump(self, item: QtWidgets.QListWidgetItem) -> None:
        var, k, t = item.data(QtCore.Qt.ItemDataRole.UserRole)
        self.window_.show_observation(var, k, t)
