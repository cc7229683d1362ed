"""Open-Meteo lexicon and answer parsing: our names <-> the API's, units, local time ->
UTC, nulls -> NaN, and the compact cache form of parsed answers. Kept apart from the
client in :mod:`.openmeteo` so the quirks live in one small, pure module; also the
station dataset built from parsed answers and its provenance attributes."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import xarray as xr

from desktop_app.core.schema import validate_station_dataset
from desktop_app.core.variables import get_variable
from desktop_app.errors import DataSourceError
from desktop_app.sources.units import to_internal

if TYPE_CHECKING:
    from desktop_app.sources.cache import CacheStatus

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


def _number(value: Any, key: str) -> float:
    """A JSON number or null (NaN); a string or a list where a number belongs is the
    provider's error, said in one line. 0.0 stays 0.0 (an elevation at sea level)."""
    if value is None:
        return float("nan")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise DataSourceError(f"{PROVIDER}: {key!r} must be a number, got {value!r:.40}")
    return float(value)


def numbers(values: Any, key: str) -> np.ndarray:
    if not isinstance(values, list):
        raise DataSourceError(f"{PROVIDER}: {key!r} must be a list of numbers, got "
                              f"{type(values).__name__}")
    bad = next((v for v in values if v is not None and (
        isinstance(v, bool) or not isinstance(v, int | float))), None)
    if bad is not None:
        raise DataSourceError(f"{PROVIDER}: {key!r} holds {bad!r:.40} where a number belongs")
    return np.array(values, dtype="float64")  # null -> NaN


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
    if not isinstance(raw_time, list):
        raise DataSourceError(f"{PROVIDER}: 'time' must be a list")
    if raw_time and isinstance(raw_time[0], int | float):  # timeformat=unixtime: already UTC
        seconds = numbers(raw_time, "time")
        if not np.isfinite(seconds).all():
            raise DataSourceError(f"{PROVIDER}: 'time' holds null")
        time = seconds.astype("int64").astype("datetime64[s]").astype("datetime64[ns]")
    else:
        try:
            local = np.asarray(raw_time, dtype="datetime64[ns]")
        except (ValueError, TypeError) as exc:
            raise DataSourceError(f"{PROVIDER}: unreadable time stamps: {exc}") from exc
        offset = int(_number(body.get("utc_offset_seconds", 0) or 0, "utc_offset_seconds"))
        time = local - np.timedelta64(offset, "s")
    values: dict[str, np.ndarray] = {}
    for var in variables:
        name = provider_name(var)
        candidates = [name, f"{name}_{model}" if model else "", _LEGACY.get(name, "")]
        found = next((c for c in candidates if c and c in block), None)
        if found is None:
            raise DataSourceError(f"{PROVIDER}: response lacks {name!r} (for {var})")
        data = numbers(block[found], found)
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
        latitude=_number(body.get("latitude"), "latitude"),
        longitude=_number(body.get("longitude"), "longitude"),
        elevation=_number(body.get("elevation"), "elevation"),
        time=time,
        values=values,
    )


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
        when = local - int(_number(body.get("utc_offset_seconds", 0) or 0,
                                   "utc_offset_seconds"))
    name = provider_name(variable)
    found = next((c for c in (name, _LEGACY.get(name, "")) if c and c in block), None)
    if found is None:
        raise DataSourceError(f"{PROVIDER}: 'current' lacks {name!r} (for {variable})")
    raw = block[found]
    unit = (body.get("current_units") or {}).get(found) or _DEFAULT_UNITS[name]
    try:
        value = to_internal(np.array([_number(raw, found)]), unit, variable)
    except (TypeError, ValueError) as exc:
        raise DataSourceError(f"{PROVIDER}: {exc}") from exc
    return when, float(value[0])


def station_dataset(series: list[PointSeries], lats: np.ndarray, lons: np.ndarray,
                     variables: Sequence[str], resolution: Resolution,
                     attrs: dict[str, Any]) -> xr.Dataset:
    time = series[0].time
    for s in series[1:]:
        if not np.array_equal(s.time, time):
            raise DataSourceError(f"{PROVIDER}: locations in one answer have different times")
    data_vars = {
        var: (("station", "time"),
              np.stack([s.values[var] for s in series]).astype("float32"),
              get_variable(var).cf_attrs())
        for var in variables
    }
    ids = [f"{la:.4f},{lo:.4f}" for la, lo in zip(lats, lons, strict=True)]
    ds = xr.Dataset(
        data_vars,
        coords={
            "station_id": ("station", np.asarray(ids, dtype=object), {"cf_role": "timeseries_id"}),
            "latitude": ("station", lats, {"units": "degrees_north", "standard_name": "latitude"}),
            "longitude": ("station", lons, {"units": "degrees_east",
                                            "standard_name": "longitude"}),
            "elevation": ("station", np.array([s.elevation for s in series]),
                          get_variable("elevation").cf_attrs()),
            "model_latitude": ("station", np.array([s.latitude for s in series]),
                               {"units": "degrees_north",
                                "long_name": "latitude of the model grid cell used"}),
            "model_longitude": ("station", np.array([s.longitude for s in series]),
                                {"units": "degrees_east",
                                 "long_name": "longitude of the model grid cell used"}),
            "time": ("time", time.astype("datetime64[ns]"), {"standard_name": "time"}),
        },
        attrs={**attrs, "featureType": "timeSeries", "time_resolution": resolution},
    )
    return validate_station_dataset(ds)


def iso_utc(epoch_s: float) -> str:
    return dt.datetime.fromtimestamp(epoch_s, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def provenance(statuses: Sequence[CacheStatus]) -> dict[str, str]:
    """File attributes saying how fresh the data is: ``fetched_at`` (the oldest request
    in it really left the server then), ``cache_hit`` and, when served offline past
    expiry, ``cache_stale``."""
    hits = sum(s.from_cache for s in statuses)
    attrs = {
        "fetched_at": iso_utc(min(s.fetched_at for s in statuses)),
        "cache_hit": ("no" if hits == 0 else "yes" if hits == len(statuses)
                      else f"partly: {hits} of {len(statuses)} requests from the cache"),
    }
    stale = [s for s in statuses if s.stale]
    if stale:
        expired = min(s.expires_at for s in stale if s.expires_at is not None)
        attrs["cache_stale"] = (
            f"yes: served offline from the cache; fetched {attrs['fetched_at']}, "
            f"expired {iso_utc(expired)}")
    return attrs
