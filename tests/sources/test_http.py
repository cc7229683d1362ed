"""The shared HTTP client: retries, Retry-After, error mapping, truncation, timeouts."""

from __future__ import annotations

import httpx
import pytest

from desktop_app.errors import DataSourceError
from desktop_app.sources.http import (
    HttpClient,
    RetryPolicy,
    parse_json_bytes,
    parse_retry_after,
    redact_url,
)
from tests.sources.helpers import LoopbackServer, Reply, recorded

BERLIN = recorded("homeassistant_forecast_berlin.json")


def _client(handler, sleeps: list[float], **kw) -> HttpClient:  # type: ignore[no-untyped-def]
    return HttpClient(transport=httpx.MockTransport(handler), sleep=sleeps.append, **kw)


def test_429_then_success_honours_retry_after() -> None:
    replies = iter([
        httpx.Response(429, headers={"Retry-After": "7"}, json={"error": True,
                                                               "reason": "Too many requests"}),
        httpx.Response(200, content=BERLIN),
    ])
    sleeps: list[float] = []
    response = _client(lambda r: next(replies), sleeps).request("GET", "http://om.test/v1/x")
    assert response.status_code == 200
    assert sleeps == [7.0]


def test_retry_after_is_capped() -> None:
    replies = iter([httpx.Response(503, headers={"Retry-After": "86400"}),
                    httpx.Response(200, content=BERLIN)])
    sleeps: list[float] = []
    client = _client(lambda r: next(replies), sleeps, retry=RetryPolicy(max_delay_s=30.0))
    client.request("GET", "http://om.test/v1/x")
    assert sleeps == [30.0]


def test_500_retried_with_capped_exponential_backoff_then_fails() -> None:
    sleeps: list[float] = []
    client = _client(lambda r: httpx.Response(500, text="Internal Server Error"), sleeps,
                     retry=RetryPolicy(attempts=5, base_delay_s=1.0, max_delay_s=4.0))
    with pytest.raises(DataSourceError) as info:
        client.request("GET", "http://om.test/v1/forecast?latitude=1")
    assert sleeps == [1.0, 2.0, 4.0, 4.0]
    assert info.value.status == 500
    assert "HTTP 500" in str(info.value) and "gave up after 5 attempts" in str(info.value)
    assert "http://om.test/v1/forecast" in str(info.value)


def test_400_reason_is_reported_and_not_retried() -> None:
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        # Open-Meteo's documented error shape
        return httpx.Response(400, json={"error": True, "reason": "Latitude must be in range "
                                         "of -90 to 90°. Given: 91.0."})

    sleeps: list[float] = []
    with pytest.raises(DataSourceError) as info:
        _client(handler, sleeps).request("GET", "http://om.test/v1/forecast",
                                         params={"latitude": "91", "apikey": "s3cret"})
    message = str(info.value)
    assert len(calls) == 1 and sleeps == []
    assert info.value.status == 400
    assert "Latitude must be in range of -90 to 90°. Given: 91.0." in message
    assert "s3cret" not in message and "apikey=***" in message
    assert "\n" not in message


def test_timeout_maps_to_data_source_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("read timed out", request=request)

    sleeps: list[float] = []
    with pytest.raises(DataSourceError, match="timed out"):
        _client(handler, sleeps, retry=RetryPolicy(attempts=2)).request("GET", "http://om.test/")
    assert len(sleeps) == 1


def test_real_socket_timeout() -> None:
    with LoopbackServer(lambda m, p, q: Reply(200, BERLIN, delay_s=1.0)) as server:
        client = HttpClient(timeout=httpx.Timeout(5.0, read=0.2), retry=RetryPolicy(attempts=1))
        with pytest.raises(DataSourceError, match="timed out"):
            client.request("GET", f"{server.url}/v1/forecast")


def test_truncated_body_over_a_real_socket() -> None:
    reply = Reply(200, BERLIN, headers={"Content-Type": "application/json"},
                  truncate_to=len(BERLIN) // 3)
    with LoopbackServer(lambda m, p, q: reply) as server:
        client = HttpClient(retry=RetryPolicy(attempts=1))
        with pytest.raises(DataSourceError, match="truncated"):
            client.request("GET", f"{server.url}/v1/forecast")


@pytest.mark.parametrize("body", [b"nan", b"NaN", b"", BERLIN[:500]])
def test_bodies_that_are_not_json_objects(body: bytes) -> None:
    with pytest.raises(DataSourceError, match="not (valid JSON|a JSON object)"):
        parse_json_bytes(body, url="http://om.test/v1/forecast", provider="Open-Meteo")


def test_redact_url_and_retry_after_forms() -> None:
    assert redact_url("https://x.test/a?apikey=abc&latitude=1") == (
        "https://x.test/a?apikey=***&latitude=1")
    assert redact_url("https://x.test/a") == "https://x.test/a"
    assert parse_retry_after("12") == 12.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past
    assert parse_retry_after("soon") is None
