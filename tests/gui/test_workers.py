import threading
import time

import pytest
from PySide6 import QtCore, QtWidgets

from desktop_app.errors import CancelledError, DataSourceError
from desktop_app.gui.workers import TaskRunner

pytestmark = pytest.mark.gui


@pytest.fixture
def runner(qtbot):
    win = QtWidgets.QMainWindow()
    qtbot.addWidget(win)
    win.show()
    r = TaskRunner(win.statusBar(), show_errors=False)
    yield r
    r.cancel()
    r.wait()


def _steps(n, delay, result="ok"):
    def job(progress, cancel: threading.Event):
        for k in range(n):
            if cancel.is_set():
                raise CancelledError("stopped")
            time.sleep(delay)
            progress((k + 1) / n, f"step {k + 1}")
        return result
    return job


def test_job_runs_off_the_gui_thread_and_reports_progress(runner, qtbot):
    ticks = []
    timer = QtCore.QTimer()
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(10)
    seen = []
    runner.bar.valueChanged.connect(seen.append)
    with qtbot.waitSignal(runner.finished, timeout=10000) as blocker:
        assert runner.start("Demo", _steps(10, 0.05, result=42))
        assert not runner.start("Second", _steps(1, 0))  # one at a time
    timer.stop()
    assert blocker.args == ["Demo", 42]
    assert len(ticks) >= 10  # the event loop kept running during the job
    assert seen and seen[-1] == 1000
    assert not runner.busy and runner.bar.isHidden()


def test_cancel_stops_the_job(runner, qtbot):
    with qtbot.waitSignal(runner.cancelled, timeout=10000) as blocker:
        runner.start("Long", _steps(1000, 0.01))
        qtbot.wait(100)
        runner.cancel_button.click()
    assert blocker.args == ["Long"]
    assert not runner.busy


def test_errors_become_a_message_not_a_crash(runner, qtbot):
    def failing(progress, cancel):
        raise DataSourceError("HTTP 429 from https://example.invalid/v1: too many requests")

    with qtbot.waitSignal(runner.failed, timeout=10000) as blocker:
        runner.start("Fetch", failing)
    assert blocker.args[0] == "Fetch"
    assert "HTTP 429" in blocker.args[1]
    assert runner.start("Again", _steps(1, 0))  # the runner is usable afterwards
    runner.wait()


def test_an_unexpected_bug_is_reported_too(runner, qtbot):
    with qtbot.waitSignal(runner.failed, timeout=10000) as blocker:
        runner.start("Buggy", lambda p, c: 1 / 0)
    assert "ZeroDivisionError" in blocker.args[1]


def test_many_short_tasks_each_end_with_their_own_signal(runner, qtbot):
    """Work that ends at once, again and again: every task ends with one signal that
    carries its result (emitting from worker threads once lost one now and then)."""
    results = []
    runner.finished.connect(lambda name, result: results.append((name, result)))
    for k in range(60):
        def quick(progress, cancel, k=k):
            progress(0.5, "half")
            progress(1.0, "done")
            return k
        with qtbot.waitSignal(runner.finished, timeout=5000):
            assert runner.start(f"t{k}", quick)
        assert not runner.busy
        assert runner.bar.value() == 1000  # the last progress is drawn before the end
    assert results == [(f"t{k}", k) for k in range(60)]


def test_the_work_runs_on_another_thread(runner, qtbot):
    main = threading.get_ident()
    with qtbot.waitSignal(runner.finished, timeout=5000) as blocker:
        runner.start("Where", lambda p, c: threading.get_ident())
    assert blocker.args[1] != main
