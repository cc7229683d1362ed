"""Widgets that draw data: the vispy map and the pyqtgraph plots. No business logic."""


def use_qt_backend() -> None:
    """Make vispy draw through PySide6 (the only Qt binding we ship)."""
    import vispy

    vispy.use("pyside6")
