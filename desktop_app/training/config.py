"""The training config: a TOML (or JSON) file checked strictly.

An unknown section or key, or a value of the wrong type, is a :class:`ConfigError` that
names it. Relative data paths are resolved against the config file's folder. The
resolved config is saved as ``config.json`` in the run folder, which is what
``microclimate train resume DIR`` reads back.
"""

from __future__ import annotations

import dataclasses
import json
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from desktop_app.errors import ConfigError, TrainingError
from desktop_app.fsutil import safe_name
from desktop_app.strict_config import check_table


@dataclass
class DataConfig:
    coarse: str = ""  # NetCDF: coarse fields (time, lat, lon) + 'elevation' orography
    fine: str = ""  # NetCDF: fine 'elevation' (+ the fine target field, if gridded targets)
    stations: str = ""  # NetCDF station file (canonical schema): station targets
    station_qc: str = ""  # QC config run on a station file without <target>_qc flags
    station_flags: list[str] = field(default_factory=lambda: ["pass"])  # + "not_evaluated"
    val_stations: list[str] = field(default_factory=list)  # station ids; default: drawn
    test_stations: list[str] = field(default_factory=list)  # from train.seed
    station_holdout: float = 0.2  # fraction of stations drawn for val and for test each
    target: str = "temperature"
    features: list[str] = field(default_factory=lambda: [
        "temperature_interp", "elevation", "elevation_difference", "slope", "aspect_sin",
        "aspect_cos", "topographic_position", "solar_elevation", "hour_sin", "hour_cos"])
    val_days: list[str] = field(default_factory=list)  # "YYYY-MM-DD"; default: last 15%
    test_days: list[str] = field(default_factory=list)  # held out; scored in the card


# the hidden layers' non-linearities the trainer builds (training.model.ACTIVATIONS)
ACTIVATIONS = ("gelu", "relu", "silu")


@dataclass
class ModelConfig:
    kind: str = "residual_cnn"  # one of training.model.ARCHITECTURES
    channels: int = 24
    layers: int = 4  # 3x3 convolutions; the halo (receptive radius) is this many cells
    activation: str = "gelu"  # one of ACTIVATIONS; relu, then silu, cost less on the CPU


@dataclass
class LossConfig:
    data: float = 1.0  # MSE against the fine gridded target
    station: float = 1.0  # MSE against QC-passed observations at their grid cells
    smoothness: float = 0.0  # change of the correction between consecutive steps
    conservation: float = 0.0  # fine field averaged back to coarse cells vs coarse field
    range: float = 1.0  # outside the variable's physically valid range
    boundary: float = 0.0  # correction on the grid's outer ring (edges meet the baseline)


@dataclass
class TrainConfig:
    seed: int = 0
    steps: int = 1000
    batch_size: int = 8  # pairs of consecutive steps (so 2x fields per batch)
    lr: float = 2e-3
    weight_decay: float = 0.0
    grad_clip: float = 1.0
    checkpoint_every: int = 100
    eval_every: int = 50
    patience: int = 10  # evaluations without a better validation RMSE before stopping
    amp: bool = True  # used on CUDA only
    device: str = "auto"  # auto | cpu | cuda
    threads: int = 0  # CPU threads for torch; 0 leaves torch's default


@dataclass
class ExportConfig:
    name: str = "downscaler"
    version: str = "0.1.0"
    opset: int = 17
    description: str = ""
    training_data: str = ""
    limitations: str = ""


TRAINABLE = ("last_layers", "biases")


@dataclass
class FinetuneConfig:
    base: str = ""  # the installed model's .onnx (card beside it); "": train from scratch
    base_spec: str = ""  # NAME@VERSION of the base, for the card and the tracking record
    trainable: str = "last_layers"  # last_layers | biases: which parameters are trained
    layers: int = 1  # last_layers: how many of the last parameterised layers


@dataclass
class TrackConfig:
    uri: str = ""  # MLflow-layout run store (a folder); "": the user's default store
    experiment: str = "microclimate-training"
    enabled: bool = True


