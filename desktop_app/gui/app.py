"""Start the Qt application, open the main window, optionally save a screenshot."""

from __future__ import annotations

import gc
import os
import sys
import time
from pathlib import Path
from typing import NoReturn

from PySide6 import QtCore, QtWidgets

from desktop_app.errors import DataFileError
from desktop_app.gui.main_window import MainWindow
from desktop_app.gui.region_view import RegionView
from desktop_app.lazy_dask import defer_dask
from desktop_app.sources.region import open_data
from desktop_app.viz.export import save_png

SCREENSHOT_SETTLE_MS = 300
# the cyclic collector, off since the launch (desktop_app.launch), is back on at the first
# map frame, or after this long if no frame comes (a window that is never exposed)
COLLECTOR_OFF_AT_MOST_MS = 10_000


def collector_back_at_first_frame(window: MainWindow) -> bool:
    """Turn the cyclic garbage collector back on at the window's first frame (it was
    turned off at the launch to start faster); False where it was on already (a window
    started in a process of its own making, the tests), and then nothing changes."""
    if gc.isenabled():
        return False

    def back() -> None:
        window.map.drawn.disconnect(back)
        gc.enable()

    window.map.drawn.connect(back)
    QtCore.QTimer.singleShot(COLLECTOR_OFF_AT_MOST_MS, gc.enable)
    return True


def ensure_app() -> QtWidgets.QApplication:
    app = QtWidgets.QApplication.instance()
    if app is None:
        app = QtWidgets.QApplication(sys.argv[:1])
        app.setApplicationName("Microclimate Desk")
        app.setOrganizationName("microclimate-desk")
        app.setStyle("Fusion")
    assert isinstance(app, QtWidgets.QApplication)
    return app


def end_process(code: int) -> NoReturn:
    """End the GUI process now, skipping the interpreter's teardown.

    The window is closed, its settings synced and every output renamed into place by
    now. The final garbage collection of the C extensions (Qt, vispy and PyOpenGL, GDAL
    and PROJ side by side) has aborted the process after a successful run ("bool_dealloc"
    at finalization, exit 134) where Dask is not installed, or not imported: its many
    module objects happened to hide it. The frozen app's entry point ends the same way.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def save_screenshot(window: QtWidgets.QWidget, path: Path) -> Path:
    """Grab the whole window (GL canvas included) and write a PNG atomically."""
    pixmap = window.grab()
    if pixmap.isNull():
        raise DataFileError(f"could not grab the window for {path}")
    return save_png(pixmap.toImage(), path)


def no_huge_page_stalls() -> bool:
    """Stop numpy asking Linux for transparent huge pages in this process, unless the
    user chose with ``NUMPY_MADVISE_HUGEPAGE``; True when the setting changed.

    numpy marks every array over 4 MiB MADV_HUGEPAGE. Where the kernel's THP ``defrag``
    setting is "madvise" (Debian's default) and free memory is fragmented, the first
    touch of such an array waits while the kernel compacts memory (numpy issue 31590).
    On the 2-core test machine, with other programs running, the window's baseline
    fields took 0.3-4 s that way for 0.1 s of arithmetic. The window's arrays are a few
    MB to a few hundred: their page faults cost less than one such stall.
    """
    if "NUMPY_MADVISE_HUGEPAGE" in os.environ:
        return False
    import numpy as np

    core = getattr(np, "_core", None) or np.core  # numpy 2.x, 1.x
    get = getattr(core.multiarray, "_get_madvise_hugepage", None)
    set_ = getattr(core.multiarray, "_set_madvise_hugepage", None)
    if get is None or set_ is None or not get():
        return False
    set_(False)
    return True


def run_gui(data_path: Path | None = None, screenshot: Path | None = None) -> int:
    started = time.perf_counter()
    no_huge_page_stalls()
    defer_dask()  # xarray would import Dask (a second) to learn that nothing is Dask yet
    region = open_data(data_path)  # bad data fails here, before any display is needed
    app = ensure_app()
    window = MainWindow(RegionView(region))
    collector_back_at_first_frame(window)
    # the first frame is drawn inside show() under some platforms (Xvfb among them): every
    # listener for it is connected before, or it hears the second frame, after the panels
    if screenshot is None:
        first = {"done": False}

        def report_first_frame() -> None:
            if not first["done"]:
                first["done"] = True
                took = time.perf_counter() - started
                window.statusBar().showMessage(f"map shown {took:.2f} s after start", 5000)

        window.map.drawn.connect(report_first_frame)
        window.show()
        return int(app.exec())

    result = {"code": 1}

    def shoot() -> None:
        # the panels built after the first frame resize the map; let that land first
        app.processEvents()
        window.map.settle()
        try:
            save_screenshot(window, screenshot)
            took = time.perf_counter() - started
            print(f"screenshot saved to {screenshot} ({took:.2f} s after start)")
            result["code"] = 0
        except DataFileError as exc:
            print(f"microclimate gui: error: {exc}", file=sys.stderr)
        app.quit()

    def on_drawn() -> None:
        window.map.drawn.disconnect(on_drawn)
        # the wall clock too, so a launcher can measure from its own start of the process
        # and the process's CPU time (all threads, imports included): on a busy machine
        # the wall clock says more about the other programs than about this one
        print(f"map drawn at {time.time():.3f} ({time.perf_counter() - started:.2f} s "
              f"after start; {time.process_time():.2f} CPU s)", flush=True)
        QtCore.QTimer.singleShot(SCREENSHOT_SETTLE_MS, shoot)

    window.map.drawn.connect(on_drawn)
    window.show()
    app.exec()
    window.close()
    return result["code"]
