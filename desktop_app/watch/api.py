"""The local watch API (FastAPI): read the store, acknowledge alerts, expose metrics.

``GET /health`` is open; every other route needs ``Authorization: Bearer <token>``
(constant-time compare). Served on 127.0.0.1 unless the user asks otherwise.
FastAPI and prometheus_client come with the ``[watch]`` extra; without it
:func:`watch_extra` raises one error naming the extra.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from desktop_app.errors import MicroclimateError, require_extra
from desktop_app.validation import INT64_MAX, check_bearer
from desktop_app.watch.store import Store
from desktop_app.watch.watcher import Counters


def watch_extra(module: str) -> Any:
    return require_extra(module, "watch", "the watch service")


def create_app(store: Store, token: str, variable: str = "temperature",
               counters: Counters | None = None, lock: threading.Lock | None = None) -> Any:
    fastapi = watch_extra("fastapi")
    prom = watch_extra("prometheus_client")
    if len(token) < 16:
        raise MicroclimateError("the watch API token must be at least 16 characters")
    secret = token.encode("utf-8")
    guard = lock or threading.Lock()
    registry = prom.CollectorRegistry()
    c = counters or Counters()

    class Collector:
        def collect(self) -> Any:
            from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
            for name, value, doc in (
                ("watch_polls", c.polls, "polls run"),
                ("watch_poll_failures", c.poll_failures, "polls with a provider error"),
                ("watch_store_failures", c.store_failures, "store writes that failed"),
                ("watch_new_values", c.new_values, "new observations stored"),
                ("watch_duplicates", c.duplicates, "duplicate observations dropped"),
                ("watch_clock_jumps", c.clock_jumps, "values rejected as future-dated"),
                ("watch_anomalies", c.anomalies, "anomalies raised"),
                ("watch_too_old", c.too_old, "values older than the window, dropped"),
                ("watch_store_retries", store.retries, "locked-database retries"),
                ("watch_poll_latency_seconds", c.latency_sum_s, "time spent polling"),
            ):
                yield CounterMetricFamily(name, doc, value=value)
            qc = CounterMetricFamily("watch_qc_flags", "QC flags given", labels=["flag"])
            for flag, n in sorted(c.qc_flags.items()):
                qc.add_metric([str(flag)], n)
            yield qc
            yield GaugeMetricFamily("watch_last_poll_latency_seconds", "last poll latency",
                                    value=c.last_latency_s)
            with guard:
                open_alerts = store.query(
                    "SELECT COUNT(*) FROM anomalies WHERE acknowledged_at IS NULL")[0][0]
            yield GaugeMetricFamily("watch_open_alerts", "unacknowledged anomalies",
                                    value=open_alerts)

    registry.register(Collector())
    # no /openapi.json (nor /docs, /redoc): it would answer without the token
    app = fastapi.FastAPI(title="Microclimate watch", docs_url=None, redoc_url=None,
                          openapi_url=None)
    # SQLite integers are 64-bit: a larger number is a 422 here, not a 500 in the store
    since_q = fastapi.Query(0, ge=-INT64_MAX, le=INT64_MAX)

    def auth(request: Any) -> None:
        check_bearer(request.headers.get("authorization", ""), secret,
                     fastapi.HTTPException)

    # fastapi is imported lazily (the extra), so give the dependency its real type here
    auth.__annotations__ = {"request": fastapi.Request, "return": None}
    need = [fastapi.Depends(auth)]

    @app.get("/health")
    def health() -> dict[str, Any]:
        return {"status": "ok", "polls": c.polls}

    @app.get("/metrics", dependencies=need)
    def metrics() -> Any:
        return fastapi.Response(prom.generate_latest(registry),
                                media_type=prom.CONTENT_TYPE_LATEST)

    @app.get("/stations", dependencies=need)
    def stations() -> list[dict[str, Any]]:
        with guard:
            rows = store.stations()
        return [r._asdict() for r in rows]

    def _known(station: str) -> None:
        if not any(r.id == station for r in store.stations()):
            raise fastapi.HTTPException(404, f"unknown station {station!r}")

    @app.get("/history/{station}", dependencies=need)
    def history(station: str, since: int = since_q) -> dict[str, Any]:
        with guard:
            _known(station)
            t, v, q = store.history(station, variable, since=since)
        return {"station": station, "variable": variable, "time": t.tolist(),
                "value": [None if x != x else x for x in v.tolist()], "qc": q.tolist()}

    @app.get("/predictions/{station}", dependencies=need)
    def predictions(station: str, since: int = since_q) -> dict[str, Any]:
        with guard:
            _known(station)
            rows = store.forecasts(station, variable, since)
            skill = [s.__dict__ for s in store.skill(variable) if s.station == station]
        return {"station": station, "variable": variable,
                "forecasts": [r._asdict() for r in rows], "skill": skill}

    @app.get("/anomalies", dependencies=need)
    def anomalies(open_only: bool = False,
                  limit: int = fastapi.Query(500, ge=0, le=INT64_MAX)) -> list[dict[str, Any]]:
        with guard:
            return store.anomalies(unacknowledged=open_only, limit=limit)

    @app.post("/anomalies/{anomaly_id}/acknowledge", dependencies=need)
    def acknowledge(anomaly_id: int = fastapi.Path(ge=-INT64_MAX, le=INT64_MAX),
                    by: str = "api") -> dict[str, Any]:
        with guard:
            if not store.query("SELECT 1 FROM anomalies WHERE id = ?", (anomaly_id,)):
                raise fastapi.HTTPException(404, f"no anomaly {anomaly_id}")
            changed = store.acknowledge(anomaly_id, by, int(time.time()))
        return {"id": anomaly_id, "acknowledged": True, "changed": changed}

    return app
