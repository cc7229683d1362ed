"""Forecasts expire: a loopback server whose answers change between requests (the
recorded Berlin forecast, every temperature raised by 5 degC per new request, as a new
model run would change it; a protocol-level edit made here, values otherwise real)."""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path

import pytest
import xarray as xr

from desktop_app.cli import main
from desktop_app.errors import OfflineError
from desktop_app.sources.cache import RequestCache
from desktop_app.sources.http import HttpClient, RetryPolicy, cache_max_age
from desktop_app.sources.openmeteo import OpenMeteo
from desktop_app.sources.providers import fetch_notes
from tests.sources.helpers import LoopbackServer, Reply, recorded

BERLIN = json.loads(recorded("homeassistant_forecast_berlin.json"))
ARCHIVE = recorded("frenck_historical_weather.json")
FIRST_T = BERLIN["hourly"]["temperature_2m"][0]


class NewRunEveryRequest:
    """Answer n (from 0) is the recorded forecast with temperatures + 5 n degC."""

    def __init__(self, headers: dict[str, str] | None = None) -> None:
        self.headers = headers or {}
        self.answers = 0

    def __call__(self, method: str, path: str, query: dict[str, list[str]]) -> Reply:
        if path == "/v1/archive":
            return Reply(200, ARCHIVE, {"Content-Type": "application/json", **self.headers})
        body = json.loads(json.dumps(BERLIN))
        hourly = body["hourly"]
        hourly["temperature_2m"] = [t + 5.0 * self.answers for t in hourly["temperature_2m"]]
        self.answers += 1
        return Reply(200, json.dumps(body).encode(),
                     {"Content-Type": "application/json", **self.headers})


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def _client(url: str, tmp_path: Path, clock: Clock, **kw: object) -> OpenMeteo:
    http = HttpClient(retry=RetryPolicy(attempts=1), sleep=lambda s: None)
    return OpenMeteo(forecast_url=url, archive_url=url, http=http,
                     cache=RequestCache(tmp_path / "cache", clock=clock), **kw)  # type: ignore[arg-type]


def _first_t(ds: xr.Dataset) -> float:
    return float(ds["temperature"].values[0, 0])


def test_forecast_is_fresh_for_an_hour_then_fetched_again(tmp_path: Path) -> None:
    clock = Clock()
    server = NewRunEveryRequest()
    with LoopbackServer(server) as loop:
        om = _client(loop.url, tmp_path, clock)
        first = om.fetch_points([52.52], [13.41], ["temperature"])
        clock.now += 1800  # half an hour later: the cached run is still the latest
        again = om.fetch_points([52.52], [13.41], ["temperature"])
        clock.now += 1801  # past the hour: a new run may have landed
        later = om.fetch_points([52.52], [13.41], ["temperature"])
    assert server.answers == 2
    assert _first_t(first) == pytest.approx(FIRST_T) == _first_t(again)
    assert _first_t(later) == pytest.approx(FIRST_T + 5.0)
    assert (first.attrs["cache_hit"], again.attrs["cache_hit"], later.attrs["cache_hit"]) == (
        "no", "yes", "no")
    # fetched_at is when the data left the server, not when it was read from the cache
    assert again.attrs["fetched_at"] == first.attrs["fetched_at"]
    assert later.attrs["fetched_at"] > first.attrs["fetched_at"]


def test_server_max_age_wins_and_archive_never_expires(tmp_path: Path) -> None:
    clock = Clock()
    server = NewRunEveryRequest({"Cache-Control": "public, max-age=60"})
    with LoopbackServer(server) as loop:
        om = _client(loop.url, tmp_path, clock)
        om.fetch_points([52.52], [13.41], ["temperature"])
        clock.now += 61
        second = om.fetch_points([52.52], [13.41], ["temperature"])
        assert server.answers == 2 and _first_t(second) == pytest.approx(FIRST_T + 5.0)

    plain = NewRunEveryRequest()  # no Cache-Control: the archive is kept for ever
    with LoopbackServer(plain) as loop:
        om = _client(loop.url, tmp_path / "archive", clock)
        days = {"start": dt.date(1953, 1, 31), "end": dt.date(1953, 2, 1)}
        om.fetch_points([52.27], [6.82], ["temperature"], archive=True, **days)
        clock.now += 10 * 365 * 86400
        old = om.fetch_points([52.27], [6.82], ["temperature"], archive=True, **days)
        assert len(loop.requests) == 1 and old.attrs["cache_hit"] == "yes"


