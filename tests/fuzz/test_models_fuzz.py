"""Property-based: ``models use`` given hostile or absent model names and ``models
rollback`` with nothing to go back to fail with one clear line and change nothing: the
active model stays, no file appears or changes anywhere (inside the user folder or out)."""

from __future__ import annotations

import hashlib
import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from desktop_app.core.variables import VARIABLES
from tests.fuzz.cli_harness import assert_failed_cleanly, home, run_cli
from tests.inference.helpers import BUNDLED_VERSION

BUNDLED = "era5-uk-downscaler"  # the one model a fresh user folder has

FAST = settings(max_examples=25, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow])

HOSTILE = ["..", "../x", "../../etc/passwd", "x@../../y", f"{BUNDLED}@../{BUNDLED_VERSION}",
           f"{BUNDLED}@9.9.9", f"{BUNDLED}@", "@1.0", "/abs/path", "C:\\m@1", "a/b@1",
           f"{BUNDLED}/..", "CON", "nope", " ", "", "\x00", f"{BUNDLED}\x00@1"]


def names() -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(HOSTILE), st.text(max_size=40)).filter(
        lambda s: s.split("@")[0] != BUNDLED or s.strip() != s or "@" in s and
        s.split("@", 1)[1] != BUNDLED_VERSION)


def _files(root: Path) -> dict[str, str]:
    """Every file under ``root`` and a hash of its bytes."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in root.rglob("*") if p.is_file()}


def _active(root: Path) -> str:
    with home(root):
        outcome = run_cli(["models", "list", "--json"])
    assert outcome.code == 0, outcome.err
    models = json.loads(outcome.out)["models"]
    return next(m["spec"] for m in models if "temperature" in m["active_for"])


@FAST
@given(spec=names())
def test_models_use_refuses_bad_and_absent_names(spec: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        with home(root):  # a user who has chosen a model: the state file exists
            assert run_cli(["models", "use", BUNDLED]).code == 0
        active, before = _active(root), _files(root)
        with home(root):
            argv = ["models", "use", spec]
            outcome = run_cli(argv)
        assert_failed_cleanly(outcome, argv)
        assert _files(root) == before
        assert _active(root) == active


@pytest.mark.parametrize("variable", sorted(VARIABLES))
def test_rollback_with_no_history_changes_nothing(variable: str, tmp_path: Path) -> None:
    with home(tmp_path):
        assert run_cli(["models", "use", BUNDLED]).code == 0
        before = _files(tmp_path)
        argv = ["models", "rollback", "--variable", variable]
        outcome = run_cli(argv)
    assert_failed_cleanly(outcome, argv)
    assert f"nothing to roll back to for {variable!r}" in outcome.error_lines[0]
    assert _files(tmp_path) == before
