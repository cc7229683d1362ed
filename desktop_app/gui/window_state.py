"""Window geometry, view choices and recent regions, kept between sessions.

Stored with QSettings in an INI file in our config folder (so MICROCLIMATE_HOME moves it
too), never in the strict user settings file.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6 import QtCore

from desktop_app import paths

if TYPE_CHECKING:
    from desktop_app.gui.main_window import MainWindow

MAX_RECENT = 8


def _settings() -> QtCore.QSettings:
    path = paths.config_dir() / "window.ini"
    return QtCore.QSettings(str(path), QtCore.QSettings.Format.IniFormat)


def save(window: MainWindow) -> None:
    s = _settings()
    s.setValue("geometry", window.saveGeometry())
    s.setValue("state", window.saveState())
    s.setValue("variable", window.variable)
    s.setValue("shading", window.shading_box.isChecked())
    s.sync()


def restore(window: MainWindow) -> None:
    s = _settings()
    geometry = s.value("geometry")
    if isinstance(geometry, QtCore.QByteArray):
        window.restoreGeometry(geometry)
    state = s.value("state")
    if isinstance(state, QtCore.QByteArray):
        window.restoreState(state)
    shading = s.value("shading")
    if shading is not None:
        window.shading_box.setChecked(str(shading).lower() == "true")
    variable = s.value("variable")
    index = window.variable_box.findData(variable)
    if index >= 0:
        window.variable_box.setCurrentIndex(index)


def recent_regions() -> list[Path]:
    value = _settings().value("recent_regions") or []
    items = [value] if isinstance(value, str) else list(value)  # QSettings: 1 item = str
    return [Path(p) for p in items if Path(p).exists()][:MAX_RECENT]


def remember_region(path: Path) -> None:
    items = [str(path)] + [str(p) for p in recent_regions() if p != path]
    s = _settings()
    s.setValue("recent_regions", items[:MAX_RECENT])
    s.sync()


def colormap_for(variable: str) -> str | None:
    value = _settings().value(f"colormap/{variable}")
    return str(value) if value else None


def remember_colormap(variable: str, cmap: str) -> None:
    s = _settings()
    s.setValue(f"colormap/{variable}", cmap)
    s.sync()
