"""Where new observations come from: Open-Meteo current conditions (with the hourly
forecast of the same answer, stored as issued forecasts) and local station files.

An observation row is ``(station, time_s, value)``; a forecast row is ``(model,
version, station, issue_time_s, valid_time_s, value)``. The requests and the provider's
quirks live in the provider modules (:meth:`desktop_app.sources.openmeteo.OpenMeteo.current`,
:mod:`desktop_app.sources.station_formats`); this module only turns their answers into
rows.
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
from desktop_app.sources.openmeteo import OpenMeteo
from desktop_app.sources.station_formats import read_station_file
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
    """Open-Meteo current conditions (and the next hours' forecast) for many stations."""

    stations: Sequence[StationSpec]
    variable: str = "temperature"
    base_url: str = OPENMETEO_FORECAST_URL
    forecast_hours: int = 6
    http: HttpClient = field(default_factory=shared_client)
    name: str = "open-meteo"

    def fetch(self, cancel: threading.Event | None = None) -> Batch:
        client = OpenMeteo(forecast_url=self.base_url.rstrip("/"), http=self.http)
        answers = client.current([s.latitude for s in self.stations],
                                 [s.longitude for s in self.stations], self.variable,
                                 forecast_hours=self.forecast_hours,
                                 names=[s.id for s in self.stations], cancel=cancel)
        batch = Batch()
        for spec, now in zip(self.stations, answers, strict=True):
            batch.observations.append((spec.id, now.time_s, now.value))
            if now.hourly is not None:
                vt = now.hourly.time.astype("datetime64[s]").astype(np.int64)
                for when, val in zip(vt, now.hourly.values[self.variable], strict=True):
                    if when > now.time_s and np.isfinite(val):
                        batch.forecasts.append((MODEL, MODEL_VERSION, spec.id, now.time_s,
                                                int(when), float(val)))
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
