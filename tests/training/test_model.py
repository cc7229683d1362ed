"""The trainer's architectures: picked by ``[model] kind``, recorded in the card."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch", reason="the trainer needs torch (the [train] extra)")

from desktop_app.errors import ConfigError  # noqa: E402
from desktop_app.training.config import ModelConfig  # noqa: E402
from desktop_app.training.model import (  # noqa: E402
    ARCHITECTURES,
    ResidualDownscaler,
    build_model,
    model_from_config,
)

NAMES = ["temperature_interp", "elevation", "elevation_difference"]
STATS = ([10.0, 500.0, 0.0], [5.0, 300.0, 50.0], 10.0, 5.0, "temperature")


def test_the_config_kind_builds_the_network_the_card_rebuilds() -> None:
    model = model_from_config(ModelConfig(channels=4, layers=2), NAMES, *STATS)
    assert model.architecture() == {"kind": "residual_cnn", "channels": 4, "layers": 2,
                                    "activation": "gelu"}
    again = build_model(model.architecture(), NAMES, *STATS)
    assert [p.shape for p in again.parameters()] == [p.shape for p in model.parameters()]


def test_the_activation_is_built_recorded_and_rebuilt() -> None:
    model = model_from_config(ModelConfig(channels=4, layers=3, activation="relu"), NAMES,
                              *STATS)
    assert [type(m).__name__ for m in model.net] == ["Conv2d", "ReLU", "Conv2d", "ReLU",
                                                     "Conv2d"]
    record = model.architecture()
    assert record["activation"] == "relu"
    again = build_model(record, NAMES, *STATS)
    again.load_state_dict(model.state_dict())
    for p in model.parameters():
        torch.nn.init.normal_(p, std=0.5)  # not the zero last layer: the activation shows
    again.load_state_dict(model.state_dict())
    x = torch.randn(2, len(NAMES), 6, 6)
    assert torch.equal(again(x), model(x))
    # a record from before the activation was kept: every network then used GELU
    old = build_model({k: v for k, v in record.items() if k != "activation"}, NAMES, *STATS)
    old.load_state_dict(model.state_dict())
    assert type(old.net[1]) is torch.nn.GELU
    assert not torch.allclose(old(x), model(x))


def test_an_unknown_activation_names_the_key_and_the_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"'model\.activation'.*'tanh'.*known: gelu, relu, silu"):
        model_from_config(ModelConfig(activation="tanh"), NAMES, *STATS)
    with pytest.raises(ValueError, match=r"unknown activation 'swish'"):
        build_model({"kind": "residual_cnn", "channels": 4, "layers": 2,
                     "activation": "swish"}, NAMES, *STATS)


def test_an_unknown_kind_names_the_key_and_the_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"'model\.kind'.*'unet'.*known: residual_cnn"):
        model_from_config(ModelConfig(kind="unet"), NAMES, *STATS)


def test_a_new_architecture_is_one_class_and_one_entry(monkeypatch) -> None:
    class Wider(ResidualDownscaler):
        kind = "wider_cnn"

    monkeypatch.setitem(ARCHITECTURES, Wider.kind, Wider)
    model = model_from_config(ModelConfig(kind="wider_cnn", channels=6, layers=3), NAMES,
                              *STATS)
    assert type(model) is Wider
    assert model.architecture()["kind"] == "wider_cnn"
    # an untrained network is the baseline, whatever the architecture
    x = torch.randn(2, len(NAMES), 5, 5)
    assert torch.equal(model.physical(x), model.baseline(x))
