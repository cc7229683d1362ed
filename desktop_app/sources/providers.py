"""The data-provider registry and the "Get data" entry point.

A provider turns one kind of fetch request (a frozen dataclass of its own) into a
canonical dataset, doing its own caching and trimming. :data:`PROVIDERS` maps each
request type to its provider; :func:`run_fetch` looks the request's exact type up
there, so a request no provider has registered for is a clear error, never someone
else's fetch. The CLI (``microclimate fetch``), the window's Data panel and the region
builder all fetch through :func:`run_fetch` and list what is offered from the registry.

Adding a provider: a module with a request dataclass and a class satisfying
:class:`Provider`, then one line in :data:`PROVIDERS` (or :func:`register` at run time,
e.g. in a test). No Qt here: the GUI runs :func:`run_fetch` in a worker thread.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Protocol, TypeVar

import xarray as xr

from desktop_app.core.progress import Progress
from desktop_app.errors import ConfigError
from desktop_app.sources.cds import CdsProvider, Era5CdsFetch
from desktop_app.sources.context import (
    FetchContext,
    cache_grid,
    check_cancel,
    load_cached_grid,
    open_cached_grid,
)
from desktop_app.sources.era5_files import Era5FileFetch, Era5FileProvider
from desktop_app.sources.openmeteo import OpenMeteoFetch, OpenMeteoProvider
from desktop_app.sources.output import write_netcdf
from desktop_app.sources.station_formats import StationFileFetch, StationFileProvider

__all__ = ["PROVIDERS", "Era5CdsFetch", "Era5FileFetch", "FetchContext", "OpenMeteoFetch",
           "Provider", "StationFileFetch", "cache_grid", "fetch_notes", "fetch_to_file",
           "load_cached_grid", "open_cached_grid", "provider_for", "register", "run_fetch"]

R = TypeVar("R", contravariant=True)


class Provider(Protocol[R]):
    """One data provider: ``fetch`` its request type into a canonical station or grid
    dataset, reporting ``progress(fraction, message)`` and stopping with
    :class:`~desktop_app.errors.CancelledError` once ``cancel`` is set."""

    @property
    def name(self) -> str:
        """Short id (``openmeteo``): the CLI and logs use it."""
        ...

    @property
    def title(self) -> str:
        """What a person reads (the window's source list, ``--help``)."""
        ...

    def fetch(self, request: R, ctx: FetchContext, progress: Progress,
              cancel: threading.Event | None) -> xr.Dataset: ...


# request type -> provider; the order is the order the window offers them in
PROVIDERS: dict[type, Provider[Any]] = {
    OpenMeteoFetch: OpenMeteoProvider(),
    Era5FileFetch: Era5FileProvider(),
    Era5CdsFetch: CdsProvider(),
    StationFileFetch: StationFileProvider(),
}


def register(request_type: type[R], provider: Provider[R]) -> None:
    """Add a provider for ``request_type`` (a second one for a type is an error)."""
    if request_type in PROVIDERS:
        raise ConfigError(f"a data provider for {request_type.__name__} is already "
                          f"registered ({PROVIDERS[request_type].name})")
    PROVIDERS[request_type] = provider


def provider_for(request: object) -> Provider[Any]:
    """The provider registered for ``request``'s type (exact type, no guessing)."""
    try:
        return PROVIDERS[type(request)]
    except KeyError:
        known = ", ".join(t.__name__ for t in PROVIDERS)
        raise ConfigError(f"no data provider for a {type(request).__name__} request "
                          f"(registered: {known})") from None


def run_fetch(
    request: object,
    *,
    context: FetchContext | None = None,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> xr.Dataset:
    """Run one fetch and return a canonical dataset. Safe to call from a worker thread;
    set ``cancel`` to stop at the next batch/poll/chunk (raises CancelledError)."""
    provider = provider_for(request)
    check_cancel(cancel, "fetch")
    return provider.fetch(request, context or FetchContext(),
                          progress or (lambda _f, _m: None), cancel)


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
    request: object,
    out: Path,
    *,
    context: FetchContext | None = None,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> Path:
    """Fetch and write CF NetCDF to ``out`` atomically (nothing at ``out`` on failure)."""
    ds = run_fetch(request, context=context, progress=progress, cancel=cancel)
    check_cancel(cancel, "fetch")
    return write_netcdf(ds, out)
