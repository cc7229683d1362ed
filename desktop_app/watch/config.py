"""Watch configuration: a strict TOML file (unknown key or wrong type -> ConfigError).

::

    interval_minutes = 2                # 1..5
    variable = "temperature"
    database = "watch.sqlite"           # relative to the config file
    history_hours = 48                  # rolling window kept in memory for QC/anomalies
    openmeteo_url = "https://api.open-meteo.com"   # or a self-hosted / test server
    forecast_hours = 6                  # hourly forecast stored with each poll (0: none)
    max_backoff_minutes = 30
    [[stations]]
    id = "berlin"
    latitude = 52.52
    longitude = 13.41
    elevation = 38.0                    # optional
    name = "Berlin"                     # optional
    source = "openmeteo"                # or "file" with path = "..." and format = one of
                                        # sources.station_formats (uscrn, tmy3, smet)
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from desktop_app.core.variables import VARIABLES
from desktop_app.errors import ConfigError
from desktop_app.settings import OPENMETEO_FORECAST_URL
from desktop_app.sources.station_formats import formats_without_mapping
from desktop_app.strict_config import check_table
from desktop_app.validation import finite_number, latitude, longitude


@dataclass(frozen=True)
class StationSpec:
    id: str
    latitude: float
    longitude: float
    elevation: float = float("nan")
    name: str = ""
    source: str = "openmeteo"
    path: str = ""
    format: str = "uscrn"


@dataclass(frozen=True)
class WatchConfig:
    stations: tuple[StationSpec, ...]
    interval_minutes: float = 5.0
    variable: str = "temperature"
    database: str = "watch.sqlite"
    history_hours: float = 48.0
    openmeteo_url: str = OPENMETEO_FORECAST_URL
    forecast_hours: int = 6
    max_backoff_minutes: float = 30.0
    base_dir: Path = field(default=Path("."), compare=False)

    @property
    def database_path(self) -> Path:
        return (self.base_dir / self.database).resolve()


def parse_config(data: dict[str, Any], base_dir: Path = Path(".")) -> WatchConfig:
    top = check_table(data, WatchConfig, skip=("stations", "base_dir"))
    raw = data.get("stations")
    if not isinstance(raw, list) or not raw:
        raise ConfigError("stations: give at least one [[stations]] table")
    stations = []
    for i, table in enumerate(raw):
        spec = StationSpec(**check_table(table, StationSpec, prefix=f"stations[{i}]."))
        latitude(spec.latitude, f"stations[{i}].latitude")
        longitude(spec.longitude, f"stations[{i}].longitude")
        if spec.elevation == spec.elevation:  # NaN: not given
            finite_number(spec.elevation, f"stations[{i}].elevation", low=-500, high=9000)
        if spec.source not in ("openmeteo", "file"):
            raise ConfigError(f"stations[{i}].source: {spec.source!r} is not openmeteo or file")
        if spec.source == "file" and not spec.path:
            raise ConfigError(f"stations[{i}].path: a file station needs a path")
        known = [f.name for f in formats_without_mapping()]
        if spec.source == "file" and spec.format not in known:
            raise ConfigError(f"stations[{i}].format: {spec.format!r} is not one of "
                              f"{', '.join(known)}")
        stations.append(spec)
    ids = [s.id for s in stations]
    if len(set(ids)) != len(ids):
        raise ConfigError(f"stations: duplicate id {next(i for i in ids if ids.count(i) > 1)!r}")
    cfg = WatchConfig(stations=tuple(stations), base_dir=base_dir, **top)
    if not 1.0 <= cfg.interval_minutes <= 5.0:
        raise ConfigError(f"interval_minutes: {cfg.interval_minutes} is outside 1..5")
    if cfg.variable not in VARIABLES:
        raise ConfigError(f"variable: unknown variable {cfg.variable!r}")
    return cfg


def load_config(path: Path) -> WatchConfig:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"watch config not found: {path}") from exc
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"watch config {path}: {exc}") from exc
    return parse_config(data, path.parent)
