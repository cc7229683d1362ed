import gc
from contextlib import contextmanager

import pytest
from PySide6 import QtWidgets

from desktop_app.gui.main_window import MainWindow
from desktop_app.gui.region_view import RegionView
from desktop_app.sources.region import load_region


@pytest.fixture(scope="session")
def sample_region():
    return load_region()


@pytest.fixture
def window(qtbot, qapp, sample_region, tmp_path, monkeypatch):
    monkeypatch.setenv("MICROCLIMATE_HOME", str(tmp_path / "home"))
    with shown_window(qtbot, qapp, sample_region) as win:
        yield win


@contextmanager
def shown_window(qtbot, qapp, region, settle_ms=100):
    """The main window on ``region``, shown, drawn once and given ``settle_ms`` to
    settle; closed afterwards (:func:`close_window`)."""
    win = MainWindow(RegionView(region))
    qtbot.addWidget(win)
    with qtbot.waitSignal(win.map.drawn, timeout=20000):
        win.show()
    qtbot.waitExposed(win)
    qtbot.wait(settle_ms)
    yield win
    close_window(win, qapp)


def close_window(win, qapp):
    """Release the GL canvas while Qt is alive: GL objects left to interpreter shutdown
    are freed after QApplication and abort the process."""
    win.tasks.cancel()
    win.tasks.wait()
    win.close()
    win.map.canvas.close()
    win.deleteLater()
    qapp.processEvents()


@pytest.fixture(autouse=True)
def no_keys_held_afterwards(qapp):
    """Qt keeps the modifiers of the last input event as the ones held: a test ending
    with a Shift+drag left Shift "held" for the next test in the same process, where
    selectRow() then extended a selection instead of replacing it. Let go of them."""
    yield
    from PySide6 import QtCore, QtGui
    from PySide6.QtTest import QTest

    if QtGui.QGuiApplication.keyboardModifiers() != QtCore.Qt.KeyboardModifier.NoModifier:
        target = QtWidgets.QWidget()
        for key in (QtCore.Qt.Key.Key_Shift, QtCore.Qt.Key.Key_Control, QtCore.Qt.Key.Key_Alt,
                    QtCore.Qt.Key.Key_Meta):
            QTest.keyRelease(target, key, QtCore.Qt.KeyboardModifier.NoModifier)
        target.deleteLater()
    assert QtGui.QGuiApplication.keyboardModifiers() == QtCore.Qt.KeyboardModifier.NoModifier


@pytest.fixture(autouse=True)
def qt_objects_freed_in_their_own_test(qapp):
    """Free what a GUI test made at its own end, not in whichever later test (in the same
    pytest-xdist worker) next triggers the cyclic garbage collector: widgets, canvases and
    timers whose Python wrappers sit in reference cycles are otherwise destroyed at a
    random point of another test, with their window and GL context long closed."""
    yield
    qapp.processEvents()  # (this test's deleteLater() calls)
    gc.collect()
    qapp.processEvents()


@pytest.fixture(autouse=True)
def no_unexpected_message_box(monkeypatch):
    """A modal warning that nobody clicks waits for ever: a task that failed when the
    test did not expect it would stall the run in QMessageBox.warning's own event loop.
    Here such a box is recorded and fails its test, with its text; a test that expects
    warnings takes :func:`messages`, which replaces this."""
    unexpected: list[str] = []
    monkeypatch.setattr(QtWidgets.QMessageBox, "warning",
                        lambda parent, title, text: unexpected.append(f"{title}: {text}"))
    yield unexpected
    assert not unexpected, f"a warning box the test did not expect: {unexpected}"


@pytest.fixture
def messages(monkeypatch):
    """Warnings the GUI would show in a message box, recorded instead of blocking."""
    shown: list[str] = []
    monkeypatch.setattr(QtWidgets.QMessageBox, "warning",
                        lambda parent, title, text: shown.append(text))
    return shown
