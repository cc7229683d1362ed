"""Watch: a live view of a watch store (what ``microclimate watch run`` writes).

Stations go on the map coloured by live status (green: fresh and passing QC, amber: an
open alert or a suspect value, red: QC fail or no new value for three polls, grey: no
data yet); open alerts are listed with an Acknowledge button; the rolling skill table
and a pyqtgraph plot (MAE by lead, one curve per model) show how each model verifies.
A new alert raises a desktop notification (the system tray when there is one, the
status bar otherwise). The store is read on a timer; SQLite's WAL mode lets the poller
keep writing meanwhile.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from desktop_app.core.variables import get_variable
from desktop_app.errors import MicroclimateError
from desktop_app.watch.config import load_config
from desktop_app.watch.store import Store

if TYPE_CHECKING:
    from desktop_app.gui.main_window import MainWindow

ALERT_COLUMNS = ("id", "station", "time (UTC)", "detector", "score / threshold")
SKILL_COLUMNS = ("station", "model", "lead h", "n", "MAE", "RMSE", "bias")
CURVE_COLORS = ("#4fc3f7", "#ffb74d", "#81c784", "#e57373", "#ba68c8")


def _utc(t: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.gmtime(t))


class WatchPanel(QtWidgets.QWidget):
    new_alert = QtCore.Signal(str)

    def __init__(self, window: MainWindow) -> None:
        super().__init__()
        self.window_ = window
        self.store: Store | None = None
        self.variable = "temperature"
        self.interval_s = 300.0
        self.seen_alerts: set[int] | None = None
        self.status: dict[str, str] = {}
        self.open_alert_stations: set[str] = set()
        self.curves: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.last_notification = ""
        layout = QtWidgets.QVBoxLayout(self)
        row = QtWidgets.QHBoxLayout()
        self.open_button = QtWidgets.QPushButton("Open watch config…")
        self.refresh_button = QtWidgets.QPushButton("Refresh")
        row.addWidget(self.open_button)
        row.addWidget(self.refresh_button)
        layout.addLayout(row)
        self.source_label = QtWidgets.QLabel("No watch store open. Run 'microclimate watch "
                                             "run --config F' and open F here.")
        self.source_label.setWordWrap(True)
        layout.addWidget(self.source_label)
        layout.addWidget(QtWidgets.QLabel("Open alerts"))
        self.alerts = self._table(ALERT_COLUMNS)
        header = self.alerts.horizontalHeaderItem(len(ALERT_COLUMNS) - 1)
        if header is not None:
            header.setToolTip("the detector's score in units of its alert threshold: "
                              "1.0 is the threshold, 2.0 twice as far out")
        layout.addWidget(self.alerts, 2)
        self.ack_button = QtWidgets.QPushButton("Acknowledge selected")
        layout.addWidget(self.ack_button)
        layout.addWidget(QtWidgets.QLabel("Rolling skill (last 7 days, forecast - observed)"))
        self.skill = self._table(SKILL_COLUMNS)
        layout.addWidget(self.skill, 2)
        self.plot = pg.PlotWidget()  # kept for the panel's life and reused
        self.plot.setLabel("bottom", "lead (h)")
        self.plot.setLabel("left", "MAE")
        self.plot.getAxis("left").enableAutoSIPrefix(False)  # errors in the variable's units
        self.plot.addLegend(offset=(8, 8))
        self.plot.setMinimumHeight(160)
        layout.addWidget(self.plot, 2)
        self.timer = QtCore.QTimer(self)
        self.timer.setInterval(15000)
        self.timer.timeout.connect(self.refresh)
        self.open_button.clicked.connect(self._ask_open)
        self.refresh_button.clicked.connect(self.refresh)
        self.ack_button.clicked.connect(self.acknowledge_selected)
        self.new_alert.connect(self._notify)
        self.tray: QtWidgets.QSystemTrayIcon | None = None
        if QtWidgets.QSystemTrayIcon.isSystemTrayAvailable():
            self.tray = QtWidgets.QSystemTrayIcon(self.windowIcon(), self)
            self.tray.show()

    @staticmethod
    def _table(columns: tuple[str, ...]) -> QtWidgets.QTableWidget:
        table = QtWidgets.QTableWidget(0, len(columns))
        table.setHorizontalHeaderLabels(columns)
        table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        table.horizontalHeader().setStretchLastSection(True)
        return table

    # -- opening ----------------------------------------------------------------------
    def _ask_open(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Watch config", "",
                                                        "Watch config (*.toml)")
        if path:
            self.open_config(Path(path))

    def open_config(self, path: Path) -> bool:
        try:
            cfg = load_config(path)
            if not cfg.database_path.exists():
                raise MicroclimateError(f"no watch store at {cfg.database_path} yet: run "
                                        f"'microclimate watch run --config {path}' first")
            store = Store(cfg.database_path)
        except MicroclimateError as exc:
            QtWidgets.QMessageBox.warning(self, "Watch", str(exc))
            return False
        if self.store is not None:
            self.store.close()
        self.store, self.variable = store, cfg.variable
        self.plot.setLabel("left", f"MAE ({get_variable(cfg.variable).units})")
        self.interval_s = cfg.interval_minutes * 60
        self.seen_alerts = None
        self.source_label.setText(f"{path.name}: {len(cfg.stations)} station(s) every "
                                  f"{cfg.interval_minutes:g} min, store "
                                  f"{cfg.database_path.name}")
        self.source_label.setToolTip(str(cfg.database_path))
        self.refresh()
        self.timer.start()
        return True

    # -- refresh ----------------------------------------------------------------------
    def refresh(self) -> None:
        if self.store is None:
            return
        try:
            self._refresh_alerts()
            self._refresh_skill()
            self._refresh_map()
        except MicroclimateError as exc:
            self.window_.statusBar().showMessage(f"watch: {exc}", 10000)

    def _refresh_alerts(self) -> None:
        assert self.store is not None
        alerts = self.store.anomalies(unacknowledged=True)
        ids = {int(a["id"]) for a in alerts}
        if self.seen_alerts is not None:
            for a in alerts:
                if int(a["id"]) not in self.seen_alerts:
                    self.new_alert.emit(f"{a['station']}: {a['detector']} at "
                                        f"{_utc(int(a['time']))} UTC (score {a['score']:.1f})")
        self.seen_alerts = (self.seen_alerts or set()) | ids
        self.alerts.setRowCount(len(alerts))
        for r, a in enumerate(alerts):
            cells = (str(a["id"]), a["station"], _utc(int(a["time"])), a["detector"],
                     f"{a['score']:.2f}")
            for c, text in enumerate(cells):
                self.alerts.setItem(r, c, QtWidgets.QTableWidgetItem(text))
        self.open_alert_stations = {a["station"] for a in alerts}

    def _refresh_skill(self) -> None:
        assert self.store is not None
        newest = self.store.query("SELECT MAX(valid_time) FROM pairs")[0][0] or 0
        rows = self.store.skill(self.variable, since=int(newest) - 7 * 86400)
        self.skill.setRowCount(len(rows))
        for r, s in enumerate(rows):
            cells = (s.station, f"{s.model} {s.model_version}", f"{s.lead_s / 3600:g}",
                     str(s.n), f"{s.mae:.2f}", f"{s.rmse:.2f}", f"{s.bias:+.2f}")
            for c, text in enumerate(cells):
                self.skill.setItem(r, c, QtWidgets.QTableWidgetItem(text))
        self.plot.clear()
        legend = self.plot.plotItem.legend
        if legend is not None:
            legend.clear()
        by_model: dict[str, dict[float, list[tuple[int, float]]]] = {}
        for s in rows:
            by_model.setdefault(f"{s.model} {s.model_version}", {}).setdefault(
                s.lead_s / 3600, []).append((s.n, s.mae))
        self.curves = {}
        for k, (model, leads) in enumerate(sorted(by_model.items())):
            x = np.array(sorted(leads))
            # MAE over all stations: a count-weighted mean of the station MAEs
            y = np.array([sum(n * m for n, m in leads[h]) / sum(n for n, _ in leads[h])
                          for h in x])
            self.plot.plot(x, y, name=model, symbol="o",
                           pen=pg.mkPen(CURVE_COLORS[k % len(CURVE_COLORS)], width=2))
            self.curves[model] = (x, y)

    def _refresh_map(self) -> None:
        assert self.store is not None
        stations = self.store.stations()
        now = time.time()
        newest = max((s.last_seen or 0 for s in stations), default=0)
        ref = max(newest, 0) if now - newest > 86400 else now  # a replayed/old store
        flags = self.store.query(
            "SELECT q.station, q.flag FROM qc_flags q JOIN (SELECT station, MAX(time) AS t "
            "FROM qc_flags WHERE variable = ? GROUP BY station) m ON q.station = m.station "
            "AND q.time = m.t WHERE q.variable = ?", (self.variable, self.variable))
        last_flag = dict(flags)
        for station in stations:
            sid, last = station.id, station.last_seen
            if last is None:
                status = "none"
            elif ref - last > max(3 * self.interval_s, 7200) or last_flag.get(sid) == 4:
                status = "stale"
            elif sid in self.open_alert_stations or last_flag.get(sid) == 3:
                status = "alert"
            else:
                status = "ok"
            self.status[sid] = status
        if not stations:
            return
        lat = np.array([s.latitude for s in stations], float)
        lon = np.array([s.longitude for s in stations], float)
        # the watch layer of the map model: the window's time steps redraw the station
        # layer and leave this one alone
        self.window_.map_model.watch.set(lat, lon, [self.status[s.id] for s in stations])

    # -- actions ----------------------------------------------------------------------
    def acknowledge_selected(self) -> int:
        if self.store is None:
            return 0
        rows = {i.row() for i in self.alerts.selectedIndexes()}
        done = 0
        for r in sorted(rows):
            item = self.alerts.item(r, 0)
            if item is not None and self.store.acknowledge(int(item.text()), "desktop",
                                                           int(time.time())):
                done += 1
        self.refresh()
        return done

    def _notify(self, message: str) -> None:
        if self.tray is not None and QtWidgets.QSystemTrayIcon.supportsMessages():
            self.tray.showMessage("Microclimate watch: new alert", message)
        self.window_.statusBar().showMessage(f"new alert: {message}", 15000)
        self.last_notification = message

    def shutdown(self) -> None:
        self.timer.stop()
        if self.store is not None:
            self.store.close()
            self.store = None
