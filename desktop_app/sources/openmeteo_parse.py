"""Open-Meteo lexicon and answer parsing: our names <-> the API's, units, local time ->
UTC, nulls -> NaN, and the compact cache form of parsed answers. Kept apart from the
client in :mod:`.openmeteo` so the quirks live in one small, pure module."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from desktop_app.core.variables import get_variable
from desktop_app.errors import DataSourceError
from desktop_app.sources.units import to_internal

PROVIDER = "Open-Meteo"
Resolution = Literal["hourly", "minutely_15"]

# our name -> Open-Meteo name
OM_NAMES: dict[str, str] = {
    "temperature": "temperature_2m",
    "dewpoint_temperature": "dew_point_2m",
    "relative_humidity": "relative_humidity_2m",
    "surface_pressure": "surface_pressure",
    "mean_sea_level_pressure": "pressure_msl",
    "wind_speed": "wind_speed_10m",
    "wind_direction": "wind_direction_10m",
    "precipitation": "precipitation",
}
# names the API used before its 2023 renaming (still seen in recorded bodies)
_LEGACY: dict[str, str] = {
    "dew_point_2m": "dewpoint_2m",
    "relative_humidity_2m": "relativehumidity_2m",
    "wind_speed_10m": "windspeed_10m",
    "wind_direction_10m": "winddirection_10m",
}
# the API's documented default units
_DEFAULT_UNITS: dict[str, str] = {
    "temperature_2m": "°C", "dew_point_2m": "°C", "relative_humidity_2m": "%",
    "surface_pressure": "hPa", "pressure_msl": "hPa", "wind_speed_10m": "km/h",
    "wind_direction_10m": "°", "precipitation": "mm",
}


def provider_name(variable: str) -> str:
    get_variable(variable)  # unknown names raise UnknownVariableError listing known ones
    try:
        return OM_NAMES[variable]
    except KeyError:
        known = ", ".join(sorted(OM_NAMES))
        raise DataSourceError(
            f"{PROVIDER} has no variable {variable!r}; available: {known}"
        ) from None


@dataclass(frozen=True)
class PointSeries:
    """One location's answer, already in UTC and internal units."""

    latitude: float
    longitude: float
    elevation: float
    time: np.ndarray
    values: dict[str, np.ndarray]


def parse_location(
    body: Any, variables: Sequence[str], resolution: Resolution, model: str | None = None
) -> PointSeries:
    if not isinstance(body, dict):
        raise DataSourceError(f"{PROVIDER}: expected a JSON object per location, got {body!r:.40}")
    block = body.get(resolution)
    if not isinstance(block, dict) or "time" not in block:
        raise DataSourceError(f"{PROVIDER}: response has no '{resolution}' block with 'time'")
    units = body.get(f"{resolution}_units") or {}
    raw_time = block["time"]
    if raw_time and isinstance(raw_time[0], int | float):  # timeformat=unixtime: already UTC
        time = np.asarray(raw_time, dtype="int64").astype("datetime64[s]").astype("datetime64[ns]")
    else:
        try:
            local = np.asarray(raw_time, dtype="datetime64[ns]")
        except ValueError as exc:
            raise DataSourceError(f"{PROVIDER}: unreadable time stamps: {exc}") from exc
        offset = int(body.get("utc_offset_seconds", 0) or 0)
        time = local - np.timedelta64(offset, "s")
    values: dict[str, np.ndarray] = {}
    for var in variables:
        name = provider_name(var)
        candidates = [name, f"{name}_{model}" if model else "", _LEGACY.get(name, "")]
        found = next((c for c in candidates if c and c in block), None)
        if found is None:
            raise DataSourceError(f"{PROVIDER}: response lacks {name!r} (for {var})")
        data = np.array(block[found], dtype="float64")  # null -> NaN
        if data.shape != time.shape:
            raise DataSourceError(
                f"{PROVIDER}: {found!r} has {data.size} values for {time.size} time steps "
                "(truncated response?)"
            )
        unit = units.get(found) or units.get(_LEGACY.get(name, "")) or _DEFAULT_UNITS[name]
        try:
            values[var] = to_internal(data, unit, var)
        except ValueError as exc:
            raise DataSourceError(f"{PROVIDER}: {exc}") from exc
    return PointSeries(
        latitude=float(body.get("latitude", np.nan)),
        longitude=float(body.get("longitude", np.nan)),
        # 0.0 is a real elevation (a coast, the Dutch polders): only absent/null is NaN
        elevation=_number(body.get("elevation")),
        time=time,
        values=values,
    )


def _number(value: Any) -> float:
    try:
        return float("nan") if value is None else float(value)
    except (TypeError, ValueError):
        raise DataSourceError(f"{PROVIDER}: unreadable number {value!r}") from None


def encode_series(series: list[PointSeries]) -> bytes:
    """Parsed answers as an uncompressed .npz (the cache form: a hit skips JSON parsing)."""
    names = sorted(series[0].values) if series else []
    arrays: dict[str, np.ndarray] = {
        "latitude": np.array([s.latitude for s in series]),
        "longitude": np.array([s.longitude for s in series]),
        "elevation": np.array([s.elevation for s in series]),
        "time": np.stack([s.time.astype("int64") for s in series]),
        "names": np.array(names, dtype="U64"),
    }
    for name in names:
        arrays[f"var_{name}"] = np.stack([s.values[name] for s in series])
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)  # type: ignore[arg-type]
    return buffer.getvalue()


def decode_series(data: bytes) -> list[PointSeries]:
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            names = [str(n) for n in npz["names"]]
            values = {n: npz[f"var_{n}"] for n in names}
            times = npz["time"].astype("datetime64[ns]")
            return [
                PointSeries(float(la), float(lo), float(el), times[i],
                            {n: values[n][i] for n in names})
                for i, (la, lo, el) in enumerate(
                    zip(npz["latitude"], npz["longitude"], npz["elevation"], strict=True))
            ]
    except (OSError, ValueError, KeyError) as exc:
        raise DataSourceError(f"{PROVIDER}: cached answer is unreadable ({exc})") from exc


def parse_current(body: Any, variable: str) -> tuple[int, float]:
    """The ``current`` block of one location's answer (``&current=<name>``): the UTC time
    in seconds since the epoch (the API gives local time without an offset, or unixtime)
    and the value in internal units (null -> NaN)."""
    if not isinstance(body, dict) or not isinstance(body.get("current"), dict):
        raise DataSourceError(f"{PROVIDER}: response has no 'current' block")
    block = body["current"]
    raw_time = block.get("time")
    if isinstance(raw_time, int | float):
        when = int(raw_time)
    else:
        try:
            local = int(np.datetime64(str(raw_time), "s").astype(np.int64))
        except ValueError as exc:
            raise DataSourceError(f"{PROVIDER}: unreadable current time {raw_time!r}") from exc
        when = local - int(body.get("utc_offset_seconds", 0) or 0)
    name = provider_name(variable)
    found = next((c for c in (name, _LEGACY.get(name, "")) if c and c in block), None)
    if found is None:
        raise DataSourceError(f"{PROVIDER}: 'current' lacks {name!r} (for {variable})")
    raw = block[found]
    unit = (body.get("current_units") or {}).get(found) or _DEFAULT_UNITS[name]
    try:
        value = to_internal(np.array([np.nan if raw is None else float(raw)]), unit, variable)
    except (TypeError, ValueError) as exc:
        raise DataSourceError(f"{PROVIDER}: {exc}") from exc
    return when, float(value[0])
