"""Open-Meteo against recorded real bodies, replayed through httpx.MockTransport."""

from __future__ import annotations

import datetime as dt
import json

import httpx
import numpy as np
import pytest

from desktop_app.core.grid import BBox
from desktop_app.errors import (
    CancelledError,
    ConfigError,
    DataSourceError,
    OfflineError,
    UnknownVariableError,
)
from desktop_app.settings import Settings
from desktop_app.sources.cache import RequestCache
from desktop_app.sources.http import HttpClient, RetryPolicy
from desktop_app.sources.openmeteo import OpenMeteo, resolve_base_urls
from tests.sources.helpers import as_batch, recorded

BERLIN = recorded("homeassistant_forecast_berlin.json")
ALL = ("temperature", "dewpoint_temperature", "relative_humidity", "mean_sea_level_pressure",
       "wind_speed", "wind_direction", "precipitation")


class Recorder:
    """Serve a recorded body per location asked for; remember the requests."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        n = len(request.url.params["latitude"].split(","))
        return httpx.Response(200, content=self.body if n == 1 else as_batch(self.body, n))


def _om(handler, tmp_path, **kw) -> OpenMeteo:  # type: ignore[no-untyped-def]
    http = HttpClient(transport=httpx.MockTransport(handler), sleep=lambda s: None,
                      retry=RetryPolicy(attempts=2))
    return OpenMeteo(forecast_url="http://om.test", archive_url="http://archive.test",
                     http=http, cache=RequestCache(tmp_path / "cache"), **kw)


def test_berlin_forecast_to_utc_and_our_units(tmp_path) -> None:  # type: ignore[no-untyped-def]
    rec = Recorder(BERLIN)
    ds = _om(rec, tmp_path).fetch_points([52.52], [13.41], ALL)
    raw = json.loads(BERLIN)["hourly"]
    # local CET (+3600 s) -> UTC: 2021-11-24T00:00 local is 2021-11-23T23:00 UTC
    assert ds["time"].values[0] == np.datetime64("2021-11-23T23:00", "ns")
    assert ds.sizes["time"] == 168
    np.testing.assert_allclose(ds["temperature"].values[0], raw["temperature_2m"], atol=1e-5)
    np.testing.assert_allclose(ds["wind_speed"].values[0],
                               np.array(raw["wind_speed_10m"]) / 3.6, rtol=1e-6)  # km/h
    np.testing.assert_allclose(ds["mean_sea_level_pressure"].values[0], raw["pressure_msl"])
    assert ds["wind_speed"].attrs["units"] == "m s-1"
    assert ds["temperature"].attrs["standard_name"] == "air_temperature"
    assert float(ds["elevation"].values[0]) == pytest.approx(44.8125)
    params = rec.requests[0].url.params
    assert params["hourly"].split(",") == ["temperature_2m", "dew_point_2m",
                                           "relative_humidity_2m", "pressure_msl",
                                           "wind_speed_10m", "wind_direction_10m",
                                           "precipitation"]
    assert ds.attrs["source_url"].startswith("http://om.test/v1/forecast?")
    assert ds.attrs["model"] == "best_match" and ds.attrs["fetched_at"].endswith("Z")


def test_nulls_become_nan(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # The API marks gaps with null. The recorded Berlin body has no gap, so this test
    # punches one into a copy (protocol-level edit, documented here) to check mapping.
    body = json.loads(BERLIN)
    body["hourly"]["temperature_2m"][5] = None
    ds = _om(Recorder(json.dumps(body).encode()), tmp_path).fetch_points(
        [52.52], [13.41], ["temperature"])
    values = ds["temperature"].values[0]
    assert np.isnan(values[5]) and np.isfinite(np.delete(values, 5)).all()


def test_elevation_zero_is_a_value_not_missing(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # A coastal point: the recorded body with its elevation set to 0.0 (protocol-level
    # edit); only an absent or null elevation is missing.
    body = json.loads(BERLIN)
    body["elevation"] = 0.0
    ds = _om(Recorder(json.dumps(body).encode()), tmp_path).fetch_points(
        [52.52], [13.41], ["temperature"])
    assert float(ds["elevation"].values[0]) == 0.0
    body["elevation"] = None
    ds = _om(Recorder(json.dumps(body).encode()), tmp_path / "b").fetch_points(
        [52.52], [13.41], ["temperature"])
    assert np.isnan(ds["elevation"].values[0])


def test_fifteen_minutely(tmp_path) -> None:  # type: ignore[no-untyped-def]
    rec = Recorder(recorded("frenck_forecast_minutely_15.json"))
    ds = _om(rec, tmp_path).fetch_points([52.27], [6.87], ["temperature", "precipitation"],
                                         resolution="minutely_15")
    assert "minutely_15" in rec.requests[0].url.params
    assert list(ds["time"].values) == [np.datetime64(t, "ns") for t in (
        "2026-10-03T10:30", "2026-10-03T10:45", "2026-10-03T11:00", "2026-10-03T11:15")]
    assert ds.attrs["time_resolution"] == "minutely_15"


def test_archive_endpoint_and_dates(tmp_path) -> None:  # type: ignore[no-untyped-def]
    rec = Recorder(recorded("frenck_historical_weather.json"))
    ds = _om(rec, tmp_path).fetch_points(
        [52.27], [6.82], ["temperature", "wind_speed"], archive=True,
        start=dt.date(1953, 1, 31), end=dt.date(1953, 2, 1))
    url = rec.requests[0].url
    assert url.host == "archive.test" and url.path == "/v1/archive"
    assert url.params["start_date"] == "1953-01-31" and url.params["end_date"] == "1953-02-01"
    assert ds["time"].values[0] == np.datetime64("1953-01-30T22:00", "ns")  # GMT+2
    np.testing.assert_allclose(ds["wind_speed"].values[0], np.array([23.2, 23.7, 24.8]) / 3.6,
                               rtol=1e-6)
    assert "historical archive" in ds.attrs["source"]


def test_model_suffixed_names(tmp_path) -> None:  # type: ignore[no-untyped-def]
    rec = Recorder(recorded("frenck_forecast_models.json"))
    ds = _om(rec, tmp_path).fetch_points([47.36], [8.54], ["temperature"], model="gfs_seamless")
    np.testing.assert_allclose(ds["temperature"].values[0], [20.9, 21.9], atol=1e-5)
    assert rec.requests[0].url.params["models"] == "gfs_seamless"
    assert ds.attrs["model"] == "gfs_seamless"


def test_many_points_are_batched(tmp_path) -> None:  # type: ignore[no-untyped-def]
    rec = Recorder(BERLIN)
    lats = np.linspace(52.0, 53.0, 25)
    ds = _om(rec, tmp_path, batch_size=10).fetch_points(lats, np.full(25, 13.4), ["temperature"])
    assert len(rec.requests) == 3
    assert [len(r.url.params["latitude"].split(",")) for r in rec.requests] == [10, 10, 5]
    assert ds.sizes == {"station": 25, "time": 168}
    np.testing.assert_allclose(ds["latitude"].values, lats)


def test_bbox_grid(tmp_path) -> None:  # type: ignore[no-untyped-def]
    rec = Recorder(BERLIN)
    ds = _om(rec, tmp_path).fetch_bbox(BBox(52.3, 13.1, 52.7, 13.7), 0.2, ["temperature"])
    assert ds["temperature"].dims == ("time", "latitude", "longitude")
    assert ds.sizes["latitude"] == 3 and ds.sizes["longitude"] == 4
    assert (np.diff(ds["latitude"].values) > 0).all()
    # the coarse orography: the elevation the API reports per point, a data variable
    assert ds["elevation"].dims == ("latitude", "longitude")
    np.testing.assert_allclose(ds["elevation"].values, 44.8125)  # Berlin body, every point
    with pytest.raises(ConfigError, match="coarser"):
        _om(rec, tmp_path).fetch_bbox(BBox(40, -10, 60, 30), 0.1, ["temperature"])


def test_elevation(tmp_path) -> None:  # type: ignore[no-untyped-def]
    body = recorded("frenck_elevation.json")
    values = _om(lambda r: httpx.Response(200, content=body), tmp_path).elevation([52.27], [6.87])
    assert values.tolist() == [29.0]


def test_second_fetch_served_from_cache_and_offline(tmp_path) -> None:  # type: ignore[no-untyped-def]
    rec = Recorder(BERLIN)
    om = _om(rec, tmp_path)
    first = om.fetch_points([52.52], [13.41], ["temperature"])
    om.offline = True
    again = om.fetch_points([52.52], [13.41], ["temperature"])
    assert len(rec.requests) == 1
    np.testing.assert_array_equal(first["temperature"].values, again["temperature"].values)
    with pytest.raises(OfflineError, match="not in the cache"):
        om.fetch_points([10.0], [10.0], ["temperature"])


@pytest.mark.parametrize(
    ("reply", "match"),
    [
        (httpx.Response(400, json={"error": True, "reason": "Cannot initialize WeatherVariable "
                                   "from invalid String value tempeture_2m for key hourly"}),
         "HTTP 400 .*invalid String value"),
        (httpx.Response(429, json={"error": True, "reason": "Minutely API request limit exceeded."
                                   " Please try again in one minute."}),
         "HTTP 429 .*request limit exceeded"),
        (httpx.Response(500, text="Internal Server Error"), "HTTP 500"),
        (httpx.Response(200, content=b"nan"), "not valid JSON"),
        (httpx.Response(200, content=BERLIN[: len(BERLIN) // 2]), "not valid JSON"),
        (httpx.Response(200, content=recorded("frenck_forecast_minimal.json")),
         "no 'hourly' block"),
    ],
)
def test_bad_answers_fail_clearly_and_cache_nothing(tmp_path, reply, match) -> None:  # type: ignore[no-untyped-def]
    om = _om(lambda r: reply, tmp_path)
    with pytest.raises(DataSourceError, match=match) as info:
        om.fetch_points([52.52], [13.41], ["temperature"])
    assert "\n" not in str(info.value)
    assert om.cache is not None and om.cache.total_bytes() == 0


def test_bad_requests(tmp_path) -> None:  # type: ignore[no-untyped-def]
    om = _om(Recorder(BERLIN), tmp_path)
    with pytest.raises(UnknownVariableError, match="unknown variable 'temprature'"):
        om.fetch_points([1], [2], ["temprature"])
    with pytest.raises(DataSourceError, match="no variable 'elevation'"):
        om.fetch_points([1], [2], ["elevation"])
    with pytest.raises(ConfigError, match="as many latitudes"):
        om.fetch_points([1, 2], [2], ["temperature"])
    with pytest.raises(ConfigError, match="needs a start and an end date"):
        om.fetch_points([1], [2], ["temperature"], archive=True)
    with pytest.raises(ConfigError, match="before start"):
        om.fetch_points([1], [2], ["temperature"], start=dt.date(2024, 2, 1),
                        end=dt.date(2024, 1, 1))


def test_cancel_between_batches(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import threading

    cancel = threading.Event()
    rec = Recorder(BERLIN)

    def progress(fraction: float, message: str) -> None:
        cancel.set()  # the user presses Cancel after the first batch

    with pytest.raises(CancelledError, match="after 1 of 3 batches"):
        _om(rec, tmp_path, batch_size=1).fetch_points(
            [1, 2, 3], [1, 2, 3], ["temperature"], progress=progress, cancel=cancel)
    assert len(rec.requests) == 1


def test_base_url_precedence(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(openmeteo_base_url="http://settings.test",
                        openmeteo_archive_url="http://settings-archive.test")
    assert resolve_base_urls(settings) == ("http://settings.test", "http://settings-archive.test")
    monkeypatch.setenv("MICROCLIMATE_OPENMETEO_URL", "http://env.test/")
    assert resolve_base_urls(settings) == ("http://env.test", "http://env.test")
    assert resolve_base_urls(settings, "http://flag.test") == ("http://flag.test",
                                                               "http://flag.test")
