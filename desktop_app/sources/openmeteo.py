"""Open-Meteo: forecast (hourly and 15-minutely), historical archive and elevation.

No key is needed. Many points go in one request as comma-separated latitude/longitude
lists (the API then answers with a JSON array, one object per point); we batch
``batch_size`` points per request. Provider quirks are resolved here and in
:mod:`.openmeteo_parse`, nowhere else: times are local wall-clock strings that become
UTC by subtracting ``utc_offset_seconds``; nulls become NaN; units are read from
``<block>_units`` (falling back to the API's documented defaults, since older bodies
name the unit keys differently from the data keys); multi-model answers suffix names
(``_era5``).

Answers are cached with a lifetime: the server's ``Cache-Control: max-age`` where it
sends one, else a forecast for an hour (a new model run may have landed) and the
archive and elevation for ever. ``fetched_at`` is when the data really left the server;
``cache_hit`` says whether it came from the cache, and ``cache_stale`` whether it was
served offline past its expiry.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
import numpy as np
import xarray as xr

from desktop_app.core.grid import BBox, GridSpec
from desktop_app.core.progress import Progress
from desktop_app.core.schema import validate_grid_dataset
from desktop_app.core.variables import get_variable
from desktop_app.errors import CancelledError, ConfigError, DataSourceError
from desktop_app.settings import OPENMETEO_ARCHIVE_URL, OPENMETEO_FORECAST_URL, Settings
from desktop_app.sources.cache import CacheStatus, Fetched, RequestCache, cached_fetch
from desktop_app.sources.context import FetchContext
from desktop_app.sources.http import (
    HttpClient,
    cache_max_age,
    parse_json_bytes,
    redact_url,
    shared_client,
)
from desktop_app.sources.openmeteo_parse import (
    PROVIDER,
    PointSeries,
    Resolution,
    decode_series,
    encode_series,
    numbers,
    parse_current,
    parse_location,
    provenance,
    provider_name,
    station_dataset,
)

__all__ = ["Current", "OpenMeteo", "OpenMeteoFetch", "PointSeries", "parse_location",
           "provider_name", "resolve_base_urls"]

ENV_BASE_URL = "MICROCLIMATE_OPENMETEO_URL"
ENV_ARCHIVE_URL = "MICROCLIMATE_OPENMETEO_ARCHIVE_URL"
MAX_POINTS = 10_000
# how long an answer is fresh when the server sends no Cache-Control (None: for ever)
FORECAST_LIFETIME_S = 3600.0
ARCHIVE_LIFETIME_S: float | None = None
ELEVATION_LIFETIME_S: float | None = None

T = TypeVar("T")


@dataclass(frozen=True)
class OpenMeteoFetch:
    """A fetch request: Open-Meteo forecast or archive at points or on a grid (``bbox``)."""

    variables: tuple[str, ...]
    latitudes: tuple[float, ...] = ()
    longitudes: tuple[float, ...] = ()
    bbox: BBox | None = None
    grid_resolution: float = 0.1
    start: dt.date | None = None
    end: dt.date | None = None
    archive: bool = False
    resolution: Resolution = "hourly"
    model: str | None = None
    base_url: str | None = None


@dataclass(frozen=True)
class Current:
    """One location's current conditions (UTC seconds, internal units) and, when asked
    for, the hourly forecast of the same answer."""

    time_s: int
    value: float
    hourly: PointSeries | None = None


def resolve_base_urls(
    settings: Settings | None = None, base_url: str | None = None
) -> tuple[str, str]:
    """(forecast, archive) base URLs: ``--base-url`` > environment > settings.

    One explicit base URL serves both endpoints (a self-hosted instance or a test server).
    """
    settings = settings or Settings()
    if base_url:
        return base_url.rstrip("/"), base_url.rstrip("/")
    forecast = os.environ.get(ENV_BASE_URL) or settings.openmeteo_base_url
    archive = os.environ.get(ENV_ARCHIVE_URL) or (
        forecast if os.environ.get(ENV_BASE_URL) else settings.openmeteo_archive_url
    )
    return forecast.rstrip("/"), archive.rstrip("/")


@dataclass
class OpenMeteo:
    """Open-Meteo client. ``http`` and ``cache`` are injectable (tests, offline)."""

    forecast_url: str = OPENMETEO_FORECAST_URL
    archive_url: str = OPENMETEO_ARCHIVE_URL
    http: HttpClient = field(default_factory=shared_client)
    cache: RequestCache | None = None
    offline: bool = False
    refresh: bool = False  # ask the server again even when the cache has a fresh answer
    batch_size: int = 100

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        base_url: str | None = None,
        http: HttpClient | None = None,
        cache: RequestCache | None = None,
        refresh: bool = False,
    ) -> OpenMeteo:
        forecast, archive = resolve_base_urls(settings, base_url)
        return cls(
            forecast_url=forecast,
            archive_url=archive,
            http=http or shared_client(),
            cache=cache if cache is not None else RequestCache(
                max_bytes=settings.cache_max_mb * 1024 * 1024
            ),
            offline=settings.offline,
            refresh=refresh,
        )

    # -- requests ---------------------------------------------------------------
    def current(self, latitudes: Sequence[float], longitudes: Sequence[float],
                variable: str, *, forecast_hours: int = 0, names: Sequence[str] = (),
                cancel: threading.Event | None = None) -> list[Current]:
        """``/v1/forecast?current=<var>[&hourly=<var>&forecast_hours=N]`` for many points
        in one request, never cached (the live watch asks for what is new). ``names``
        label the points in error messages (default: their index)."""
        name = provider_name(variable)
        params = {"latitude": ",".join(f"{x:.4f}" for x in latitudes),
                  "longitude": ",".join(f"{x:.4f}" for x in longitudes), "current": name}
        if forecast_hours > 0:
            params.update(hourly=name, forecast_hours=str(forecast_hours))
        url = f"{self.forecast_url}/v1/forecast"
        body = self.http.get_json(url, params=params, cancel=cancel, provider=PROVIDER)
        bodies = body if isinstance(body, list) else [body]
        if len(bodies) != len(latitudes):
            raise DataSourceError(f"{PROVIDER}: {len(bodies)} locations answered for "
                                  f"{len(latitudes)} stations requested from {url}")
        out = []
        for i, one in enumerate(bodies):
            label = names[i] if i < len(names) else str(i)
            try:
                when, value = parse_current(one, variable)
            except DataSourceError as exc:
                raise DataSourceError(f"{exc} (station {label}, {url})") from exc
            hourly = (parse_location(one, [variable], "hourly") if forecast_hours > 0
                      and isinstance(one.get("hourly"), dict) else None)
            out.append(Current(when, value, hourly))
        return out

    def _endpoint(self, archive: bool) -> str:
        return f"{self.archive_url}/v1/archive" if archive else f"{self.forecast_url}/v1/forecast"

    def _get(self, endpoint: str, params: dict[str, str], parse: Callable[[Any], T],
             cancel: threading.Event | None, what: str, lifetime_s: float | None,
             codec: tuple[Callable[[T], bytes], Callable[[bytes], T]] | None = None
             ) -> tuple[T, CacheStatus]:
        url = redact_url(httpx.URL(endpoint, params=params))
        request = {"provider": "open-meteo", "endpoint": endpoint, "params": params}

        def fetch() -> Fetched:
            response = self.http.request(
                "GET", endpoint, params=params, cancel=cancel, provider=PROVIDER)
            return Fetched(response.content, cache_max_age(response.headers))

        def parse_bytes(data: bytes) -> T:
            return parse(parse_json_bytes(data, url=url, provider=PROVIDER))

        return cached_fetch(
            self.cache, request, fetch, parse_bytes, offline=self.offline, what=what,
            encode=codec[0] if codec else None, decode=codec[1] if codec else None,
            lifetime_s=lifetime_s, refresh=self.refresh,
        )

    def fetch_points(
        self,
        latitudes: Sequence[float],
        longitudes: Sequence[float],
        variables: Sequence[str],
        *,
        start: dt.date | None = None,
        end: dt.date | None = None,
        archive: bool = False,
        resolution: Resolution = "hourly",
        model: str | None = None,
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
    ) -> xr.Dataset:
        """Station-schema dataset, one station per point, batched requests."""
        lats, lons = _check_points(latitudes, longitudes)
        names = [provider_name(v) for v in variables]
        if not variables:
            raise ConfigError("no variables requested")
        if archive and (start is None or end is None):
            raise ConfigError("the Open-Meteo archive needs a start and an end date")
        if start and end and end < start:
            raise ConfigError(f"end date {end} is before start date {start}")
        if archive and resolution != "hourly":
            raise ConfigError("the Open-Meteo archive offers hourly data only")
        endpoint = self._endpoint(archive)
        series: list[PointSeries] = []
        statuses: list[CacheStatus] = []
        batches = range(0, lats.size, self.batch_size)
        first_url = ""
        for n, i in enumerate(batches):
            if cancel is not None and cancel.is_set():
                raise CancelledError(f"{PROVIDER}: cancelled after {n} of {len(batches)} batches")
            blat, blon = lats[i : i + self.batch_size], lons[i : i + self.batch_size]
            params = {
                "latitude": ",".join(f"{x:.5f}" for x in blat),
                "longitude": ",".join(f"{x:.5f}" for x in blon),
                resolution: ",".join(names),
            }
            if start is not None:
                params["start_date"] = start.isoformat()
            if end is not None:
                params["end_date"] = end.isoformat()
            if model:
                params["models"] = model
            if not first_url:
                first_url = redact_url(httpx.URL(endpoint, params=params))

            def parse(body: Any, count: int = blat.size) -> list[PointSeries]:
                items = body if isinstance(body, list) else [body]
                if len(items) != count:
                    raise DataSourceError(
                        f"{PROVIDER}: asked for {count} locations, got {len(items)}"
                    )
                return [parse_location(b, variables, resolution, model) for b in items]

            batch, status = self._get(
                endpoint, params, parse, cancel,
                what=f"{PROVIDER} batch {n + 1} ({blat.size} points)",
                lifetime_s=ARCHIVE_LIFETIME_S if archive else FORECAST_LIFETIME_S,
                codec=(encode_series, decode_series))
            series.extend(batch)
            statuses.append(status)
            if progress is not None:
                progress((n + 1) / len(batches), f"{PROVIDER}: batch {n + 1}/{len(batches)}")
        return station_dataset(series, lats, lons, variables, resolution, attrs={
            "source": f"{PROVIDER} {'historical archive' if archive else 'forecast'} API",
            "source_url": first_url,
            "model": model or "best_match",
            "requests": len(batches),
            **provenance(statuses),
        })

    def fetch_bbox(
        self,
        bbox: BBox,
        resolution_deg: float,
        variables: Sequence[str],
        **kwargs: Any,
    ) -> xr.Dataset:
        """Grid-schema dataset: the box sampled at ``resolution_deg`` grid points."""
        grid = GridSpec.from_bbox(bbox, resolution_deg)
        if grid.latitude.size * grid.longitude.size > MAX_POINTS:
            raise ConfigError(
                f"bbox at {resolution_deg} deg is {grid.shape[0]}x{grid.shape[1]} points; "
                f"more than {MAX_POINTS}: use a coarser grid step"
            )
        lat2, lon2 = np.meshgrid(grid.latitude, grid.longitude, indexing="ij")
        points = self.fetch_points(lat2.ravel(), lon2.ravel(), variables, **kwargs)
        ny, nx = grid.shape
        data_vars: dict[str, Any] = {
            str(name): (
                ("time", "latitude", "longitude"),
                da.values.reshape(ny, nx, -1).transpose(2, 0, 1).astype("float32"),
                da.attrs,
            )
            for name, da in points.data_vars.items()
        }
        # the coarse orography: the elevation Open-Meteo reports for each point's model
        # cell, so a fetched grid is a complete downscaling background
        data_vars["elevation"] = (
            ("latitude", "longitude"),
            points["elevation"].values.reshape(ny, nx).astype("float32"),
            {**get_variable("elevation").cf_attrs(),
             "comment": f"elevation {PROVIDER} reports for each grid point"})
        ds = xr.Dataset(
            data_vars,
            coords={
                "time": points["time"].values,
                "latitude": ("latitude", grid.latitude, {"units": "degrees_north",
                                                         "standard_name": "latitude"}),
                "longitude": ("longitude", grid.longitude, {"units": "degrees_east",
                                                            "standard_name": "longitude"}),
            },
            attrs={
                **{k: v for k, v in points.attrs.items() if k != "featureType"},
                "sampling": f"points every {resolution_deg} deg in {bbox}",
            },
        )
        return validate_grid_dataset(ds)

    def elevation(self, latitudes: Sequence[float], longitudes: Sequence[float],
                  cancel: threading.Event | None = None) -> np.ndarray:
        """Terrain elevation (m) of each point from the elevation API."""
        lats, lons = _check_points(latitudes, longitudes)
        endpoint = f"{self.forecast_url}/v1/elevation"
        out: list[float] = []
        for i in range(0, lats.size, self.batch_size):
            blat, blon = lats[i : i + self.batch_size], lons[i : i + self.batch_size]
            params = {"latitude": ",".join(f"{x:.5f}" for x in blat),
                      "longitude": ",".join(f"{x:.5f}" for x in blon)}

            def parse(body: Any, count: int = blat.size) -> list[float]:
                values = body.get("elevation") if isinstance(body, dict) else None
                if not isinstance(values, list) or len(values) != count:
                    raise DataSourceError(
                        f"{PROVIDER}: elevation answer lacks {count} 'elevation' values"
                    )
                return list(numbers(values, "elevation"))

            values, _ = self._get(endpoint, params, parse, cancel, what=f"{PROVIDER} elevation",
                                  lifetime_s=ELEVATION_LIFETIME_S)
            out.extend(values)
        return np.asarray(out, dtype="float64")


def _check_points(latitudes: Sequence[float], longitudes: Sequence[float]
                  ) -> tuple[np.ndarray, np.ndarray]:
    lats = np.atleast_1d(np.asarray(latitudes, dtype="float64"))
    lons = np.atleast_1d(np.asarray(longitudes, dtype="float64"))
    if lats.shape != lons.shape or lats.size == 0:
        raise ConfigError(
            f"need as many latitudes as longitudes (got {lats.size} and {lons.size})"
        )
    if (np.any(np.abs(lats) > 90) or np.any(np.abs(lons) > 180)
            or not (np.all(np.isfinite(lats)) and np.all(np.isfinite(lons)))):
        raise ConfigError("latitudes must be within -90..90 and longitudes within -180..180")
    if lats.size > MAX_POINTS:
        raise ConfigError(f"{lats.size} points requested; at most {MAX_POINTS} per fetch")
    return lats, lons



class OpenMeteoProvider:
    """Open-Meteo as a data provider: points or a sampled grid, forecast or archive,
    every answer cached with its lifetime (see :class:`OpenMeteo`)."""

    name = "openmeteo"
    title = "Open-Meteo forecast or archive (no key)"

    def fetch(self, request: OpenMeteoFetch, ctx: FetchContext, progress: Progress,
              cancel: threading.Event | None) -> xr.Dataset:
        om = OpenMeteo.from_settings(ctx.settings, base_url=request.base_url,
                                     http=ctx.get_http(), cache=ctx.get_cache(),
                                     refresh=ctx.refresh)
        common: dict[str, Any] = dict(
            start=request.start, end=request.end, archive=request.archive,
            resolution=request.resolution, model=request.model, progress=progress,
            cancel=cancel)
        if request.bbox is not None:
            return om.fetch_bbox(request.bbox, request.grid_resolution, request.variables,
                                 **common)
        return om.fetch_points(request.latitudes, request.longitudes, request.variables,
                               **common)
