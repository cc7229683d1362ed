"""The local watch API over a store filled by a replayed run (real recorded values)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from desktop_app.errors import MicroclimateError
from desktop_app.watch.api import create_app
from tests.watch.replay import Replay
from tests.watch.test_watcher import drive

TOKEN = "a-test-token-of-enough-length"


@pytest.fixture
def client(make_watcher):
    replay = Replay(faults={60: "spike", 62: "5xx"})
    w, clock = make_watcher(replay)
    drive(w, clock, replay, range(70))
    app = create_app(w.store, TOKEN, counters=w.counters)
    with TestClient(app) as c:
        yield c, w


def auth(token=TOKEN):
    return {"Authorization": f"Bearer {token}"}


def test_health_is_open_everything_else_needs_the_token(client):
    c, _ = client
    assert c.get("/health").json()["status"] == "ok"
    for path in ("/metrics", "/stations", "/history/berlin", "/predictions/berlin",
                 "/anomalies"):
        assert c.get(path).status_code == 401, path
        assert c.get(path, headers=auth("wrong-token-of-enough-length")).status_code == 401
        assert c.get(path, headers={"Authorization": TOKEN}).status_code == 401  # no scheme
        assert c.get(path, headers=auth()).status_code == 200, path
    assert c.post("/anomalies/1/acknowledge").status_code == 401


def test_routes_return_the_store(client):
    c, w = client
    [station] = c.get("/stations", headers=auth()).json()
    assert station["id"] == "berlin"
    hist = c.get("/history/berlin", headers=auth()).json()
    t, v, q = w.store.history("berlin", "temperature")
    assert hist["time"] == t.tolist() and hist["value"] == v.tolist()
    assert c.get("/history/nowhere", headers=auth()).status_code == 404
    pred = c.get("/predictions/berlin", headers=auth()).json()
    assert pred["forecasts"] and pred["skill"][0]["model"] == "open-meteo"


def test_acknowledge_and_metrics(client):
    c, w = client
    alerts = c.get("/anomalies", headers=auth(), params={"open_only": True}).json()
    assert alerts
    first = alerts[0]["id"]
    r = c.post(f"/anomalies/{first}/acknowledge", headers=auth(), params={"by": "duty"})
    assert r.json()["changed"] is True
    assert c.post("/anomalies/999999/acknowledge", headers=auth()).status_code == 404
    still_open = c.get("/anomalies", headers=auth(), params={"open_only": True}).json()
    assert first not in {a["id"] for a in still_open}
    text = c.get("/metrics", headers=auth()).text
    assert "watch_polls_total 70.0" in text
    assert "watch_poll_failures_total 1.0" in text
    assert f"watch_anomalies_total {float(w.counters.anomalies)}" in text
    assert f"watch_too_old_total {float(w.counters.too_old)}" in text
    assert f"watch_store_retries_total {float(w.store.retries)}" in text
    assert 'watch_qc_flags_total{flag="1"}' in text
    assert f"watch_open_alerts {float(len(still_open))}" in text


def test_short_token_refused(client):
    _, w = client
    with pytest.raises(MicroclimateError, match="16 characters"):
        create_app(w.store, "short")


def test_no_schema_without_the_token(client):
    c, _ = client
    for path in ("/openapi.json", "/docs", "/redoc"):
        for headers in ({}, auth()):
            r = c.get(path, headers=headers)
            assert r.status_code in (401, 404) and "/anomalies" not in r.text, path


@pytest.mark.parametrize("big", [2**63, 2**64, 10**30, -(2**70)])
def test_integers_beyond_64_bits_are_422_not_500(client, big):
    c, _ = client
    assert c.get("/history/berlin", params={"since": big}, headers=auth()).status_code == 422
    assert c.get("/predictions/berlin", params={"since": big},
                 headers=auth()).status_code == 422
    assert c.get("/anomalies", params={"limit": big}, headers=auth()).status_code == 422
    assert c.post(f"/anomalies/{big}/acknowledge", headers=auth()).status_code == 422
