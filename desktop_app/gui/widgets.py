"""Small widgets more than one dialog or panel builds the same way."""

from __future__ import annotations

from collections.abc import Iterable

from PySide6 import QtCore, QtWidgets

# the File ▸ New region task's name (the window knows it without importing the dialog)
NEW_REGION_TASK = "New region"


def day_range_edits(days: int = 2) -> tuple[QtWidgets.QDateEdit, QtWidgets.QDateEdit]:
    """A first-day and a last-day box (calendar pop-up, YYYY-MM-DD), today to today +
    ``days``."""
    today = QtCore.QDate.currentDate()
    start, end = QtWidgets.QDateEdit(today), QtWidgets.QDateEdit(today.addDays(days))
    for edit in (start, end):
        edit.setCalendarPopup(True)
        edit.setDisplayFormat("yyyy-MM-dd")
    return start, end


FormRow = tuple[str, QtWidgets.QWidget | QtWidgets.QLayout] | QtWidgets.QWidget


def add_rows(form: QtWidgets.QFormLayout, rows: Iterable[FormRow]) -> None:
    """Lay out a form from one list: ``(label, field)`` pairs and full-width widgets."""
    for row in rows:
        if isinstance(row, tuple):
            label, field = row
            if isinstance(field, QtWidgets.QLayout):  # two overloads, not one for the union
                form.addRow(label, field)
            else:
                form.addRow(label, field)
        else:
            form.addRow(row)
