"""Models: the registry (bundled and installed), the card of each, install/use/rollback;
for a fine-tuned model its gate (fine-tuned vs base vs baseline vs bilinear at the
held-out stations) side by side, and the tracked training runs behind each model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6 import QtCore, QtWidgets

from desktop_app.errors import MicroclimateError
from desktop_app.inference.registry import GATE_LABELS, ModelEntry, ModelRegistry
from desktop_app.tracking import runs_for

if TYPE_CHECKING:
    from desktop_app.gui.main_window import MainWindow

COLUMNS = ("model", "origin", "trained", "variables", "active for", "gate")
GATE_COLUMNS = ("RMSE", "MAE", "bias")
RUN_COLUMNS = ("run", "kind", "status", "started", "val_rmse", "model", "store folder")


def gate_state(entry: ModelEntry) -> str:
    gate = entry.card.metrics.get("gate")
    if not isinstance(gate, dict):
        return ""
    if gate.get("passed"):
        return f"passed vs {gate.get('base')}"
    return f"{'FORCED' if gate.get('forced') else 'refused'} vs {gate.get('base')}"


def _table(columns: tuple[str, ...]) -> QtWidgets.QTableWidget:
    table = QtWidgets.QTableWidget(0, len(columns))
    table.setHorizontalHeaderLabels(columns)
    table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
    table.horizontalHeader().setStretchLastSection(True)
    return table


class ModelsPanel(QtWidgets.QWidget):
    def __init__(self, window: MainWindow) -> None:
        super().__init__()
        self.window_ = window
        layout = QtWidgets.QVBoxLayout(self)
        self.table = QtWidgets.QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.info = QtWidgets.QPlainTextEdit()
        self.info.setReadOnly(True)
        buttons = QtWidgets.QHBoxLayout()
        self.install_button = QtWidgets.QPushButton("Install…")
        self.use_button = QtWidgets.QPushButton("Use selected")
        self.rollback_button = QtWidgets.QPushButton("Roll back")
        self.force_box = QtWidgets.QCheckBox("Install even if worse than its base")
        self.force_box.setToolTip("A fine-tuned model that lost to its base at the held-out "
                                  "stations is refused unless this is ticked; the "
                                  "installed card then says it was forced.")
        for b in (self.install_button, self.use_button, self.rollback_button):
            buttons.addWidget(b)
        buttons.addWidget(self.force_box)
        self.gate_label = QtWidgets.QLabel()
        self.gate_label.setWordWrap(True)
        self.gate_table = _table(GATE_COLUMNS)
        self.gate_table.setRowCount(len(GATE_LABELS))
        self.gate_table.setVerticalHeaderLabels(list(GATE_LABELS))
        self.runs_table = _table(RUN_COLUMNS)
        gate_page = QtWidgets.QWidget()
        gate_layout = QtWidgets.QVBoxLayout(gate_page)
        gate_layout.addWidget(self.gate_label)
        gate_layout.addWidget(self.gate_table)
        self.tabs = QtWidgets.QTabWidget()
        self.tabs.addTab(self.info, "Model card")
        self.tabs.addTab(gate_page, "Gate: fine-tuned vs base")
        self.tabs.addTab(self.runs_table, "Training runs")
        layout.addWidget(self.table, 2)
        layout.addLayout(buttons)
        layout.addWidget(self.tabs, 3)
        self.table.itemSelectionChanged.connect(self._show_card)
        self.install_button.clicked.connect(self._ask_install)
        self.use_button.clicked.connect(self.use_selected)
        self.rollback_button.clicked.connect(self.rollback)
        self.entries: list[ModelEntry] = []
        self.refresh()

    def refresh(self) -> None:
        registry = ModelRegistry()
        self.entries = registry.entries()
        self.table.setRowCount(len(self.entries))
        for row, entry in enumerate(self.entries):
            variables = [o.variable for o in entry.card.outputs]
            active = [v for v in variables if (a := registry.active(v)) and a.spec == entry.spec]
            cells = (entry.spec, entry.origin, "yes" if entry.card.trained else "NO",
                     ", ".join(variables), ", ".join(active), gate_state(entry))
            for col, text in enumerate(cells):
                self.table.setItem(row, col, QtWidgets.QTableWidgetItem(text))
        self.table.resizeColumnsToContents()
        if self.entries and not self.table.selectedItems():
            # selected outright: selectRow() reads the keyboard modifiers held at this
            # moment, and with Shift held it selects nothing (an empty model card)
            flags = (QtCore.QItemSelectionModel.SelectionFlag.ClearAndSelect
                     | QtCore.QItemSelectionModel.SelectionFlag.Rows)
            self.table.selectionModel().select(self.table.model().index(0, 0), flags)

    def selected(self) -> ModelEntry | None:
        rows = {i.row() for i in self.table.selectedItems()}
        return self.entries[min(rows)] if rows else None

    def _show_card(self) -> None:
        entry = self.selected()
        if entry is None:
            self.info.clear()
            return
        text = json.dumps(entry.card.raw, indent=2) if entry.card.raw else str(entry.card)
        self.info.setPlainText(text)
        self._show_gate(entry)
        self._show_runs(entry)

    def _show_gate(self, entry: ModelEntry) -> None:
        gate = entry.card.metrics.get("gate")
        gate = gate if isinstance(gate, dict) else {}
        self.gate_label.setText(
            f"{gate_state(entry)}: {gate.get('where', '')} ({gate.get('units', '')}, "
            f"n={gate.get('n')}). {gate.get('note', '')}" if gate else
            "Not a fine-tuned model: no comparison with a base.")
        for row, label in enumerate(GATE_LABELS):
            for col, key in enumerate(("rmse", "mae", "bias")):
                value = (gate.get(key) or {}).get(label)
                self.gate_table.setItem(row, col, QtWidgets.QTableWidgetItem(
                    "" if value is None else f"{value:.4f}"))

    def _show_runs(self, entry: ModelEntry) -> None:
        runs = runs_for(entry.card.raw)
        self.runs_table.setRowCount(len(runs))
        for row, run in enumerate(runs):
            val = run.metrics.get("val_rmse")
            cells = (run.run_id[:12], run.tags.get("microclimate.kind", ""), run.status,
                     run.start, "" if val is None else f"{val:.4f}",
                     run.tags.get("microclimate.model", ""), str(run.folder))
            for col, text in enumerate(cells):
                self.runs_table.setItem(row, col, QtWidgets.QTableWidgetItem(text))
        self.runs_table.resizeColumnsToContents()

    def _ask_install(self) -> None:
        name, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Install model", "",
                                                        "ONNX model (*.onnx)")
        if name:
            self.install(Path(name))

    def install(self, path: Path) -> bool:
        force = self.force_box.isChecked()
        return self._act(lambda r: r.install(path, force=force), f"installed {path.name}")

    def use_selected(self) -> bool:
        entry = self.selected()
        return entry is not None and self._act(lambda r: r.use(entry.spec), f"using {entry.spec}")

    def rollback(self) -> bool:
        entry = self.selected()
        variable = entry.card.outputs[0].variable if entry else "temperature"
        return self._act(lambda r: r.rollback(variable), f"rolled back {variable}")

    def _act(self, action: object, done: str) -> bool:
        try:
            action(ModelRegistry())  # type: ignore[operator]
        except MicroclimateError as exc:
            QtWidgets.QMessageBox.warning(self, "Models", str(exc))
            return False
        self.refresh()
        self.window_.statusBar().showMessage(done, 5000)
        self.window_.forecast_panel.refresh_models()
        return True
