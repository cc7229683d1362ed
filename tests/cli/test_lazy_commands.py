"""Commands are imported only when they run: the window does not wait for Dask, Numba,
httpx or onnxruntime (start-up time), and every command is still in the help."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from desktop_app.cli import COMMANDS, build_parser

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("dask", "distributed", "numba", "httpx", "onnxruntime", "torch")
_SCRIPT = """
import sys
from desktop_app.cli import build_parser
build_parser({only!r}).parse_args({argv!r})
print(" ".join(sorted(m for m in {heavy!r} if m in sys.modules)))
"""


def _heavy_after(only: str | None, argv: list[str]) -> set[str]:
    code = _SCRIPT.format(only=only, argv=argv, heavy=HEAVY)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env=env, cwd=ROOT).stdout
    return set(out.split())


def test_the_gui_command_imports_no_other_command() -> None:
    assert _heavy_after("gui", ["gui"]) == set()


def test_the_full_parser_still_knows_every_command() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert set(sub.choices) == set(COMMANDS)  # type: ignore[arg-type]
    # and building it is what imports the heavy command modules (the reason for laziness)
    assert _heavy_after(None, ["gui"]) & {"numba", "httpx"}
