"""Where new observations come from: Open-Meteo current conditions (with the hourly
forecast of the same answer, stored as issued forecasts) and local station files.

An observation row is ``(station, time_s, value)``; a forecast row is ``(model,
version, station, issue_time_s, valid_time_s, value)``. Open-Meteo quirks (local times
without offset, units, nulls) are resolved by the provider module
(:func:`desktop_app.sources.openmeteo_parse.parse_current` / ``parse_location``).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from desktop_app.errors import DataSourceError
from desktop_app.settings import OPENMETEO_FORECAST_URL
from desktop_app.sources.http import HttpClient, shared_client
from desktop_app.sources.openmeteo_parse import (
    PROVIDER,
    parse_current,
    parse_location,
    provider_name,
)
from desktop_app.sources.stations import read_station_file
from desktop_app.watch.config import StationSpec

ObsRow = tuple[str, int, float]
ForecastRow = tuple[str, str, str, int, int, float]
MODEL = "open-meteo"
MODEL_VERSION = "best_match"


@dataclass
class Batch:
    observations: list[ObsRow] = field(default_factory=list)
    forecasts: list[ForecastRow] = field(default_factory=list)


@dataclass
class OpenMeteoCurrent:
    """``/v1/forecast?current=<var>&hourly=<var>&forecast_hours=N`` for many stations."""

    stations: Sequence[StationSpec]
    variable: str = "temperature"
    base_url: str = OPENMETEO_FORECAST_URL
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
        for spec, one in zip(self.stations, bodies, strict=True):
            try:
                t, value = parse_current(one, self.variable)
            except DataSourceError as exc:
                raise DataSourceError(f"{exc} (station {spec.id}, {url})") from exc
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
    """Local station files or folders of files, re-read each poll (a logger appending
    to its file or adding files); the watcher's dedup keeps only what is new."""

    stations: Sequence[StationSpec]
    variable: str = "temperature"
    base_dir: Path = Path(".")
    name: str = "files"

    def fetch(self, cancel: threading.Event | None = None) -> Batch:
        batch = Batch()
        for spec in self.stations:
            path = self.base_dir / spec.path
            # a folder: every file in it (a logger writing one file per day)
            files = sorted(p for p in path.iterdir() if p.is_file() and
                           not p.name.startswith(".")) if path.is_dir() else [path]
            if not files:
                raise DataSourceError(f"station folder {path} has no files")
            for file in files:
                ds = read_station_file(file, spec.format)
                if self.variable not in ds:
                    raise DataSourceError(f"station file {file} has no {self.variable}")
                times = ds["time"].values.astype("datetime64[s]").astype(np.int64)
                values = ds[self.variable].values[0].astype(np.float64)
                batch.observations.extend(
                    (spec.id, int(t), float(v)) for t, v in zip(times, values, strict=True))
        return batch
