"""The "Get data" hook: one plain function the GUI runs in a worker thread (and the CLI
runs directly), with a progress callback and a cancel event. No Qt here."""

from __future__ import annotations

import datetime as dt
import json
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import xarray as xr

from desktop_app.core.grid import BBox
from desktop_app.core.schema import validate_grid_dataset
from desktop_app.errors import CancelledError, OfflineError
from desktop_app.fsutil import load_netcdf
from desktop_app.settings import Settings
from desktop_app.sources.cache import CacheEntry, RequestCache
from desktop_app.sources.cds import (
    DATASET,
    CdsClient,
    Era5Request,
    PollPolicy,
    resolve_credentials,
)
from desktop_app.sources.era5_files import open_era5, select_variables
from desktop_app.sources.http import HttpClient, shared_client
from desktop_app.sources.openmeteo import OpenMeteo, Resolution
from desktop_app.sources.output import write_netcdf
from desktop_app.sources.station_formats import read_station_files
from desktop_app.sources.stations import CsvMapping

Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class OpenMeteoFetch:
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
class Era5FileFetch:
    paths: tuple[Path, ...]
    variables: tuple[str, ...] | None = None
    invariant: tuple[Path, ...] = ()  # files with ERA5's surface geopotential only


@dataclass(frozen=True)
class Era5CdsFetch:
    request: Era5Request


@dataclass(frozen=True)
class StationFileFetch:
    path: Path
    format: str  # a name in sources.station_formats.STATION_FORMATS
    mapping: CsvMapping | None = None
    more: tuple[Path, ...] = ()  # further files of the same format (one station each)
    elevation: float | None = None  # for a format whose files carry none (USCRN)


FetchRequest = OpenMeteoFetch | Era5FileFetch | Era5CdsFetch | StationFileFetch


@dataclass
class FetchContext:
    """What a fetch runs with; tests inject a mock-transport client and a temp cache."""

    settings: Settings = field(default_factory=Settings)
    http: HttpClient | None = None
    cache: RequestCache | None = None
    cds_poll: PollPolicy | None = None
    sleep: Callable[[float], None] = time.sleep
    refresh: bool = False  # ask the servers again, even for answers the cache holds

    def get_cache(self) -> RequestCache:
        if self.cache is None:
            self.cache = RequestCache(max_bytes=self.settings.cache_max_mb * 1024 * 1024)
        return self.cache

    def get_http(self) -> HttpClient:
        return self.http or shared_client()


def _check(cancel: threading.Event | None, what: str) -> None:
    if cancel is not None and cancel.is_set():
        raise CancelledError(f"{what}: cancelled")


def run_fetch(
    request: FetchRequest,
    *,
    context: FetchContext | None = None,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> xr.Dataset:
    """Run one fetch and return a canonical dataset. Safe to call from a worker thread;
    set ``cancel`` to stop at the next batch/poll/chunk (raises CancelledError)."""
    ctx = context or FetchContext()
    report = progress or (lambda _f, _m: None)
    _check(cancel, "fetch")
    if isinstance(request, OpenMeteoFetch):
        om = OpenMeteo.from_settings(ctx.settings, base_url=request.base_url,
                                     http=ctx.get_http(), cache=ctx.get_cache(),
                                     refresh=ctx.refresh)
        if request.bbox is not None:
            return om.fetch_bbox(request.bbox, request.grid_resolution, request.variables,
                                 start=request.start, end=request.end,
                                 archive=request.archive, resolution=request.resolution,
                                 model=request.model, progress=report, cancel=cancel)
        return om.fetch_points(request.latitudes, request.longitudes, request.variables,
                               start=request.start, end=request.end, archive=request.archive,
                               resolution=request.resolution, model=request.model,
                               progress=report, cancel=cancel)
    if isinstance(request, Era5FileFetch):
        report(0.0, f"reading {len(request.paths)} ERA5 file(s)")
        ds = open_era5(request.paths, request.variables, invariant=request.invariant or None)
        report(1.0, "ERA5 files read")
        return ds
    if isinstance(request, StationFileFetch):
        paths = [request.path, *request.more]
        report(0.0, f"reading {request.path}" + (f" and {len(request.more)} more"
                                                 if request.more else ""))
        ds = read_station_files(paths, request.format, request.mapping,
                                elevation=request.elevation)
        report(1.0, f"{ds.sizes['station']} station(s), {ds.sizes['time']} times")
        return ds
    return _fetch_cds(request.request, ctx, report, cancel)


def open_cached_grid(path: Path) -> xr.Dataset:
    """A canonical grid the cache holds (already normalised): open, load, validate."""
    return validate_grid_dataset(load_netcdf(path, "cached grid", engine="netcdf4"))


def cache_grid(cache: RequestCache, request: dict[str, object], ds: xr.Dataset,
               what: str) -> CacheEntry:
    """Store a canonical grid as CF NetCDF under ``request`` (normalised once, so that
    reopening it is a plain read with no fix-ups)."""
    cache.root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache.root, prefix=".grid-") as tmp:
        path = write_netcdf(ds, Path(tmp) / "grid.nc", compress=False)
        return cache.put_file(request, path, what=what)


