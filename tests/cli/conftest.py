from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _no_backoff_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI uses the process-wide client; keep its retries but skip the waiting."""
    from desktop_app.sources import http

    monkeypatch.setattr(http, "_shared", http.HttpClient(sleep=lambda s: None))
