"""Live Open-Meteo (skipped by default; run with ``-m network``)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from desktop_app.settings import Settings
from desktop_app.sources.openmeteo import OpenMeteo


@pytest.mark.network
def test_live_archive_two_points() -> None:
    om = OpenMeteo.from_settings(Settings())
    ds = om.fetch_points([52.52, 48.14], [13.41, 11.58], ["temperature", "wind_speed"],
                         archive=True, start=dt.date(2022, 8, 31), end=dt.date(2022, 8, 31))
    assert ds.sizes == {"station": 2, "time": 24}
    assert np.isfinite(ds["temperature"].values).all()
