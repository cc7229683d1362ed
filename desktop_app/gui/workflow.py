"""The Workflow dock's panels (Data, QC, Forecast, Models, Training, Watch), built late.

The panels import most of the application (sources and httpx, the QC kernels and Numba,
the watch, the trainer client); building them before the first map frame cost the
window seconds at start-up. The dock and its tab widget exist from the start (so the
saved window layout restores), and :func:`build` fills them once the map has been
drawn, or at once when code asks for a panel first (``window.qc_panel``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from PySide6 import QtCore, QtWidgets

if TYPE_CHECKING:
    from desktop_app.gui.main_window import MainWindow

# attribute on the window, tab title, module in desktop_app.gui.panels, class
PANELS = (
    ("data_panel", "Data", "data_panel", "DataPanel"),
    ("qc_panel", "QC", "qc_panel", "QCPanel"),
    ("forecast_panel", "Forecast", "forecast_panel", "ForecastPanel"),
    ("models_panel", "Models", "models_panel", "ModelsPanel"),
    ("training_panel", "Training", "training_panel", "TrainingPanel"),
    ("watch_panel", "Watch", "watch_panel", "WatchPanel"),
)
ATTRIBUTES = frozenset(p[0] for p in PANELS)
# the order the panels were constructed in before they were made lazy: the Forecast
# panel before the Models panel, whose refresh calls it
BUILD_ORDER = ("forecast_panel", "models_panel", "qc_panel", "data_panel", "training_panel",
               "watch_panel")


def add_dock(window: MainWindow) -> QtWidgets.QTabWidget:
    """The (empty) Workflow dock, its tabs and the Panels menu entry."""
    tabs = QtWidgets.QTabWidget()
    dock = QtWidgets.QDockWidget("Workflow", window)
    dock.setObjectName("workflowDock")
    dock.setWidget(tabs)
    window.addDockWidget(QtCore.Qt.DockWidgetArea.RightDockWidgetArea, dock)
    window.menuBar().addMenu("&Panels").addAction(dock.toggleViewAction())
    return tabs


def built(window: MainWindow) -> bool:
    return "watch_panel" in vars(window)


def build(window: MainWindow) -> None:
    """Construct every panel once, as window attributes, and add their tabs."""
    if built(window) or getattr(window, "_building_panels", False):
        return
    window._building_panels = True
    try:
        by_attr = {p[0]: p for p in PANELS}
        for attr in BUILD_ORDER:
            _, _, module, cls = by_attr[attr]
            panel_type = getattr(importlib.import_module(f"desktop_app.gui.panels.{module}"),
                                 cls)
            setattr(window, attr, panel_type(window))
        for attr, title, _, _ in PANELS:
            window.panels.addTab(getattr(window, attr), title)
    finally:
        window._building_panels = False
