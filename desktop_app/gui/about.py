"""Help > About: version (from the package metadata, i.e. pyproject), licence, and the
licences of the third-party components (the bundle's notice file, or one made from the
installed packages when run from a source tree)."""

from __future__ import annotations

import platform

import PySide6
from PySide6 import QtCore, QtGui, QtWidgets

from desktop_app import __version__


class LicencesDialog(QtWidgets.QDialog):
    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Third-party licences")
        self.resize(760, 600)
        self.text = QtWidgets.QPlainTextEdit()
        self.text.setObjectName("licencesText")
        self.text.setReadOnly(True)
        self.text.setLineWrapMode(QtWidgets.QPlainTextEdit.LineWrapMode.NoWrap)
        self.text.setFont(QtGui.QFontDatabase.systemFont(
            QtGui.QFontDatabase.SystemFont.FixedFont))
        from desktop_app.licence_notices import notice_text  # (metadata: not at start-up)

        self.text.setPlainText(notice_text())
        buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self.text)
        layout.addWidget(buttons)


class AboutDialog(QtWidgets.QDialog):
    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        from desktop_app.licence_notices import app_licence

        self.setWindowTitle("About Microclimate Desk")
        self.licences: LicencesDialog | None = None
        self.label = QtWidgets.QLabel(
            f"<h3>Microclimate Desk {__version__}</h3>"
            "<p>Micro-climate forecasting for weather forecasters: data, QC, local ONNX "
            "downscaling and maps.</p>"
            f"<p>Licence: {app_licence()}</p>"
            f"<p>Python {platform.python_version()}, Qt {QtCore.qVersion()}, "
            f"PySide6 {PySide6.__version__}</p>")
        self.label.setObjectName("aboutText")
        self.label.setTextInteractionFlags(
            QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.licences_button = QtWidgets.QPushButton("Third-party licences…")
        self.licences_button.clicked.connect(self.show_licences)
        buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Close)
        buttons.addButton(self.licences_button, QtWidgets.QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self.label)
        layout.addWidget(buttons)

    def show_licences(self) -> None:
        if self.licences is None:
            self.licences = LicencesDialog(self)
        self.licences.open()


def add_help_menu(window: QtWidgets.QMainWindow) -> None:
    """Add Help > About to ``window``; the dialog is window-modal, not blocking. It is
    built when first asked for (``window.about_dialog`` from then on): the installed
    metadata it reads is not worth the window's start-up."""

    def show_about() -> None:
        about = getattr(window, "about_dialog", None)
        if about is None:
            about = AboutDialog(window)
            window.about_dialog = about  # type: ignore[attr-defined]
        about.open()

    menu = window.menuBar().addMenu("&Help")
    action = menu.addAction("&About Microclimate Desk")
    action.setMenuRole(QtGui.QAction.MenuRole.AboutRole)
    action.triggered.connect(show_about)
