"""The program starts with the cyclic garbage collector off (desktop_app.launch) and every
command gets it back: a headless one once its arguments are parsed, the window at its
first frame (tests/gui/test_startup_imports.py drives that part)."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from pathlib import Path

import pytest

from desktop_app import cli

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def collector_off():
    gc.disable()
    yield
    gc.enable()


def test_a_headless_command_runs_with_the_collector_back_on(collector_off, monkeypatch, capsys):
    seen = []
    module = cli.command_module("completion")
    run = module.run

    def spy(args):
        seen.append(gc.isenabled())
        return run(args)

    monkeypatch.setattr(module, "run", spy)
    assert cli.main(["completion", "bash"]) == 0
    assert seen == [True]
    assert "microclimate" in capsys.readouterr().out


def test_the_launcher_turns_it_off_and_back_on():
    code = ("import gc, sys; from desktop_app import cli, launch\n"
            "seen = []\n"
            "real = cli.main\n"
            "cli.main = lambda: seen.append(gc.isenabled()) or 0\n"
            "assert launch.main() == 0\n"
            "print(seen, gc.isenabled())\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.stdout.split() == ["[False]", "True"]
