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
