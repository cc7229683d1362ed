import tomllib
from pathlib import Path

import pytest
from PySide6 import QtCore

from desktop_app import licence_notices

pytestmark = pytest.mark.gui

ROOT = Path(__file__).resolve().parents[2]


def menu_action(window, menu_title: str, text: str):
    for action in window.menuBar().actions():
        if action.text() == menu_title:
            return next(a for a in action.menu().actions() if a.text() == text)
    raise AssertionError(f"no menu {menu_title}")


def test_help_about_shows_pyproject_version_and_licences(window, qtbot):
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert "about_dialog" not in vars(window)  # built when asked for, not at start-up
    menu_action(window, "&Help", "&About Microclimate Desk").trigger()
    about = window.about_dialog
    qtbot.waitExposed(about)
    assert f"Microclimate Desk {version}" in about.label.text()
    assert "Licence: Apache-2.0" in about.label.text()
    qtbot.mouseClick(about.licences_button, QtCore.Qt.MouseButton.LeftButton)
    assert about.licences is not None
    qtbot.waitExposed(about.licences)
    text = about.licences.text.toPlainText()
    # from a source tree: made from the installed runtime dependencies' metadata
    for name in ("PySide6_Essentials", "numpy", "vispy", "onnx", "xarray"):
        assert f"\n  {name}" in text or f"\n  {name.lower()}" in text.lower(), name
    assert "\n  torch " not in text  # the trainer's stack is an extra, not a dependency
    about.licences.close()
    about.close()


def test_runtime_distributions_follow_requirements_without_extras():
    names = {licence_notices.canonical(d.metadata["Name"]) for d in
             licence_notices.runtime_distributions()}
    assert {"numpy", "pyside6-essentials", "shiboken6", "numba", "llvmlite"} <= names
    assert not names & {"torch", "fastapi", "pytest", "microclimate-desk"}
    numpy = next(d for d in licence_notices.runtime_distributions()
                 if d.metadata["Name"] == "numpy")
    paths = [p for p, _ in licence_notices.licence_files(numpy)]
    assert any(p.endswith("LICENSE.txt") for p in paths)


def test_an_installed_grib_addon_adds_its_notice_to_the_bundles(tmp_path, monkeypatch):
    """In the installer, About shows the bundle's notice file, and the GRIB add-on's after
    it once the add-on is unpacked beside it (both written by packaging/microclimate.spec)."""
    monkeypatch.setattr(licence_notices, "install_root", lambda: tmp_path)
    (tmp_path / licence_notices.NOTICE_FILE).write_text("numpy: BSD-3-Clause\n")
    assert licence_notices.notice_text() == "numpy: BSD-3-Clause\n"
    (tmp_path / licence_notices.GRIB_NOTICE_FILE).write_text("cfgrib: Apache-2.0\n")
    text = licence_notices.notice_text()
    assert text.startswith("numpy: BSD-3-Clause\n")
    assert "THE GRIB ADD-ON" in text and text.endswith("cfgrib: Apache-2.0\n")
