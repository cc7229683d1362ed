"""File menu of the main window: new/open region, open a forecast file, recent regions,
exports, quit. Opening runs in the background through the window's task runner."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6 import QtGui, QtWidgets

from desktop_app.errors import CancelledError
from desktop_app.gui import window_state
from desktop_app.gui.exports import add_export_menu
from desktop_app.gui.region_view import RegionView
from desktop_app.sources.region import open_data

if TYPE_CHECKING:
    from desktop_app.gui.main_window import MainWindow


def add_file_menu(window: MainWindow) -> QtWidgets.QMenu:
    """Build File in the window's menu bar; returns its "Open recent" submenu, filled from
    the remembered regions."""
    file_menu = window.menuBar().addMenu("&File")
    new_action = file_menu.addAction("&New region…")
    new_action.setShortcut(QtGui.QKeySequence.StandardKey.New)
    new_action.triggered.connect(window.show_new_region)
    open_action = file_menu.addAction("&Open region…")
    open_action.setShortcut(QtGui.QKeySequence.StandardKey.Open)
    open_action.triggered.connect(lambda: _ask_open_region(window))
    file_menu.addAction("Open &forecast file…").triggered.connect(
        lambda: _ask_open_file(window))
    recent_menu = file_menu.addMenu("Open &recent")
    file_menu.addSeparator()
    add_export_menu(window, file_menu)
    file_menu.addSeparator()
    quit_action = file_menu.addAction("&Quit")
    quit_action.setShortcut(QtGui.QKeySequence.StandardKey.Quit)
    quit_action.triggered.connect(window.close)
    fill_recent_menu(recent_menu, window.open_region)
    return recent_menu


def fill_recent_menu(menu: QtWidgets.QMenu, open_region: Callable[[Path], bool]) -> None:
    menu.clear()
    for path in window_state.recent_regions():
        action = menu.addAction(str(path))
        action.triggered.connect(lambda _c=False, p=path: open_region(p))
    menu.setEnabled(bool(menu.actions()))


def _ask_open_region(window: MainWindow) -> None:
    folder = QtWidgets.QFileDialog.getExistingDirectory(window, "Open region folder")
    if folder:
        window.open_region(Path(folder))


def _ask_open_file(window: MainWindow) -> None:
    name, _ = QtWidgets.QFileDialog.getOpenFileName(
        window, "Open forecast file", "", "NetCDF (*.nc *.nc4);;All files (*)")
    if name:
        window.open_region(Path(name))


def load_view(folder: Path, progress: Callable[[float, str], None],
              cancel: threading.Event) -> RegionView:
    """The background half of opening a region folder or a forecast file."""
    progress(0.1, "reading files")
    region = open_data(folder)
    if cancel.is_set():
        raise CancelledError("open region cancelled")
    progress(0.6, "computing the baseline field")
    return RegionView(region)
