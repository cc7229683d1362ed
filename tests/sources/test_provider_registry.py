"""The provider registry: a new provider is one registration, and then ``run_fetch`` and
``fetch_to_file`` dispatch to it; an unregistered request is a clear error, never
someone else's fetch. The toy provider reads an Open-Meteo answer saved to disk (a
real recorded body)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from desktop_app.core.progress import Progress
from desktop_app.errors import CancelledError, ConfigError
from desktop_app.sources.context import FetchContext
from desktop_app.sources.era5_files import Era5FileFetch
from desktop_app.sources.openmeteo_parse import parse_location, station_dataset
from desktop_app.sources.providers import (
    PROVIDERS,
    fetch_to_file,
    provider_for,
    register,
    run_fetch,
)
from tests.sources.helpers import DATA

BERLIN = DATA / "openmeteo" / "homeassistant_forecast_berlin.json"


@dataclass(frozen=True)
class SavedAnswer:
    path: Path
    variables: tuple[str, ...] = ("temperature",)


class SavedAnswerProvider:
    name = "saved-answer"
    title = "An Open-Meteo answer saved to a file"

    def fetch(self, request: SavedAnswer, ctx: FetchContext, progress: Progress,
              cancel: threading.Event | None) -> xr.Dataset:
        body = json.loads(request.path.read_text(encoding="utf-8"))
        series = parse_location(body, request.variables, "hourly")
        progress(1.0, f"read {request.path.name}")
        return station_dataset([series], np.array([series.latitude]),
                               np.array([series.longitude]), request.variables, "hourly",
                               attrs={"source": str(request.path.name)})


@pytest.fixture
def toy_provider() -> Iterator[None]:
    saved = dict(PROVIDERS)
    register(SavedAnswer, SavedAnswerProvider())
    yield
    PROVIDERS.clear()
    PROVIDERS.update(saved)


def test_one_registration_and_run_fetch_dispatches_to_it(toy_provider: None,
                                                         tmp_path: Path) -> None:
    messages: list[tuple[float, str]] = []
    ds = run_fetch(SavedAnswer(BERLIN), progress=lambda f, m: messages.append((f, m)))
    body = json.loads(BERLIN.read_text(encoding="utf-8"))
    # Berlin answers in local time (UTC+1 in November): the first hour is 23:00 UTC
    assert ds["time"].values[0] == np.datetime64(body["hourly"]["time"][0]) - np.timedelta64(
        1, "h")
    assert float(ds["temperature"][0, 0]) == pytest.approx(body["hourly"]["temperature_2m"][0])
    assert messages == [(1.0, "read homeassistant_forecast_berlin.json")]
    out = fetch_to_file(SavedAnswer(BERLIN), tmp_path / "berlin.nc")
    with xr.open_dataset(out) as written:
        assert written.sizes["time"] == ds.sizes["time"]
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(CancelledError):
        run_fetch(SavedAnswer(BERLIN), cancel=cancel)


def test_an_unregistered_request_is_an_error_naming_it() -> None:
    with pytest.raises(ConfigError, match=r"no data provider for a SavedAnswer request "
                                          r"\(registered: OpenMeteoFetch, Era5FileFetch"):
        run_fetch(SavedAnswer(BERLIN))
    assert SavedAnswer not in PROVIDERS
    # an exact type, not "whatever is left is CDS"
    with pytest.raises(ConfigError, match="no data provider for a str request"):
        provider_for("era5")


def test_a_second_provider_for_a_type_is_refused(toy_provider: None) -> None:
    with pytest.raises(ConfigError, match="already registered"):
        register(SavedAnswer, SavedAnswerProvider())
    with pytest.raises(ConfigError, match="already registered .era5-files"):
        register(Era5FileFetch, SavedAnswerProvider())
    assert provider_for(SavedAnswer(BERLIN)).name == "saved-answer"
