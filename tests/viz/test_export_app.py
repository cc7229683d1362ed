"""The headless export's application object also hosts a window opened later in the same
process (one application object per process: a QGuiApplication there made Qt abort at
the first widget, which is how a test run that exported before opening a window died)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

CODE = """
from desktop_app.viz.export import ensure_gui_app
app = ensure_gui_app()
from PySide6 import QtWidgets
window = QtWidgets.QMainWindow()
print(type(app).__name__, window.isWindow())
"""


def test_a_window_after_a_headless_export_in_one_process(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["PYTHONPATH"] = str(ROOT)
    proc = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True,
                          env=env, timeout=120, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split() == ["QApplication", "True"]
