"""The training config is strict (no torch needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from desktop_app.errors import ConfigError
from desktop_app.training.config import load_config, parse_config

BASE = {"data": {"coarse": "c.nc", "fine": "f.nc"}}


def test_defaults_and_relative_paths(tmp_path: Path) -> None:
    path = tmp_path / "t.toml"
    path.write_text('[data]\ncoarse = "c.nc"\nfine = "/abs/f.nc"\n[train]\nsteps = 5\n')
    cfg = load_config(path)
    assert cfg.data.coarse == str(tmp_path / "c.nc")
    assert cfg.data.fine == "/abs/f.nc"
    assert cfg.train.steps == 5 and cfg.train.lr == 2e-3


def test_unknown_key_is_named() -> None:
    with pytest.raises(ConfigError, match=r"unknown config key 'train\.stepz'"):
        parse_config({**BASE, "train": {"stepz": 3}})


def test_unknown_section_is_named() -> None:
    with pytest.raises(ConfigError, match="unknown config section 'optimiser'"):
        parse_config({**BASE, "optimiser": {}})


def test_wrong_type_is_named() -> None:
    with pytest.raises(ConfigError, match=r"'train\.steps' must be an integer"):
        parse_config({**BASE, "train": {"steps": "10"}})
    with pytest.raises(ConfigError, match=r"'train\.amp' must be bool"):
        parse_config({**BASE, "train": {"amp": 1}})


def test_bad_values() -> None:
    with pytest.raises(ConfigError, match="data.coarse"):
        parse_config({"data": {"fine": "f.nc"}})
    with pytest.raises(ConfigError, match="train.lr"):
        parse_config({**BASE, "train": {"lr": 0.0}})
    with pytest.raises(ConfigError, match="temperature_interp"):
        parse_config({"data": {**BASE["data"], "features": ["elevation"]}})
    with pytest.raises(ConfigError, match=r"'model\.activation' must be one of gelu, relu, silu, "
                                          r"got 'tanh'"):
        parse_config({**BASE, "model": {"activation": "tanh"}})
    assert parse_config({**BASE, "model": {"activation": "relu"}}).model.activation == "relu"


def test_missing_and_broken_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[data\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad)


@pytest.mark.parametrize("name", ["../../outside", "/etc/cron.d/x", "..", "a/b"])
def test_export_names_that_are_paths_are_refused(name: str) -> None:
    for key in ("name", "version"):
        with pytest.raises(ConfigError, match=f"'export.{key}' .* cannot be used in a file"):
            parse_config({**BASE, "export": {key: name}})


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_numbers_are_refused(value: float) -> None:
    for section, key in (("loss", "smoothness"), ("train", "weight_decay"),
                         ("train", "lr")):
        with pytest.raises(ConfigError, match=f"'{section}.{key}' must be a finite number"):
            parse_config({**BASE, section: {key: value}})


def test_held_out_days_must_be_in_the_data_and_apart() -> None:
    from desktop_app.errors import TrainingError
    from desktop_app.training.config import DataConfig
    from desktop_app.training.dataset import day_split

    days = ["2020-01-01", "2020-01-02", "2020-01-03", "2020-01-04"]
    assert day_split(days, DataConfig(val_days=["2020-01-03"], test_days=["2020-01-04"])) == (
        ["2020-01-01", "2020-01-02"], ["2020-01-03"], ["2020-01-04"])
    with pytest.raises(TrainingError, match=r"data\.test_days: 2020-02-30 is not in the "
                                            r"dataset \(days 2020-01-01\.\.2020-01-04\)"):
        day_split(days, DataConfig(test_days=["2020-02-30"]))
    with pytest.raises(TrainingError, match="data.val_days and data.test_days overlap"):
        day_split(days, DataConfig(val_days=["2020-01-02"], test_days=["2020-01-02"]))