@dataclass
class Config:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    export: ExportConfig = field(default_factory=ExportConfig)
    finetune: FinetuneConfig = field(default_factory=FinetuneConfig)
    track: TrackConfig = field(default_factory=TrackConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


_SECTIONS: dict[str, type] = {"data": DataConfig, "model": ModelConfig, "loss": LossConfig,
                              "train": TrainConfig, "export": ExportConfig,
                              "finetune": FinetuneConfig, "track": TrackConfig}


def parse_config(data: Any, base_dir: Path | None = None) -> Config:
    """Strictly build a :class:`Config` from a dict; paths resolved against ``base_dir``."""
    if not isinstance(data, dict):
        raise ConfigError("a training config must be a table of sections")
    cfg = Config()
    for section, values in data.items():
        if section not in _SECTIONS:
            raise ConfigError(f"unknown config section {section!r}; known: "
                              f"{', '.join(_SECTIONS)}")
        if not isinstance(values, dict):
            raise ConfigError(f"config section {section!r} must be a table")
        target = getattr(cfg, section)
        for key, value in check_table(values, _SECTIONS[section], prefix=f"{section}.",
                                      what="config key").items():
            setattr(target, key, value)
    validate(cfg)
    if base_dir is not None:
        for section, key in (("data", "coarse"), ("data", "fine"), ("data", "stations"),
                             ("data", "station_qc"), ("finetune", "base"),
                             ("track", "uri")):
            value = getattr(getattr(cfg, section), key)
            if value and not Path(value).is_absolute():
                setattr(getattr(cfg, section), key, str((base_dir / value).resolve()))
    return cfg


def validate(cfg: Config) -> None:
    for key in ("coarse", "fine"):
        if not getattr(cfg.data, key):
            raise ConfigError(f"config key 'data.{key}' is required (a NetCDF file)")
    positive = {"model.channels": cfg.model.channels, "model.layers": cfg.model.layers,
                "train.steps": cfg.train.steps, "train.batch_size": cfg.train.batch_size,
                "train.checkpoint_every": cfg.train.checkpoint_every,
                "train.eval_every": cfg.train.eval_every, "train.patience": cfg.train.patience,
                "train.lr": cfg.train.lr, "train.grad_clip": cfg.train.grad_clip}
    for key, value in positive.items():
        if not value > 0:
            raise ConfigError(f"config key {key!r} must be > 0, got {value}")
    if cfg.model.activation not in ACTIVATIONS:
        raise ConfigError(f"config key 'model.activation' must be one of "
                          f"{', '.join(ACTIVATIONS)}, got {cfg.model.activation!r}")
    for key in ("data", "station", "smoothness", "conservation", "range", "boundary"):
        if getattr(cfg.loss, key) < 0:
            raise ConfigError(f"config key 'loss.{key}' must be >= 0")
    bad = [f for f in cfg.data.station_flags if f not in ("pass", "not_evaluated")]
    if bad or not cfg.data.station_flags:
        raise ConfigError(f"config key 'data.station_flags' may hold only 'pass' and "
                          f"'not_evaluated' (suspect, fail and missing values are never "
                          f"targets), got {bad[0] if bad else 'an empty list'!r}")
    if not 0.0 <= cfg.data.station_holdout < 0.5:
        raise ConfigError("config key 'data.station_holdout' must be in [0, 0.5)")
    if cfg.train.device not in ("auto", "cpu", "cuda"):
        raise ConfigError("config key 'train.device' must be auto, cpu or cuda")
    if f"{cfg.data.target}_interp" not in cfg.data.features:
        raise ConfigError(f"config key 'data.features' must include "
                          f"'{cfg.data.target}_interp' (the model corrects the baseline)")
    # name and version become the exported file's name (NAME-VERSION.onnx)
    safe_name(cfg.export.name, "config key 'export.name'")
    safe_name(cfg.export.version, "config key 'export.version'")
    if cfg.finetune.trainable not in TRAINABLE:
        raise ConfigError(f"config key 'finetune.trainable' must be one of "
                          f"{', '.join(TRAINABLE)}, got {cfg.finetune.trainable!r}")
    if cfg.finetune.layers < 1:
        raise ConfigError("config key 'finetune.layers' must be >= 1")
    if not 7 <= cfg.export.opset <= 21:
        raise ConfigError("config key 'export.opset' must be between 7 and 21")


def check_held_out(cfg: DataConfig, what: str, known: list[str], name: Callable[[str], str],
                   where: str) -> None:
    """``data.val_<what>`` and ``data.test_<what>`` name only ``known`` entries (each is
    ``name(entry)`` ``where``) and do not overlap: a typo would silently train on the
    days or stations meant to be held out."""
    for key in (f"val_{what}", f"test_{what}"):
        unknown = [x for x in getattr(cfg, key) if x not in known]
        if unknown:
            raise TrainingError(f"data.{key}: {name(unknown[0])} is not {where}")
    if set(getattr(cfg, f"val_{what}")) & set(getattr(cfg, f"test_{what}")):
        raise TrainingError(f"data.val_{what} and data.test_{what} overlap")


def load_config(path: Path) -> Config:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"training config not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read training config {path}: {exc}") from exc
    try:
        data = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"training config {path} is not valid "
                          f"{'JSON' if path.suffix == '.json' else 'TOML'}: {exc}") from exc
    return parse_config(data, path.resolve().parent)
