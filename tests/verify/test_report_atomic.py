"""``verify --report`` writes its CSV and its JSON together or not at all."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from desktop_app.errors import WriteError
from desktop_app.verify.stations import verify_at_stations
from tests.fsfaults import full_folder, leave_free
from tests.verify.test_verify import _grid, _obs


def test_a_disk_with_room_for_one_file_gets_neither(tmp_path: Path) -> None:
    fc = _grid(np.arange(12, dtype=float).reshape(2, 3, 2))
    obs = _obs(np.array([[0.0, 6.0], [5.0, 9.0]]), lat=np.array([10.01, 10.19]),
               lon=np.array([20.01, 20.09]))
    report = verify_at_stations(fc, obs)
    with full_folder(tmp_path) as folder:
        leave_free(folder, 1)  # room for the CSV, not for the JSON after it
        with pytest.raises(WriteError, match="no space left on device writing"):
            report.write(folder / "rep")
        assert sorted(p.name for p in folder.iterdir() if not p.name.startswith(
            ".filler")) == []
