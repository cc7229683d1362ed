"""ERA5 through the Copernicus Climate Data Store (CDS) API, with httpx.

The maintained client (``ecmwf-datastores-client``/``cdsapi``) blocks in its own loop
with no cancel hook and its own HTTP stack, so we speak the documented OGC-Processes
style API directly: POST ``/retrieve/v1/processes/{dataset}/execution`` submits a job,
GET ``/retrieve/v1/jobs/{id}`` polls it (accepted -> running -> successful | failed),
GET ``/retrieve/v1/jobs/{id}/results`` gives the asset ``href``, DELETE dismisses it.
The key (a personal access token) goes in the ``PRIVATE-TOKEN`` header; it comes from
settings or the standard ``~/.cdsapirc`` (``url:`` / ``key:`` lines).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from desktop_app.core.grid import BBox
from desktop_app.core.progress import Progress
from desktop_app.core.variables import get_variable
from desktop_app.errors import CancelledError, ConfigError, DataSourceError, OfflineError
from desktop_app.fsutil import atomic_path
from desktop_app.settings import Settings
from desktop_app.sources.context import (
    FetchContext,
    cache_grid,
    check_cancel,
    load_cached_grid,
)
from desktop_app.sources.era5_files import CDS_VARIABLES, open_era5, select_variables
from desktop_app.sources.http import HttpClient, PollPolicy, shared_client

__all__ = ["CdsClient", "Era5CdsFetch", "Era5Request", "PollPolicy", "resolve_credentials"]

PROVIDER = "CDS"
DATASET = "reanalysis-era5-single-levels"


def read_cdsapirc(path: Path | None = None) -> dict[str, str]:
    path = path or Path(os.environ.get("CDSAPI_RC", Path.home() / ".cdsapirc"))
    if not path.exists():
        return {}
    out: dict[str, str] = {}
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the CDS key file {path}: {exc}") from exc
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() in ("url", "key"):
            out[key.strip()] = value.strip()
    return out


def resolve_credentials(settings: Settings, rc_path: Path | None = None) -> tuple[str, str]:
    """(url, key): settings first, then CDSAPI_URL/CDSAPI_KEY, then ``~/.cdsapirc``."""
    rc = read_cdsapirc(rc_path)
    key = settings.cds_key or os.environ.get("CDSAPI_KEY", "") or rc.get("key", "")
    default_url = Settings().cds_url
    url = settings.cds_url if settings.cds_url != default_url else (
        os.environ.get("CDSAPI_URL") or rc.get("url") or default_url)
    if not key:
        raise ConfigError(
            "no CDS key: set cds_key in settings or put 'url:' and 'key:' lines in "
            "~/.cdsapirc (see the CDS 'How to API' page)"
        )
    if ":" in key:
        raise ConfigError(
            "the CDS key looks like an old 'UID:KEY' key; the CDS now takes the personal "
            "access token shown on your CDS profile page"
        )
    return url.rstrip("/"), key


@dataclass(frozen=True)
class Era5Request:
    variables: tuple[str, ...]
    area: BBox
    start: dt.date
    end: dt.date
    hours: tuple[int, ...] = tuple(range(24))

    def __post_init__(self) -> None:
        if not self.variables:
            raise ConfigError("no variables requested")
        for var in self.variables:
            get_variable(var)
            if var not in CDS_VARIABLES:
                raise ConfigError(
                    f"ERA5 via the CDS has no {var!r}; available: {', '.join(CDS_VARIABLES)}")
        if self.end < self.start:
            raise ConfigError(f"end date {self.end} is before start date {self.start}")
        if (self.end - self.start).days > 366:
            raise ConfigError("one CDS request may cover at most a year; split the period")
        if not self.hours or any(not 0 <= h <= 23 for h in self.hours):
            raise ConfigError("hours must be within 0..23")

    def to_cds(self) -> dict[str, Any]:
        """The CDS request body. year/month/day form a product, so a range across
        months asks for a little extra; :func:`retrieve` callers trim to start..end."""
        days = [self.start + dt.timedelta(days=i) for i in range((self.end - self.start).days + 1)]
        # "geopotential" on single levels is the surface geopotential: ERA5's own
        # orography, which the downscaling needs as the coarse elevation
        names = sorted({n for v in self.variables for n in CDS_VARIABLES[v]}
                       | {"geopotential"})
        return {
            "product_type": ["reanalysis"],
            "variable": names,
            "year": sorted({f"{d.year:04d}" for d in days}),
            "month": sorted({f"{d.month:02d}" for d in days}),
            "day": sorted({f"{d.day:02d}" for d in days}),
            "time": [f"{h:02d}:00" for h in sorted(set(self.hours))],
            "area": [self.area.north, self.area.west, self.area.south, self.area.east],
            "data_format": "netcdf",
            "download_format": "unarchived",
        }


class CdsClient:
    def __init__(self, url: str, key: str, *, http: HttpClient | None = None,
                 poll: PollPolicy | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.url = url.rstrip("/")
        self._headers = {"PRIVATE-TOKEN": key}
        self.http = http or shared_client()
        self.poll = poll or PollPolicy()
        self._sleep = sleep

    def _json(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        response = self.http.request(method, f"{self.url}{path}", json_body=body,
                                     headers=self._headers, provider=PROVIDER)
        try:
            data = response.json()
        except ValueError as exc:
            raise DataSourceError(f"{PROVIDER}: {path} answered with non-JSON", url=path) from exc
        if not isinstance(data, dict):
            raise DataSourceError(f"{PROVIDER}: {path} answered with {data!r:.40}")
        return data

    def submit(self, request: dict[str, Any], dataset: str = DATASET) -> str:
        job = self._json("POST", f"/retrieve/v1/processes/{dataset}/execution",
                         {"inputs": request})
        job_id = job.get("jobID")
        if not isinstance(job_id, str):
            raise DataSourceError(f"{PROVIDER}: submit answer has no jobID")
        return job_id

    def status(self, job_id: str) -> dict[str, Any]:
        return self._json("GET", f"/retrieve/v1/jobs/{job_id}")

    def cancel(self, job_id: str) -> None:
        self.http.request("DELETE", f"{self.url}/retrieve/v1/jobs/{job_id}",
                          headers=self._headers, provider=PROVIDER)

    def wait(self, job_id: str, *, progress: Progress | None = None,
             cancel: threading.Event | None = None) -> None:
        """Poll with capped exponential backoff until the job succeeds; cancel dismisses."""
        delay, waited = self.poll.first_s, 0.0
        while True:
            if cancel is not None and cancel.is_set():
                self.cancel(job_id)
                raise CancelledError(f"{PROVIDER}: job {job_id} cancelled")
            state = self.status(job_id).get("status")
            if progress is not None:
                progress(0.0, f"{PROVIDER}: job {job_id} {state}")
            if state == "successful":
                return
            if state in ("failed", "dismissed", "rejected"):
                detail = self._failure_reason(job_id)
                raise DataSourceError(f"{PROVIDER}: job {job_id} {state}: {detail}")
            if waited >= self.poll.timeout_s:
                self.cancel(job_id)
                raise DataSourceError(f"{PROVIDER}: job {job_id} still {state} after "
                                      f"{waited:.0f} s; gave up")
            self._sleep(delay)
            waited += delay
            delay = min(self.poll.max_s, delay * self.poll.factor)

    def _failure_reason(self, job_id: str) -> str:
        try:
            self._json("GET", f"/retrieve/v1/jobs/{job_id}/results")
        except DataSourceError as exc:
            return str(exc).split(": ", 2)[-1]
        return "no reason given"

    def download(self, job_id: str, dest: Path, *, progress: Progress | None = None,
                 cancel: threading.Event | None = None) -> Path:
        results = self._json("GET", f"/retrieve/v1/jobs/{job_id}/results")
        asset = results.get("asset", {}).get("value", {})
        href = asset.get("href")
        if not isinstance(href, str):
            raise DataSourceError(f"{PROVIDER}: job {job_id} results have no asset href")

        def on_bytes(done: int, total: int | None) -> None:
            if progress is not None:
                total = total or asset.get("file:size")
                frac = done / total if total else 0.0
                progress(frac, f"{PROVIDER}: downloaded {done / 1e6:.1f} MB")

        with atomic_path(dest) as tmp, open(tmp, "wb") as handle:

            def write(chunk: bytes) -> None:
                handle.write(chunk)

            self.http.stream_to(href, write, progress=on_bytes, cancel=cancel,
                                provider=PROVIDER)
        return dest

    def retrieve(self, request: Era5Request, dest: Path, *, progress: Progress | None = None,
                 cancel: threading.Event | None = None) -> Path:
        """Submit, wait, download to ``dest`` (atomically). Cancel dismisses the job."""
        job_id = self.submit(request.to_cds())
        if progress is not None:
            progress(0.0, f"{PROVIDER}: submitted job {job_id}")
        self.wait(job_id, progress=progress, cancel=cancel)
        try:
            return self.download(job_id, dest, progress=progress, cancel=cancel)
        except CancelledError:
            self.cancel(job_id)
            raise


@dataclass(frozen=True)
class Era5CdsFetch:
    """A fetch request: ERA5 from the CDS API."""

    request: Era5Request


class CdsProvider:
    """ERA5 via the CDS: downloaded once, normalised and cached as canonical NetCDF (the
    archive never changes, so the cache never expires), then trimmed to the asked dates
    and variables (the CDS day/month product can over-deliver)."""

    name = "era5-cds"
    title = "ERA5 from the Copernicus Climate Data Store (needs a key)"

    def fetch(self, fetch: Era5CdsFetch, ctx: FetchContext, progress: Progress,
              cancel: threading.Event | None) -> xr.Dataset:
        request = fetch.request
        cache = ctx.get_cache()
        key: dict[str, object] = {"provider": "cds", "request": request.to_cds()}
        ds = None if ctx.refresh else load_cached_grid(cache, key)
        hit = ds is not None
        if ds is None:
            if ctx.settings.offline:
                raise OfflineError("offline mode: this ERA5 request is not in the cache"
                                   + (" (a refresh needs the network)" if ctx.refresh else ""))
            ds = self._download(request, ctx, progress, cancel, key)
        ds.attrs["cache_hit"] = "yes" if hit else "no"
        end = np.datetime64(request.end + dt.timedelta(days=1), "ns")
        ds = ds.sel(time=(ds["time"] >= np.datetime64(request.start, "ns"))
                    & (ds["time"] < end))
        progress(1.0, "ERA5 ready")
        return select_variables(ds, request.variables)

    @staticmethod
    def _download(request: Era5Request, ctx: FetchContext, progress: Progress,
                  cancel: threading.Event | None, key: dict[str, object]) -> xr.Dataset:
        cache = ctx.get_cache()
        url, token = resolve_credentials(ctx.settings)
        client = CdsClient(url, token, http=ctx.get_http(), poll=ctx.poll, sleep=ctx.sleep)
        cache.root.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=cache.root, prefix=".cds-") as tmp:
            raw = client.retrieve(request, Path(tmp) / "download", progress=progress,
                                  cancel=cancel)
            check_cancel(cancel, "CDS")
            ds = open_era5(raw)  # a corrupt download fails here, before the cache
        ds.attrs.update(
            source="ERA5 reanalysis via the Copernicus Climate Data Store",
            source_url=f"{url}/retrieve/v1/processes/{DATASET}",
            fetched_at=dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            cds_request=json.dumps(key["request"], sort_keys=True),
        )
        cache_grid(cache, key, ds, what="ERA5 (CDS)")
        return ds
