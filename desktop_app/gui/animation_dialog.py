"""File ▸ Export ▸ Animation…: the time loop of the shown field as a GIF or MP4.

The dialog picks the frame range (valid times), the speed and the frame size; the
frames are drawn and encoded in the window's worker thread (status-bar progress and
Cancel). A cancelled or failed export leaves no file (the writer is atomic).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6 import QtWidgets

from desktop_app.core.progress import Progress
from desktop_app.gui.exports import _stations_with_flags, shown_field_dataset
from desktop_app.gui.widgets import add_rows
from desktop_app.viz.animation import FORMATS, MAX_FPS, write_animation

if TYPE_CHECKING:
    from desktop_app.gui.main_window import MainWindow

TASK = "Export animation"


class AnimationDialog(QtWidgets.QDialog):
    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window_ = window
        self.setWindowTitle("Export animation")
        times = window.view.times
        labels = [f"{np.datetime_as_string(t, unit='m').replace('T', ' ')} UTC" for t in times]
        self.start_box, self.stop_box = QtWidgets.QComboBox(), QtWidgets.QComboBox()
        for box in (self.start_box, self.stop_box):
            box.addItems(labels)
            box.setMinimumContentsLength(20)
        self.stop_box.setCurrentIndex(len(labels) - 1)
        self.fps_box = QtWidgets.QDoubleSpinBox()
        self.fps_box.setRange(0.1, MAX_FPS)
        self.fps_box.setValue(4.0)
        self.fps_box.setSuffix(" frames/s")
        self.width_box, self.height_box = QtWidgets.QSpinBox(), QtWidgets.QSpinBox()
        for spin, value in ((self.width_box, 1280), (self.height_box, 720)):
            spin.setRange(200, 4096)
            spin.setValue(value)
            spin.setSuffix(" px")
        self.path_edit = QtWidgets.QLineEdit()
        self.path_edit.setPlaceholderText("loop.gif or loop.mp4")
        browse = QtWidgets.QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        path_row = QtWidgets.QHBoxLayout()
        path_row.addWidget(self.path_edit, 1)
        path_row.addWidget(browse)
        self.count_label = QtWidgets.QLabel()
        for box in (self.start_box, self.stop_box):
            box.currentIndexChanged.connect(self._update_count)
        form = QtWidgets.QFormLayout()
        add_rows(form, [
            ("From", self.start_box),
            ("To", self.stop_box),
            ("", self.count_label),
            ("Speed", self.fps_box),
            ("Width", self.width_box),
            ("Height", self.height_box),
            ("File", path_row),
        ])
        self.buttons = QtWidgets.QDialogButtonBox(
            QtWidgets.QDialogButtonBox.StandardButton.Save
            | QtWidgets.QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.start)
        self.buttons.rejected.connect(self.reject)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.buttons)
        self._update_count()

    def steps(self) -> list[int]:
        return list(range(self.start_box.currentIndex(), self.stop_box.currentIndex() + 1))

    def _update_count(self) -> None:
        n = len(self.steps())
        self.count_label.setText(f"{n} frames" if n else "'To' is before 'From'")
        save = self.buttons.button(QtWidgets.QDialogButtonBox.StandardButton.Save)
        save.setEnabled(n > 0)

    def _browse(self) -> None:
        name, _ = QtWidgets.QFileDialog.getSaveFileName(
            self, "Export animation", self.path_edit.text(),
            "Animated GIF (*.gif);;MP4 video (*.mp4)")
        if name:
            self.path_edit.setText(name)

    def start(self) -> bool:
        """Check the choices, start the export in the worker; False if it did not start."""
        text = self.path_edit.text().strip()
        path = Path(text)
        if not text or path.suffix.lower() not in FORMATS:
            QtWidgets.QMessageBox.warning(self, TASK, "Choose a file name ending in .gif or "
                                                      ".mp4")
            return False
        if self.window_.tasks.busy:
            QtWidgets.QMessageBox.warning(self, TASK, "Another task is running; wait for it "
                                                      "or cancel it first")
            return False
        window = self.window_
        ds, variable = shown_field_dataset(window), window.variable
        steps, fps = self.steps(), self.fps_box.value()
        size = (self.width_box.value(), self.height_box.value())
        cmap, shading = window.cmap_box.currentText(), window.shading_box.isChecked()
        stations = _stations_with_flags(window)

        def job(progress: Progress, cancel: threading.Event) -> Path:
            return write_animation(ds, variable, path, steps, fps, *size, progress=progress,
                                   cancel=cancel, cmap=cmap, shading=shading,
                                   stations=stations)

        started = window.tasks.start(TASK, job)
        if started:
            self.accept()
        return started


def add_animation_action(window: MainWindow, menu: QtWidgets.QMenu) -> None:
    """The menu entry, and the status message when the export ends."""
    action = menu.addAction("Animation (GIF/MP4)…")
    action.triggered.connect(lambda: AnimationDialog(window).open())

    def finished(name: str, result: object) -> None:
        if name == TASK:
            window.statusBar().showMessage(f"exported {result}", 5000)

    window.tasks.finished.connect(finished)