def test_refresh_asks_again_within_the_hour(tmp_path: Path) -> None:
    clock = Clock()
    server = NewRunEveryRequest()
    with LoopbackServer(server) as loop:
        _client(loop.url, tmp_path, clock).fetch_points([52.52], [13.41], ["temperature"])
        fresh = _client(loop.url, tmp_path, clock, refresh=True).fetch_points(
            [52.52], [13.41], ["temperature"])
        # and the refreshed answer replaced the cached one
        after = _client(loop.url, tmp_path, clock).fetch_points([52.52], [13.41],
                                                                ["temperature"])
    assert server.answers == 2
    assert _first_t(fresh) == pytest.approx(FIRST_T + 5.0) == _first_t(after)
    assert (fresh.attrs["cache_hit"], after.attrs["cache_hit"]) == ("no", "yes")


def test_offline_serves_expired_answers_marked_stale(tmp_path: Path) -> None:
    clock = Clock()
    with LoopbackServer(NewRunEveryRequest()) as loop:
        first = _client(loop.url, tmp_path, clock).fetch_points([52.52], [13.41],
                                                                ["temperature"])
        url = loop.url
    clock.now += 3 * 3600  # the server is gone and the forecast expired long ago
    offline = _client(url, tmp_path, clock, offline=True)
    stale = offline.fetch_points([52.52], [13.41], ["temperature"])
    assert _first_t(stale) == _first_t(first)
    assert stale.attrs["cache_hit"] == "yes"
    assert stale.attrs["cache_stale"].startswith("yes: served offline")
    assert "cache_stale" not in first.attrs
    notes = fetch_notes(stale)
    assert len(notes) == 1 and notes[0].startswith("STALE:")
    assert first.attrs["fetched_at"] in notes[0]
    with pytest.raises(OfflineError, match="cannot refresh"):
        _client(url, tmp_path, clock, offline=True,
                refresh=True).fetch_points([52.52], [13.41], ["temperature"])


def test_cache_control_parsing() -> None:
    assert cache_max_age({"Cache-Control": "public, max-age=900"}) == 900.0
    assert cache_max_age({"Cache-Control": "no-cache"}) == 0.0
    assert cache_max_age({"Cache-Control": "private"}) is None
    assert cache_max_age({}) is None


def test_cli_issue_replay_refresh_and_stale_line(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    # The issue's report: a second fetch of the same forecast returned the earlier one.
    # Here the server marks its answers as fresh for 0 s, so every online fetch asks it.
    args = ["fetch", "openmeteo", "--lat", "52.52", "--lon", "13.41", "--variables",
            "temperature"]
    server = NewRunEveryRequest({"Cache-Control": "max-age=0"})
    with LoopbackServer(server) as loop:
        assert main([*args, "--base-url", loop.url, "--out", str(tmp_path / "a.nc")]) == 0
        assert main([*args, "--base-url", loop.url, "--out", str(tmp_path / "b.nc")]) == 0
        url = loop.url
    capsys.readouterr()
    assert main([*args, "--base-url", url, "--offline", "--out", str(tmp_path / "c.nc")]) == 0
    err = capsys.readouterr().err
    stale_lines = [line for line in err.splitlines() if line.startswith("STALE:")]
    assert len(stale_lines) == 1
    with (xr.open_dataset(tmp_path / "a.nc") as a, xr.open_dataset(tmp_path / "b.nc") as b,
          xr.open_dataset(tmp_path / "c.nc") as c):
        assert _first_t(a) == pytest.approx(FIRST_T)
        assert _first_t(b) == pytest.approx(FIRST_T + 5.0)  # not the earlier forecast
        assert _first_t(c) == _first_t(b)  # offline: the newest cached one, said stale
        assert c.attrs["cache_stale"].startswith("yes") and c.attrs["cache_hit"] == "yes"
        assert b.attrs["cache_hit"] == "no"

    with LoopbackServer(NewRunEveryRequest()) as loop:  # a plain server: an hour's life
        assert main([*args, "--base-url", loop.url, "--out", str(tmp_path / "d.nc")]) == 0
        assert main([*args, "--base-url", loop.url, "--refresh", "--out",
                     str(tmp_path / "e.nc")]) == 0
        assert len(loop.requests) == 2  # --refresh went to the server within the hour
    with xr.open_dataset(tmp_path / "e.nc") as e:
        assert _first_t(e) == pytest.approx(FIRST_T + 5.0) and e.attrs["cache_hit"] == "no"
