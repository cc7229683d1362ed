import json

import pytest

from desktop_app import paths
from desktop_app.errors import ConfigError
from desktop_app.fsutil import atomic_path, atomic_write_bytes
from desktop_app.settings import Settings, load_settings, save_settings, settings_path


@pytest.fixture(autouse=True)
def _home(tmp_path, monkeypatch):
    monkeypatch.setenv(paths.HOME_ENV, str(tmp_path / "home"))


def test_home_env_moves_every_user_folder(tmp_path):
    home = tmp_path / "home"
    assert paths.cache_dir() == home / "cache"
    assert paths.config_dir() == home / "config"
    assert paths.user_models_dir() == home / "models"
    assert paths.sample_region_path().is_file()


def test_settings_round_trip():
    settings = Settings(offline=True, cache_max_mb=10, recent_regions=["a"])
    save_settings(settings)
    assert load_settings() == settings
    assert load_settings().offline is True


def test_missing_settings_file_gives_defaults():
    assert load_settings() == Settings()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ({"ofline": True}, "unknown setting 'ofline'"),
        ({"offline": "yes"}, "'offline' must be bool"),
        ({"cache_max_mb": True}, "'cache_max_mb' must be an integer"),
        ({"provider": "tpu"}, "'provider' must be auto, cuda or cpu"),
    ],
)
def test_strict_settings_name_the_key(content, message):
    path = settings_path()
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(content))
    with pytest.raises(ConfigError, match=message) as err:
        load_settings()
    assert str(path) in str(err.value)


def test_corrupt_settings_file_is_a_clear_error():
    path = settings_path()
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    with pytest.raises(ConfigError, match="cannot read settings file"):
        load_settings()


def test_atomic_write_leaves_old_file_on_failure(tmp_path):
    target = tmp_path / "out.nc"
    atomic_write_bytes(target, b"first")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("cancelled half-way")
    assert target.read_bytes() == b"first"
    assert [p.name for p in tmp_path.iterdir()] == ["out.nc"]


def test_atomic_files_get_the_usual_permissions(tmp_path):
    import os
    import stat

    old = os.umask(0o022)
    try:
        atomic_write_bytes(tmp_path / "f.bin", b"x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "f.bin").stat().st_mode) == 0o644


def test_load_netcdf_names_what_and_where(tmp_path):
    import numpy as np
    import xarray as xr

    from desktop_app.errors import DataFileError
    from desktop_app.fsutil import load_netcdf

    with pytest.raises(DataFileError, match="^DEM file not found: .*dem.nc$"):
        load_netcdf(tmp_path / "dem.nc", "DEM")
    good = tmp_path / "good.nc"
    xr.Dataset({"a": ("x", np.arange(3.0))}).to_netcdf(good)
    assert load_netcdf(good)["a"].values.tolist() == [0.0, 1.0, 2.0]
    bad = tmp_path / "bad.nc"
    bad.write_bytes(good.read_bytes()[:100])
    with pytest.raises(DataFileError, match=r"^cannot read coarse input .*bad\.nc: ") as err:
        load_netcdf(bad, "coarse input")
    assert "\n" not in str(err.value)
