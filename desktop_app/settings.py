"""User settings: a strict JSON file in the config folder.

Strict means an unknown key or a value of the wrong type is a :class:`ConfigError`
naming the key and the file; nothing is guessed. Writes are atomic.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from desktop_app import paths
from desktop_app.core.display import TEMPERATURE_UNITS, TIME_ZONES, WIND_UNITS
from desktop_app.errors import ConfigError
from desktop_app.fsutil import atomic_write_bytes
from desktop_app.strict_config import check_table

SETTINGS_FILE = "settings.json"
# Open-Meteo's public servers: the defaults wherever a self-hosted one can be set instead
OPENMETEO_FORECAST_URL = "https://api.open-meteo.com"
OPENMETEO_ARCHIVE_URL = "https://archive-api.open-meteo.com"


@dataclass
class Settings:
    openmeteo_base_url: str = OPENMETEO_FORECAST_URL
    openmeteo_archive_url: str = OPENMETEO_ARCHIVE_URL
    cds_url: str = "https://cds.climate.copernicus.eu/api"
    cds_key: str = ""
    offline: bool = False
    cache_max_mb: int = 2048
    provider: str = "auto"
    trainer_url: str = "http://127.0.0.1:8765"
    # Stored only when the user ticks "remember"; plain text, and the GUI says so.
    trainer_token: str = ""
    colormap: str = "viridis"
    # Dask scheduler for "Run on cluster" (tcp://HOST:PORT); empty: a local cluster
    cluster_scheduler: str = ""
    recent_regions: list[str] = field(default_factory=list)
    # what people read (data stay in CF units): °C or °F; m/s, kt or km/h; UTC or local
    temperature_unit: str = "°C"
    wind_unit: str = "m/s"
    time_zone: str = "UTC"
    stepped_palette: bool = False

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "settings") -> Settings:
        values = check_table(data, cls, source=source, what="setting")
        if "provider" in values and values["provider"] not in ("auto", "cuda", "cpu"):
            raise ConfigError(f"{source}: setting 'provider' must be auto, cuda or cpu")
        for key, allowed in (("temperature_unit", TEMPERATURE_UNITS), ("wind_unit", WIND_UNITS),
                             ("time_zone", TIME_ZONES)):
            if key in values and values[key] not in allowed:
                raise ConfigError(f"{source}: setting {key!r} must be one of "
                                  f"{', '.join(allowed)}, got {values[key]!r}")
        return cls(**values)


def settings_path() -> Path:
    return paths.config_dir() / SETTINGS_FILE


def load_settings(path: Path | None = None) -> Settings:
    path = path or settings_path()
    if not path.exists():
        return Settings()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"cannot read settings file {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"settings file {path} must hold a JSON object")
    return Settings.from_dict(data, source=str(path))


def save_settings(settings: Settings, path: Path | None = None) -> Path:
    path = path or settings_path()
    text = json.dumps(asdict(settings), indent=2, sort_keys=True) + "\n"
    atomic_write_bytes(path, text.encode("utf-8"))
    return path
