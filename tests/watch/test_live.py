"""Live Open-Meteo current conditions (skipped by default; run with ``-m network``)."""

from __future__ import annotations

import time

import numpy as np
import pytest

from desktop_app.watch.config import StationSpec
from desktop_app.watch.sources import OpenMeteoCurrent


@pytest.mark.network
def test_live_current_two_stations() -> None:
    source = OpenMeteoCurrent([StationSpec("berlin", 52.52, 13.41),
                               StationSpec("munich", 48.14, 11.58)])
    batch = source.fetch()
    assert [o[0] for o in batch.observations] == ["berlin", "munich"]
    for _, when, value in batch.observations:
        assert abs(when - time.time()) < 2 * 3600  # UTC, not local time
        assert np.isfinite(value) and -60 < value < 50
    assert {f[2] for f in batch.forecasts} == {"berlin", "munich"}
