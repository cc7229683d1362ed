"""Long work off the GUI thread, with progress and cancel.

Work is a plain function ``work(progress, cancel) -> result`` from the domain layers:
``progress(fraction, message)`` reports, ``cancel`` is a ``threading.Event`` the work
checks between steps (raising :class:`CancelledError`). The runner shows a progress bar
and a Cancel button in the status bar; a :class:`MicroclimateError` becomes a message
box and the window keeps working.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from PySide6 import QtCore, QtWidgets

from desktop_app.core.progress import Progress
from desktop_app.errors import CancelledError, MicroclimateError

Work = Callable[[Progress, threading.Event], Any]


class _Signals(QtCore.QObject):
    progress = QtCore.Signal(float, str)
    done = QtCore.Signal(object)
    failed = QtCore.Signal(str)
    cancelled = QtCore.Signal()


class _Task(QtCore.QRunnable):
    def __init__(self, work: Work, cancel: threading.Event, signals: _Signals) -> None:
        super().__init__()
        self.work, self.cancel, self.signals = work, cancel, signals

    def run(self) -> None:
        try:
            result = self.work(lambda f, m: self.signals.progress.emit(float(f), str(m)),
                              self.cancel)
        except CancelledError:
            self.signals.cancelled.emit()
        except MicroclimateError as exc:
            self.signals.failed.emit(str(exc))
        except Exception as exc:  # noqa: BLE001 - a bug must not kill the window
            self.signals.failed.emit(f"unexpected error: {type(exc).__name__}: {exc}")
        else:
            if self.cancel.is_set():
                self.signals.cancelled.emit()
            else:
                self.signals.done.emit(result)


class TaskRunner(QtCore.QObject):
    """Runs one piece of work at a time per runner and drives a progress bar + Cancel button."""

    finished = QtCore.Signal(str, object)  # (task name, result)
    failed = QtCore.Signal(str, str)  # (task name, message)
    cancelled = QtCore.Signal(str)

    def __init__(self, status_bar: QtWidgets.QStatusBar, show_errors: bool = True) -> None:
        super().__init__(status_bar)
        self.pool = QtCore.QThreadPool(self)
        self.pool.setMaxThreadCount(2)
        self.bar = QtWidgets.QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setMaximumWidth(220)
        self.bar.setTextVisible(True)
        self.cancel_button = QtWidgets.QPushButton("Cancel")
        self.label = QtWidgets.QLabel()
        for widget in (self.label, self.bar, self.cancel_button):
            status_bar.addPermanentWidget(widget)
            widget.hide()
        self.cancel_button.clicked.connect(self.cancel)
        self.show_errors = show_errors
        self.name: str | None = None
        self._cancel: threading.Event | None = None
        self._signals: _Signals | None = None

    @property
    def busy(self) -> bool:
        return self.name is not None

    def start(self, name: str, work: Work) -> bool:
        """Start ``work``; False (and nothing started) if other work is running."""
        if self.busy:
            return False
        self.name = name
        self._cancel = threading.Event()
        signals = _Signals()
        signals.progress.connect(self._on_progress)
        signals.done.connect(lambda result: self._end("finished", result))
        signals.failed.connect(lambda message: self._end("failed", message))
        signals.cancelled.connect(lambda: self._end("cancelled", None))
        self._signals = signals  # keep alive until the work ends
        self.label.setText(name)
        self.bar.setValue(0)
        self.bar.setFormat(f"{name}: starting")
        for widget in (self.label, self.bar, self.cancel_button):
            widget.show()
        self.cancel_button.setEnabled(True)
        self.pool.start(_Task(work, self._cancel, signals))
        return True

    def cancel(self) -> None:
        if self._cancel is not None:
            self._cancel.set()
            self.cancel_button.setEnabled(False)
            self.bar.setFormat("cancelling…")

    def _on_progress(self, fraction: float, message: str) -> None:
        self.bar.setValue(round(max(0.0, min(1.0, fraction)) * 1000))
        self.bar.setFormat(f"{message} %p%" if message else "%p%")

    def _end(self, how: str, payload: object) -> None:
        name = self.name or ""
        self.name, self._cancel, self._signals = None, None, None
        for widget in (self.label, self.bar, self.cancel_button):
            widget.hide()
        if how == "finished":
            self.finished.emit(name, payload)
        elif how == "failed":
            self.failed.emit(name, str(payload))
            if self.show_errors:
                parent = self.parent()
                window = parent.window() if isinstance(parent, QtWidgets.QWidget) else None
                QtWidgets.QMessageBox.warning(window, f"{name} failed", str(payload))
        else:
            self.cancelled.emit(name)

    def wait(self, msecs: int = 30000) -> bool:
        return self.pool.waitForDone(msecs)
