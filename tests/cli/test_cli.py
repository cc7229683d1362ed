import subprocess
import sys

import pytest

from desktop_app import __version__
from desktop_app.cli import main


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"microclimate {__version__}"
    assert __version__ != "0.0.0+unknown"


def test_help_lists_subcommands(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for name in ("gui", "fetch", "qc", "forecast", "verify", "models", "export-map", "train",
                 "trainer"):
        assert name in out


def test_python_dash_m_entry_point():
    out = subprocess.run([sys.executable, "-m", "desktop_app", "--version"],
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == f"microclimate {__version__}"


def test_bad_region_folder_is_one_line_and_nonzero(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "desktop_app", "gui", "--data", str(tmp_path),
                           "--screenshot", str(tmp_path / "x.png")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert proc.stderr.strip().count("\n") == 0
    assert "no region.json" in proc.stderr
    assert not (tmp_path / "x.png").exists()


def test_missing_extra_hint_says_what_the_installer_lacks(monkeypatch) -> None:
    """From a source install the hint is the pip command; in the frozen desktop bundle,
    which has none of the extras, it says so instead of implying pip works there."""
    import sys

    from desktop_app.errors import install_hint

    assert install_hint("cluster") == ("install the [cluster] extra: "
                                       "pip install 'microclimate-desk[cluster]'")
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    hint = install_hint("watch")
    assert hint.startswith("the desktop installer does not include the [watch] extra")
    assert "pip install 'microclimate-desk[watch]'" in hint