def load_cached_grid(cache: RequestCache, request: dict[str, object]) -> xr.Dataset | None:
    """The cached grid for ``request`` (checksum verified), or None."""
    entry = cache.lookup(request)
    return None if entry is None else open_cached_grid(entry.path)


def _fetch_cds(request: Era5Request, ctx: FetchContext, report: Progress,
               cancel: threading.Event | None) -> xr.Dataset:
    """CDS download, normalised once and cached as canonical NetCDF, then trimmed to the
    asked dates/variables (the CDS day/month product can over-deliver)."""
    cache = ctx.get_cache()
    key: dict[str, object] = {"provider": "cds", "request": request.to_cds()}
    ds = None if ctx.refresh else load_cached_grid(cache, key)
    hit = ds is not None
    if ds is None:
        if ctx.settings.offline:
            raise OfflineError("offline mode: this ERA5 request is not in the cache"
                               + (" (--refresh needs the network)" if ctx.refresh else ""))
        url, token = resolve_credentials(ctx.settings)
        client = CdsClient(url, token, http=ctx.get_http(), poll=ctx.cds_poll, sleep=ctx.sleep)
        cache.root.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=cache.root, prefix=".cds-") as tmp:
            raw = client.retrieve(request, Path(tmp) / "download", progress=report,
                                  cancel=cancel)
            _check(cancel, "CDS")
            ds = open_era5(raw)  # a corrupt download fails here, before the cache
        ds.attrs.update(
            source="ERA5 reanalysis via the Copernicus Climate Data Store",
            source_url=f"{url}/retrieve/v1/processes/{DATASET}",
            fetched_at=dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            cds_request=json.dumps(key["request"], sort_keys=True),
        )
        cache_grid(cache, key, ds, what="ERA5 (CDS)")
    ds.attrs["cache_hit"] = "yes" if hit else "no"  # the archive never expires
    end = np.datetime64(request.end + dt.timedelta(days=1), "ns")
    ds = ds.sel(time=(ds["time"] >= np.datetime64(request.start, "ns")) & (ds["time"] < end))
    report(1.0, "ERA5 ready")
    return select_variables(ds, request.variables)


def fetch_notes(ds: xr.Dataset) -> list[str]:
    """Lines a user must see about a fetched dataset (CLI stderr, GUI status bar):
    stale data served offline, and a stand-in orography."""
    notes = []
    if ds.attrs.get("cache_stale"):
        notes.append(f"STALE: offline mode served an expired cached answer (fetched "
                     f"{ds.attrs.get('fetched_at', '?')}); go online and fetch again")
    if ds.attrs.get("orography_fallback"):
        notes.append(f"note: {ds.attrs['orography_fallback']}")
    return notes


def fetch_to_file(
    request: FetchRequest,
    out: Path,
    *,
    context: FetchContext | None = None,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> Path:
    """Fetch and write CF NetCDF to ``out`` atomically (nothing at ``out`` on failure)."""
    ds = run_fetch(request, context=context, progress=progress, cancel=cancel)
    _check(cancel, "fetch")
    return write_netcdf(ds, out)
