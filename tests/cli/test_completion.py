"""``microclimate completion``: the script is generated from the parser, bash accepts it,
and completing in a real bash gives the commands, actions and options the parser has."""

from __future__ import annotations

import argparse
import shutil
import subprocess
from pathlib import Path

import pytest

from desktop_app.cli import build_parser, main


def _commands(parser: argparse.ArgumentParser) -> list[str]:
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return list(sub.choices)


def _script(shell: str, capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["completion", shell]) == 0
    return capsys.readouterr().out


def _complete(script: Path, *words: str) -> list[str]:
    """COMPREPLY of the generated function for the command line ``words`` in bash."""
    line = " ".join(["microclimate", *words])
    quoted = " ".join(f"'{w}'" for w in ["microclimate", *words])
    program = (f"source '{script}'; COMP_WORDS=({quoted}); COMP_CWORD={len(words)}; "
               f"COMP_LINE='{line}'; COMP_POINT=${{#COMP_LINE}}; _shtab_microclimate; "
               'printf "%s\\n" "${COMPREPLY[@]}"')
    proc = subprocess.run(["bash", "-c", program], capture_output=True, text=True,
                          timeout=60, check=True)
    return proc.stdout.split()


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_bash_script_is_valid_and_completes_every_command(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    script = tmp_path / "microclimate.bash"
    script.write_text(_script("bash", capsys))
    subprocess.run(["bash", "-n", str(script)], check=True, timeout=60)
    commands = _commands(build_parser())
    assert {"qc", "forecast", "export-map", "models", "completion"} <= set(commands)
    assert sorted(_complete(script, "")) == sorted(commands)
    assert _complete(script, "ex") == ["export-map"]
    assert sorted(_complete(script, "models", "")) == ["info", "install", "list",
                                                       "rollback", "use"]
    assert "--overwrite" in _complete(script, "qc", "--")
    assert _complete(script, "completion", "") == ["bash", "zsh"]


def test_zsh_script_names_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    text = _script("zsh", capsys)
    assert text.startswith("#compdef microclimate")
    listed = text.split("_shtab_microclimate_commands() {", 1)[1].split("\n  )", 1)[0]
    names = {line.strip().strip("\"'").split(":", 1)[0] for line in listed.splitlines()
             if ":" in line}
    assert names == set(_commands(build_parser()))
    if shutil.which("zsh"):
        subprocess.run(["zsh", "-n"], input=text, text=True, check=True, timeout=60)


def test_unknown_shell_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["completion", "cmd.exe"])
    assert stop.value.code == 2
    assert "invalid choice: 'cmd.exe'" in capsys.readouterr().err
