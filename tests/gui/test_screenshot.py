import os
import subprocess
import sys

import numpy as np
import pytest
from PySide6 import QtGui

pytestmark = pytest.mark.gui


def test_gui_screenshot_command_writes_the_sample_map(tmp_path, qapp):
    out = tmp_path / "shots" / "window.png"
    env = {**os.environ, "MICROCLIMATE_HOME": str(tmp_path / "home")}
    proc = subprocess.run([sys.executable, "-m", "desktop_app", "gui", "--screenshot", str(out)],
                          capture_output=True, text=True, timeout=180, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "screenshot saved" in proc.stdout
    image = QtGui.QImage(str(out))
    assert not image.isNull()
    assert (image.width(), image.height()) == (1600, 900)
    image = image.convertToFormat(QtGui.QImage.Format.Format_RGB888)
    arr = np.frombuffer(image.constBits(), np.uint8, count=image.sizeInBytes()).reshape(
        image.height(), image.bytesPerLine())[:, : image.width() * 3].reshape(900, 1600, 3)
    left = arr[100:700, 50:750].reshape(-1, 3)
    assert len(np.unique(left, axis=0)) > 200  # the map, not a blank canvas
    # the coolwarm field is red-dominant at 00 UTC (afternoon, local time)
    assert left[:, 0].mean() > left[:, 2].mean()
    assert [p.name for p in out.parent.iterdir()] == ["window.png"]  # no temp file left
    # the graticule spans the whole map, not the smaller view of the first frame (the
    # panels built after it resize the map; the grab must come after that): some
    # meridian runs for hundreds of pixels of neutral grey, far beyond the field's rows
    map_area = arr[100:880, 0:560].astype(int)
    grey = ((np.abs(map_area[..., 0] - map_area[..., 1]) < 12)
            & (np.abs(map_area[..., 1] - map_area[..., 2]) < 12)
            & (map_area[..., 0] > 70) & (map_area[..., 0] < 200))
    assert grey.sum(axis=0).max() > 400
