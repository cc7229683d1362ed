import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_import_linter_contracts_hold():
    exe = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    proc = subprocess.run([exe, "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "broken" in proc.stdout and "0 broken" in proc.stdout


def test_cli_commands_load_without_torch_or_the_trainer():
    """cli imports training only inside the train commands: loading every command (as
    ``microclimate --help`` does) pulls in neither the trainer nor torch."""
    code = ("import sys\n"
            "from desktop_app.cli import COMMANDS, command_module\n"
            "for name in COMMANDS: command_module(name)\n"
            "print(sorted(m for m in sys.modules\n"
            "             if m == 'torch' or m.startswith('desktop_app.training')))\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
