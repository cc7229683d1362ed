"""Without GRIB support (the desktop installer without its GRIB add-on, a Python
environment without cfgrib/ecCodes) a GRIB file is one line naming the file and saying how
to get GRIB support, wherever the app accepts one; never an ImportError or xarray's
"unrecognized engine"."""

from __future__ import annotations

import json
import sys
import zipfile
from pathlib import Path

import pytest

from desktop_app import __version__
from desktop_app.batch.inputs import open_inputs
from desktop_app.cli import main
from desktop_app.errors import DataFileError, GribSupportMissingError
from desktop_app.sources.era5_files import open_era5
from desktop_app.sources.grib_support import (
    ADDON_STAMP,
    addon_archive_name,
    addon_problem,
    require_grib,
)
from tests.sources.helpers import DATA
from tests.sources.no_grib import without_grib

GRIB = DATA / "era5" / "era5-2mt-2019-03-uk.grib"
NETCDF = DATA / "era5" / "davos" / "SURF_202001_2d.nc"


def test_a_grib_file_without_cfgrib_names_the_file_and_the_fix(monkeypatch):
    without_grib(monkeypatch)
    with pytest.raises(GribSupportMissingError) as err:
        open_era5([GRIB])
    text = str(err.value)
    assert isinstance(err.value, DataFileError)  # the CLI and the GUI show it as one line
    assert text.startswith(f"cannot read GRIB file {GRIB}: GRIB support is not installed")
    assert "pip install cfgrib eccodes" in text and "\n" not in text


def test_netcdf_needs_no_grib_support(monkeypatch):
    without_grib(monkeypatch)
    ds = open_era5([NETCDF])
    assert "temperature" in ds and "cfgrib" not in sys.modules


def test_a_grib_file_inside_a_zip_is_named_by_the_zip(monkeypatch, tmp_path):
    archive = tmp_path / "download.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.write(GRIB, "data_stream-oper_stepType-instant.grib")
    without_grib(monkeypatch)
    with pytest.raises(GribSupportMissingError, match=r"download\.zip:data_stream-oper"):
        open_era5([archive])


def test_fetch_command_says_it_in_one_line(monkeypatch, tmp_path, capsys):
    without_grib(monkeypatch)
    out = tmp_path / "era5.nc"
    code = main(["fetch", "era5", "--from-file", str(GRIB), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 1
    lines = [line for line in err.splitlines() if "error" in line]
    assert lines == [f"microclimate fetch: error: cannot read GRIB file {GRIB}: "
                     "GRIB support is not installed in this Python environment (cfgrib and "
                     "ecCodes are missing): pip install cfgrib eccodes"]
    assert "Traceback" not in err and "ModuleNotFoundError" not in err
    assert not out.exists()


def test_batch_inputs_say_it_too(monkeypatch):
    without_grib(monkeypatch)
    with pytest.raises(GribSupportMissingError, match="GRIB support is not installed"):
        open_inputs([GRIB], "coarse")


def test_the_installed_app_points_at_the_addon(monkeypatch, tmp_path):
    """In the desktop installer (frozen), the hint is the add-on archive of this version
    and platform, and the command that unpacks it into this installation."""
    exe = tmp_path / "opt" / "microclimate" / "microclimate"
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", str(exe))
    without_grib(monkeypatch)
    with pytest.raises(GribSupportMissingError) as err:
        require_grib(Path("march.grib"))
    name = addon_archive_name()
    assert name.startswith(f"microclimate-grib-{__version__}-")
    if sys.platform != "win32":
        assert (f"tar -xzf {name} --strip-components=1 -C {exe.parent.resolve()}"
                in str(err.value))
    assert str(err.value).startswith("cannot read GRIB file march.grib: GRIB support is "
                                     "not installed (the installer leaves it out)")


def test_with_grib_support_nothing_is_raised():
    require_grib(GRIB)
    assert "cfgrib" in sys.modules and "eccodes" in sys.modules


def _installed(monkeypatch, tmp_path: Path, stamp: str | None, cfgrib: bool = True) -> Path:
    """A frozen app whose ``_internal`` holds an unpacked add-on with ``stamp``."""
    internal = tmp_path / "microclimate" / "_internal"
    internal.mkdir(parents=True)
    if cfgrib:
        (internal / "cfgrib").mkdir()
    if stamp is not None:
        (internal / ADDON_STAMP).write_text(stamp, encoding="utf-8")
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(internal), raising=False)
    monkeypatch.setattr(sys, "executable", str(internal.parent / "microclimate"))
    return internal


@pytest.mark.parametrize(("stamp", "says"), [
    ('{"version": "0.0.1"}', f"is for version 0.0.1, this is version {__version__}"),
    (None, "carries no version stamp (older build)"),
    ("{not json", "version stamp"),
])
def test_an_addon_of_another_version_is_refused_by_name(monkeypatch, tmp_path, stamp, says):
    """Its libraries were built against another installer's: refused before any is
    loaded, in one line that says which add-on this installation needs."""
    _installed(monkeypatch, tmp_path, stamp)
    with pytest.raises(GribSupportMissingError) as err:
        require_grib(Path("march.grib"))
    text = str(err.value)
    assert text.startswith("cannot read GRIB file march.grib: the GRIB add-on")
    assert says in text and addon_archive_name() in text and "\n" not in text


def test_an_addon_of_this_version_is_used(monkeypatch, tmp_path):
    internal = _installed(monkeypatch, tmp_path, json.dumps({"version": __version__}))
    assert addon_problem(internal, __version__) is None
    require_grib(GRIB)  # (this environment's cfgrib: the stamp let it through)
    # no add-on unpacked at all: the usual "not installed" path decides
    assert addon_problem(tmp_path, __version__) is None
