"""Suite-wide hooks."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Cache, settings and models in a temp folder for every test; no environment
    override or user key leaks in, and no test touches the real user's folders."""
    monkeypatch.setenv("MICROCLIMATE_HOME", str(tmp_path / "home"))
    for var in ("MICROCLIMATE_OPENMETEO_URL", "MICROCLIMATE_OPENMETEO_ARCHIVE_URL",
                "CDSAPI_URL", "CDSAPI_KEY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("CDSAPI_RC", str(tmp_path / "no-cdsapirc"))  # never the user's key

def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The installer tests first: their bundle build is the longest single piece of the
    suite, and under pytest-xdist it then runs on one worker beside everything else
    instead of at the end with the other workers idle."""
    items.sort(key=lambda item: item.get_closest_marker("xdist_group") is None)


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    """A crash in a pytest-xdist worker reports the stack of the thread that crashed, not
    of every thread: with the whole process's idle pool threads listed first, CI's log
    kept the head and tail of a segfault report and cut the one stack that mattered.
    The failed test's name comes in the summary (xdist reports the crashed item)."""
    import faulthandler

    if not hasattr(config, "workerinput") or not faulthandler.is_enabled():
        return
    try:
        from _pytest.faulthandler import fault_handler_stderr_fd_key
    except ImportError:  # (pytest's own plugin moved: keep its report as it is)
        return
    fd = config.stash.get(fault_handler_stderr_fd_key, None)
    if fd is not None:
        faulthandler.enable(file=fd, all_threads=False)


_status = {"code": 0}


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _status["code"] = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """Leave without interpreter finalisation once Qt windows have been used.

    pytest-xvfb stops the X server in its own unconfigure; the OpenGL contexts that
    vispy canvases made on it are then freed by the garbage collector at shutdown, after
    the X connection is gone, and Mesa aborts the process (exit 134) although every test
    passed. The report is complete by now, so exit with pytest's own status instead.
    """
    if "PySide6.QtWidgets" in sys.modules and not hasattr(config, "workerinput"):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(_status["code"])
