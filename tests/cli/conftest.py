from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Cache and settings in a temp folder; no environment overrides leak in."""
    monkeypatch.setenv("MICROCLIMATE_HOME", str(tmp_path / "home"))
    for var in ("MICROCLIMATE_OPENMETEO_URL", "MICROCLIMATE_OPENMETEO_ARCHIVE_URL",
                "CDSAPI_URL", "CDSAPI_KEY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("CDSAPI_RC", str(tmp_path / "no-cdsapirc"))  # never the user's key


@pytest.fixture(autouse=True)
def _no_backoff_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI uses the process-wide client; keep its retries but skip the waiting."""
    from desktop_app.sources import http

    monkeypatch.setattr(http, "_shared", http.HttpClient(sleep=lambda s: None))
