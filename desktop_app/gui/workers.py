"""Long work off the GUI thread, with progress and cancel.

Work is a plain function ``work(progress, cancel) -> result`` from the domain layers:
``progress(fraction, message)`` reports, ``cancel`` is a ``threading.Event`` the work
checks between steps (raising :class:`CancelledError`). The runner shows a progress bar
and a Cancel button in the status bar; a :class:`MicroclimateError` becomes a message
box and the window keeps working.

The worker thread touches no Qt object. It puts what it has to say (progress, the
result, the error) on a queue, and a timer on the GUI thread reads the queue. Before,
the worker emitted signals of a QObject that the GUI thread created and dropped, so
whichever thread let go of it last destroyed it, possibly the worker with events for
it still queued; a queue has no such lifetime to get wrong.
``tests/gui/test_workers.py`` runs many short tasks back to back, each of which must
end with its own signal.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any

from PySide6 import QtCore, QtWidgets

from desktop_app.core.progress import Progress
from desktop_app.errors import CancelledError, MicroclimateError

Work = Callable[[Progress, threading.Event], Any]

POLL_MS = 20  # how often the GUI thread reads what the worker said


class _Job:
    """One piece of work on its own thread; what it says goes onto ``messages``."""

    def __init__(self, name: str, work: Work) -> None:
        self.cancel = threading.Event()
        self.messages: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._run, args=(work,),
                                       name=f"task: {name}", daemon=True)

    def _run(self, work: Work) -> None:
        put = self.messages.put
        try:
            result = work(lambda f, m: put(("progress", (float(f), str(m)))), self.cancel)
        except CancelledError:
            put(("cancelled", None))
        except MicroclimateError as exc:
            put(("failed", str(exc)))
        except Exception as exc:  # noqa: BLE001 - a bug must not kill the window
            put(("failed", f"unexpected error: {type(exc).__name__}: {exc}"))
        else:
            put(("cancelled", None) if self.cancel.is_set() else ("finished", result))


class TaskRunner(QtCore.QObject):
    """Runs one piece of work at a time per runner and drives a progress bar + Cancel button."""

    finished = QtCore.Signal(str, object)  # (task name, result)
    failed = QtCore.Signal(str, str)  # (task name, message)
    cancelled = QtCore.Signal(str)

    def __init__(self, status_bar: QtWidgets.QStatusBar, show_errors: bool = True) -> None:
        super().__init__(status_bar)
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
        self._job: _Job | None = None
        self._threads: list[threading.Thread] = []  # every job's, for wait()
        self._timer = QtCore.QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self._drain)

    @property
    def busy(self) -> bool:
        return self.name is not None

    def start(self, name: str, work: Work) -> bool:
        """Start ``work``; False (and nothing started) if other work is running."""
        if self.busy:
            return False
        self.name = name
        self._job = job = _Job(name, work)
        self.label.setText(name)
        self.bar.setValue(0)
        self.bar.setFormat(f"{name}: starting")
        for widget in (self.label, self.bar, self.cancel_button):
            widget.show()
        self.cancel_button.setEnabled(True)
        self._threads = [t for t in self._threads if t.is_alive()] + [job.thread]
        job.thread.start()
        self._timer.start()
        return True

    def cancel(self) -> None:
        if self._job is not None:
            self._job.cancel.set()
            self.cancel_button.setEnabled(False)
            self.bar.setFormat("cancelling…")

    def _drain(self) -> None:
        """Read what the running job said since the last tick (GUI thread)."""
        job = self._job
        if job is None:
            self._timer.stop()
            return
        latest: tuple[float, str] | None = None
        while True:
            try:
                kind, payload = job.messages.get_nowait()
            except queue.Empty:
                break
            if kind == "progress":
                latest = payload  # only the newest one is worth drawing
                continue
            if latest is not None:
                self._on_progress(*latest)
            self._end(kind, payload)
            return
        if latest is not None:
            self._on_progress(*latest)

    def _on_progress(self, fraction: float, message: str) -> None:
        self.bar.setValue(round(max(0.0, min(1.0, fraction)) * 1000))
        self.bar.setFormat(f"{message} %p%" if message else "%p%")

    def _end(self, how: str, payload: object) -> None:
        name = self.name or ""
        self.name, self._job = None, None
        self._timer.stop()
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
        """Block until every job this runner started has returned (at most ``msecs``);
        what they said is read at the next tick of the event loop."""
        deadline = msecs / 1000
        for thread in self._threads:
            thread.join(max(0.0, deadline))
        return not any(t.is_alive() for t in self._threads)
