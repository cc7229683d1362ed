"""Open-Meteo bodies with the wrong types where numbers belong, replayed from a recorded
real body with one field changed: one DataSourceError naming the field, never a
traceback; a real elevation of 0.0 (sea level) stays 0.0."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from desktop_app.errors import DataSourceError
from desktop_app.sources.cache import RequestCache
from desktop_app.sources.http import HttpClient, RetryPolicy
from desktop_app.sources.openmeteo import OpenMeteo
from tests.sources.helpers import recorded

BERLIN = json.loads(recorded("homeassistant_forecast_berlin.json"))


def _fetch(body: dict[str, Any], tmp_path: Any) -> Any:
    http = HttpClient(transport=httpx.MockTransport(
        lambda r: httpx.Response(200, content=json.dumps(body).encode())),
        sleep=lambda s: None, retry=RetryPolicy(attempts=1))
    om = OpenMeteo(forecast_url="http://om.test", archive_url="http://archive.test",
                   http=http, cache=RequestCache(tmp_path / "cache"))
    return om.fetch_points([52.52], [13.41], ("temperature",))


def _changed(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    body = json.loads(json.dumps(BERLIN))
    node = body
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return body


@pytest.mark.parametrize(("path", "value", "named"), [
    (("latitude",), "fifty-two", "latitude"),
    (("elevation",), "high", "elevation"),
    (("utc_offset_seconds",), "one hour", "utc_offset_seconds"),
    (("hourly", "temperature_2m"), ["warm"] * 168, "temperature_2m"),
    (("hourly", "temperature_2m"), "warm", "temperature_2m"),
    (("hourly", "temperature_2m"), [True] * 168, "temperature_2m"),
    (("hourly", "time"), list(range(167)) + ["x"], "time"),
    (("hourly", "time"), "2021-11-24", "time"),
])
def test_wrong_types_are_one_line(tmp_path: Any, path: tuple[str, ...], value: Any,
                                  named: str) -> None:
    with pytest.raises(DataSourceError, match=named) as info:
        _fetch(_changed(path, value), tmp_path)
    assert "\n" not in str(info.value)


def test_an_elevation_of_zero_stays_zero(tmp_path: Any) -> None:
    ds = _fetch(_changed(("elevation",), 0.0), tmp_path)
    assert float(ds["elevation"].values[0]) == 0.0
