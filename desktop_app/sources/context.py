"""What every data provider runs with: the fetch context (settings, HTTP client, cache),
the progress and cancel conventions, and the cached-grid helpers the gridded providers
share. It sits below the provider modules and :mod:`.providers`, which dispatches to them."""

from __future__ import annotations

import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import xarray as xr

from desktop_app.core.schema import validate_grid_dataset
from desktop_app.errors import CancelledError
from desktop_app.fsutil import load_netcdf
from desktop_app.settings import Settings
from desktop_app.sources.cache import CacheEntry, RequestCache
from desktop_app.sources.http import HttpClient, PollPolicy, shared_client
from desktop_app.sources.output import write_netcdf


@dataclass
class FetchContext:
    """What a fetch runs with; tests inject a mock-transport client and a temp cache."""

    settings: Settings = field(default_factory=Settings)
    http: HttpClient | None = None
    cache: RequestCache | None = None
    poll: PollPolicy | None = None  # for providers that poll a server-side job (CDS)
    sleep: Callable[[float], None] = time.sleep
    refresh: bool = False  # ask the servers again, even for answers the cache holds

    def get_cache(self) -> RequestCache:
        if self.cache is None:
            self.cache = RequestCache(max_bytes=self.settings.cache_max_mb * 1024 * 1024)
        return self.cache

    def get_http(self) -> HttpClient:
        return self.http or shared_client()


def check_cancel(cancel: threading.Event | None, what: str) -> None:
    if cancel is not None and cancel.is_set():
        raise CancelledError(f"{what}: cancelled")


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
