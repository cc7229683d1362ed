"""Where new observations come from: Open-Meteo current conditions (with the hourly
forecast of the same answer, stored as issued forecasts) and local station files.

An observation row is ``(station, time_s, value)``; a forecast row is ``(model,
version, station, issue_time_s, valid_time_s, value)``. Open-Meteo quirks (local times
without offset, units) are resolved with the provider module's own helpers.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from desktop_app.errors import DataSourceError
from desktop_app.sources.http import HttpClient, shared_client
from desktop_app.sources.openmeteo_parse import PROVIDER, parse_location, provider_name
from desktop_app.sources.stations import read_station_file
from desktop_app.sources.units import to_internal
from desktop_app.watch.config import StationSpec

ObsRow = tuple[str, int, float]
ForecastRow = tuple[str, str, str, int, int, float]
MODEL = "open-meteo"
MODEL_VERSION = "best_match"


@dataclass
class Batch:
    observations: list[ObsRow] = field(default_factory=list)
    forecasts: list[ForecastRow] = field(default_factory=list)


def _local_to_utc(value: Any, offset: int) -> int:
    if isinstance(value, int | float):
        return int(value)
    try:
        return int(np.datetime64(str(value), "s").astype(np.int64)) - offset
    except ValueError as exc:
        raise DataSourceError(f"{PROVIDER}: unreadable current time {value!r}") from exc


@dataclass
class OpenMeteoCurrent:
    """``/v1/forecast?current=<var>&hourly=<var>&forecast_hours=N`` for many stations."""

    stations: Sequence[StationSpec]
    variable: str = "temperature"
    base_url: str = "https://api.open-meteo.com"
    forecast_hours: int = 6
    http: HttpClient = field(default_factory=shared_client)
    name: str = "open-meteo"

    def params(self) -> dict[str, str]:
        name = provider_name(self.variable)
        params = {
            "latitude": ",".join(f"{s.latitude:.4f}" for s in self.stations),
            "longitude": ",".join(f"{s.longitude:.4f}" for s in self.stations),
            "current": name,
        }
        if self.forecast_hours > 0:
            params.update(hourly=name, forecast_hours=str(self.forecast_hours))
        return params

    def fetch(self, cancel: threading.Event | None = None) -> Batch:
        url = f"{self.base_url.rstrip('/')}/v1/forecast"
        body = self.http.get_json(url, params=self.params(), cancel=cancel, provider=PROVIDER)
        bodies = body if isinstance(body, list) else [body]
        if len(bodies) != len(self.stations):
            raise DataSourceError(f"{PROVIDER}: {len(bodies)} locations answered for "
                                  f"{len(self.stations)} stations requested from {url}")
        batch = Batch()
        name = provider_name(self.variable)
        for spec, one in zip(self.stations, bodies, strict=True):
            if not isinstance(one, dict) or not isinstance(one.get("current"), dict):
                raise DataSourceError(f"{PROVIDER}: answer for {spec.id} has no 'current' block")
            cur = one["current"]
            offset = int(one.get("utc_offset_seconds", 0) or 0)
            t = _local_to_utc(cur.get("time"), offset)
            raw = cur.get(name)
            unit = (one.get("current_units") or {}).get(name) or "°C"
            value = float("nan") if raw is None else float(
                to_internal(np.array([float(raw)]), unit, self.variable)[0])
            batch.observations.append((spec.id, t, value))
            if self.forecast_hours > 0 and isinstance(one.get("hourly"), dict):
                series = parse_location(one, [self.variable], "hourly")
                vt = series.time.astype("datetime64[s]").astype(np.int64)
                for when, val in zip(vt, series.values[self.variable], strict=True):
                    if when > t and np.isfinite(val):
                        batch.forecasts.append((MODEL, MODEL_VERSION, spec.id, t, int(when),
                                                float(val)))
        return batch


@dataclass
class StationFiles:
    """Local station files re-read each poll (a logger appending to its file)."""

    stations: Sequence[StationSpec]
    variable: str = "temperature"
    base_dir: Path = Path(".")
    name: str = "files"

    def fetch(self, cancel: threading.Event | None = None) -> Batch:
        batch = Batch()
        for spec in self.stations:
            ds = read_station_file(self.base_dir / spec.path, spec.format)
            if self.variable not in ds:
                raise DataSourceError(f"station file {spec.path} has no {self.variable}")
            times = ds["time"].values.astype("datetime64[s]").astype(np.int64)
            values = ds[self.variable].values[0].astype(np.float64)
            batch.observations.extend(
                (spec.id, int(t), float(v)) for t, v in zip(times, values, strict=True))
        return batch
