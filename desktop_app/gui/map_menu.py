"""View menu entries for the map: a toggle per map layer, display units, time zone and
the stepped palette. Layers are switched on the map model; units are saved in the
settings file (data stay in CF units, only what people read changes)."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from PySide6 import QtGui, QtWidgets

from desktop_app.core.display import TEMPERATURE_UNITS, TIME_ZONES, WIND_UNITS, DisplayUnits
from desktop_app.errors import MicroclimateError
from desktop_app.settings import Settings, load_settings, save_settings

if TYPE_CHECKING:
    from desktop_app.gui.main_window import MainWindow

# layers a user switches on and off (the field and hillshade have their own controls)
TOGGLED_LAYERS = ("basemap", "graticule", "places", "stations", "watch", "scalebar")


def load_display_settings() -> Settings:
    try:
        return load_settings()
    except MicroclimateError:
        return Settings()  # a broken settings file is reported where settings are edited


def display_units(settings: Settings) -> DisplayUnits:
    return DisplayUnits(settings.temperature_unit, settings.wind_unit, settings.time_zone)


def add_map_menu(window: MainWindow, menu: QtWidgets.QMenu) -> dict[str, QtGui.QAction]:
    """Fill ``menu``; returns the actions by key (layer names, units) for tests."""
    actions: dict[str, QtGui.QAction] = {}
    menu.addSeparator()
    for name in TOGGLED_LAYERS:
        layer = window.map_model.layers[name]
        action = menu.addAction(layer.title)
        action.setCheckable(True)
        action.setChecked(layer.visible)
        action.toggled.connect(lambda on, layer=layer: layer.set_visible(on))
        actions[name] = action
    menu.addSeparator()
    stepped = menu.addAction("Stepped palette")
    stepped.setCheckable(True)
    stepped.setChecked(window.display_settings.stepped_palette)
    stepped.toggled.connect(lambda on: _change(window, stepped_palette=on))
    actions["stepped"] = stepped
    for title, key, choices in (("Temperature unit", "temperature_unit", TEMPERATURE_UNITS),
                                ("Wind unit", "wind_unit", WIND_UNITS),
                                ("Time zone", "time_zone", TIME_ZONES)):
        sub = menu.addMenu(title)
        group = QtGui.QActionGroup(sub)
        for choice in choices:
            action = sub.addAction(choice)
            action.setCheckable(True)
            action.setChecked(getattr(window.display_settings, key) == choice)
            group.addAction(action)
            action.triggered.connect(lambda _c=False, k=key, v=choice: _change(window, **{k: v}))
            actions[f"{key}:{choice}"] = action
    return actions


def _change(window: MainWindow, **changes: object) -> None:
    window.display_settings = replace(window.display_settings, **changes)  # type: ignore[arg-type]
    try:
        save_settings(window.display_settings)
    except OSError as exc:
        window.statusBar().showMessage(f"settings not saved: {exc}", 8000)
    window.apply_display_settings()
