"""ERA5 through the CDS API, replayed against a mock transport that serves the CDS job
protocol (submit -> accepted/running/successful -> results asset -> download) and the
real new-layout ERA5 zip as the downloaded file."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import httpx
import numpy as np
import pytest

from desktop_app.core.grid import BBox
from desktop_app.errors import CancelledError, ConfigError, DataSourceError, OfflineError
from desktop_app.settings import Settings
from desktop_app.sources.cache import RequestCache
from desktop_app.sources.cds import CdsClient, Era5Request, PollPolicy, resolve_credentials
from desktop_app.sources.http import HttpClient, RetryPolicy
from desktop_app.sources.providers import Era5CdsFetch, FetchContext, run_fetch
from tests.sources.cds_fake import API, JOB, TOKEN, ZIP, FakeCds

REQUEST = Era5Request(("surface_pressure", "precipitation"), BBox(45, 0, 55, 10),
                      dt.date(2022, 8, 31), dt.date(2022, 8, 31))


def _context(fake: FakeCds, tmp_path: Path, **settings: object) -> FetchContext:
    http = HttpClient(transport=httpx.MockTransport(fake), sleep=lambda s: None,
                      retry=RetryPolicy(attempts=2))
    return FetchContext(settings=Settings(cds_url=API, cds_key=TOKEN, **settings),  # type: ignore[arg-type]
                        http=http, cache=RequestCache(tmp_path / "cache"),
                        sleep=lambda s: None)


def test_request_builder() -> None:
    body = Era5Request(("temperature", "wind_speed"), BBox(50, -10, 58, 2),
                       dt.date(2019, 3, 30), dt.date(2019, 4, 2), hours=(0, 12)).to_cds()
    assert body["variable"] == ["10m_u_component_of_wind", "10m_v_component_of_wind",
                                "2m_temperature", "geopotential"]  # z: the orography
    assert body["area"] == [58, -10, 50, 2]  # N, W, S, E
    assert body["year"] == ["2019"] and body["month"] == ["03", "04"]
    assert body["day"] == ["01", "02", "30", "31"]
    assert body["time"] == ["00:00", "12:00"] and body["data_format"] == "netcdf"
    with pytest.raises(ConfigError, match="before start"):
        Era5Request(("temperature",), BBox(0, 0, 1, 1), dt.date(2020, 1, 2), dt.date(2020, 1, 1))
    with pytest.raises(ConfigError, match="no 'elevation'"):
        Era5Request(("elevation",), BBox(0, 0, 1, 1), dt.date(2020, 1, 1), dt.date(2020, 1, 1))


def test_poll_backoff_is_capped_and_reports_progress() -> None:
    fake = FakeCds(["accepted", "running", "running", "running", "running", "successful"])
    sleeps: list[float] = []
    client = CdsClient(API, TOKEN, http=HttpClient(transport=httpx.MockTransport(fake)),
                       poll=PollPolicy(first_s=1.0, factor=2.0, max_s=3.0), sleep=sleeps.append)
    messages: list[str] = []
    job = client.submit(REQUEST.to_cds())
    client.wait(job, progress=lambda f, m: messages.append(m))
    assert sleeps == [1.0, 2.0, 3.0, 3.0, 3.0]
    assert messages[0].endswith("accepted") and messages[-1].endswith("successful")


def test_retrieve_open_and_cache(tmp_path: Path) -> None:
    fake = FakeCds(["accepted", "running", "successful"])
    ctx = _context(fake, tmp_path)
    ds = run_fetch(Era5CdsFetch(REQUEST), context=ctx)
    assert fake.submitted is not None
    assert fake.submitted["inputs"]["variable"] == ["geopotential", "surface_pressure",
                                                    "total_precipitation"]
    assert set(ds.data_vars) == {"surface_pressure", "precipitation", "elevation"}
    assert ds.sizes == {"time": 24, "latitude": 41, "longitude": 41}
    assert (np.diff(ds["latitude"].values) > 0).all()
    calls = len(fake.calls)
    offline = _context(fake, tmp_path, offline=True)
    offline.cache = ctx.cache
    again = run_fetch(Era5CdsFetch(REQUEST), context=offline)
    assert len(fake.calls) == calls  # served from the cache, offline
    np.testing.assert_array_equal(again["surface_pressure"].values, ds["surface_pressure"].values)


def test_offline_miss(tmp_path: Path) -> None:
    with pytest.raises(OfflineError, match="not in the cache"):
        run_fetch(Era5CdsFetch(REQUEST), context=_context(FakeCds(["successful"]), tmp_path,
                                                          offline=True))


def test_failed_job_reports_cds_detail(tmp_path: Path) -> None:
    with pytest.raises(DataSourceError, match="failed: .*no data for area"):
        run_fetch(Era5CdsFetch(REQUEST), context=_context(FakeCds(["running", "failed"]),
                                                          tmp_path))


def test_cancel_while_polling_dismisses_job(tmp_path: Path) -> None:
    fake = FakeCds(["accepted", "running"])
    cancel = threading.Event()

    def progress(fraction: float, message: str) -> None:
        if message.endswith("running"):
            cancel.set()

    ctx = _context(fake, tmp_path)
    with pytest.raises(CancelledError):
        run_fetch(Era5CdsFetch(REQUEST), context=ctx, progress=progress, cancel=cancel)
    assert ("DELETE", f"/api/retrieve/v1/jobs/{JOB}") in fake.calls
    assert ctx.cache is not None and ctx.cache.total_bytes() == 0


def test_truncated_or_corrupt_download_never_cached(tmp_path: Path) -> None:
    ctx = _context(FakeCds(["successful"], download=ZIP[: len(ZIP) // 2]), tmp_path)
    with pytest.raises(DataSourceError, match="truncated"):
        run_fetch(Era5CdsFetch(REQUEST), context=ctx)
    assert ctx.cache is not None and ctx.cache.total_bytes() == 0
    assert not [p for p in ctx.cache.root.rglob("*") if p.is_file()]


def test_wrong_key_is_http_401(tmp_path: Path) -> None:
    ctx = _context(FakeCds(["successful"]), tmp_path)
    ctx.settings.cds_key = "not-the-token"
    with pytest.raises(DataSourceError, match="HTTP 401 .*authentication failed"):
        run_fetch(Era5CdsFetch(REQUEST), context=ctx)


def test_credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="no CDS key"):
        resolve_credentials(Settings())
    rc = tmp_path / "cdsapirc"
    rc.write_text(f"url: http://rc.test/api\nkey: {TOKEN}\n")
    monkeypatch.setenv("CDSAPI_RC", str(rc))
    assert resolve_credentials(Settings()) == ("http://rc.test/api", TOKEN)
    assert resolve_credentials(Settings(cds_key="other"))[1] == "other"
    rc.write_text("url: http://rc.test/api\nkey: 12345:abcdef\n")
    with pytest.raises(ConfigError, match="old 'UID:KEY'"):
        resolve_credentials(Settings())
