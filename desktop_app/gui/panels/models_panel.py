"""Models: the registry (bundled and installed), the card of each, install/use/rollback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6 import QtWidgets

from desktop_app.errors import MicroclimateError
from desktop_app.inference.registry import ModelEntry, ModelRegistry

if TYPE_CHECKING:
    from desktop_app.gui.main_window import MainWindow

COLUMNS = ("model", "origin", "trained", "variables", "active for")


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
        for b in (self.install_button, self.use_button, self.rollback_button):
            buttons.addWidget(b)
        layout.addWidget(self.table, 2)
        layout.addLayout(buttons)
        layout.addWidget(QtWidgets.QLabel("Model card"))
        layout.addWidget(self.info, 3)
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
                     ", ".join(variables), ", ".join(active))
            for col, text in enumerate(cells):
                self.table.setItem(row, col, QtWidgets.QTableWidgetItem(text))
        self.table.resizeColumnsToContents()
        if self.entries and not self.table.selectedItems():
            self.table.selectRow(0)

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

    def _ask_install(self) -> None:
        name, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Install model", "",
                                                        "ONNX model (*.onnx)")
        if name:
            self.install(Path(name))

    def install(self, path: Path) -> bool:
        return self._act(lambda r: r.install(path), f"installed {path.name}")

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
