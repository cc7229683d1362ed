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
    win = MainWindow(RegionView(sample_region))
    qtbot.addWidget(win)
    with qtbot.waitSignal(win.map.drawn, timeout=20000):
        win.show()
    qtbot.waitExposed(win)
    qtbot.wait(100)
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


@pytest.fixture
def messages(monkeypatch):
    """Warnings the GUI would show in a message box, recorded instead of blocking."""
    shown: list[str] = []
    monkeypatch.setattr(QtWidgets.QMessageBox, "warning",
                        lambda parent, title, text: shown.append(text))
    return shown
