"""Loopback replay of a real recorded Open-Meteo body as a sequence of live polls.

``homeassistant_forecast_berlin.json`` (tests/data/sources/openmeteo, see its MANIFEST)
is a real answer with a ``current`` block and 168 real hourly temperatures. Poll ``i``
answers with the same body whose ``current`` is hourly value ``i`` (time and
temperature, local time as recorded) and whose ``hourly`` block holds the next six
real hourly values: every number served is a real recorded value. Faults are injected
per poll: ``spike`` (+15 degC), ``stuck`` (the previous value again), ``5xx``,
``timeout``, ``gap`` (the poll is answered with the previous hour: no new value).
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path

import httpx

BODY = Path(__file__).resolve().parent.parent / "data" / "sources" / "openmeteo" / \
    "homeassistant_forecast_berlin.json"


def load_body() -> dict:
    return json.loads(BODY.read_text(encoding="utf-8"))


@dataclass
class Replay:
    faults: dict[int, str] = field(default_factory=dict)
    step: int = 0
    requests: int = 0
    served: list[tuple[str, float]] = field(default_factory=list)
    body: dict = field(default_factory=load_body)

    @property
    def hourly(self) -> dict:
        return self.body["hourly"]

    def answer(self, i: int) -> dict:
        out = copy.deepcopy({k: v for k, v in self.body.items() if k not in ("daily",)})
        times, temps = self.hourly["time"], self.hourly["temperature_2m"]
        fault = self.faults.get(i)
        j = i - 1 if fault in ("stuck", "gap") and i > 0 else i
        value = temps[j]
        if fault == "stuck":
            value = temps[i - 1]
        if fault == "spike":
            value = value + 15.0
        out["current"] = {"time": times[i] if fault != "gap" else times[j],
                          "interval": 3600, "temperature_2m": value}
        out["current_units"] = {"time": "iso8601", "interval": "seconds",
                                "temperature_2m": "°C"}
        out["hourly"] = {"time": times[i + 1:i + 7], "temperature_2m": temps[i + 1:i + 7]}
        out["hourly_units"] = {"time": "iso8601", "temperature_2m": "°C"}
        return out

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        fault = self.faults.get(self.step)
        if fault == "5xx":
            return httpx.Response(503, json={"reason": "replayed outage"},
                                  headers={"Retry-After": "1"})
        if fault == "timeout":
            raise httpx.ReadTimeout("replayed timeout", request=request)
        body = self.answer(self.step)
        self.served.append((body["current"]["time"], body["current"]["temperature_2m"]))
        return httpx.Response(200, json=body)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handler)
