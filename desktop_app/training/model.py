"""The residual downscaler: a small CNN that predicts the correction to the baseline.

Input: the normalised features (as the predictor feeds them). The physical baseline is
rebuilt inside the network from two of its own inputs (the interpolated coarse field
and, for temperature, the lapse-rate term on the elevation difference), the CNN adds a
correction, and the result is normalised with the card's output statistics. So the
exported graph is the whole model: the app needs no special code for "residual" models.
The last convolution starts at zero, so an untrained network IS the baseline.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import torch
from torch import nn

from desktop_app.downscale.baseline import STANDARD_LAPSE_RATE
from desktop_app.errors import ConfigError
from desktop_app.training.config import ModelConfig

KIND = "residual_cnn"
# The non-linearity after each hidden convolution, by the name a config and a card use.
# ``relu`` costs next to nothing on the CPU (onnxruntime fuses it into the convolution);
# the exact ``gelu`` (erf) is a separate pass over every hidden channel, ~20 % of a
# 512x512 step; ``silu`` (x * sigmoid(x), onnxruntime's vectorised QuickGelu kernel) is a
# smooth one at about a third of that. (The names are the config's ``ACTIVATIONS``.)
ACTIVATIONS: dict[str, type[nn.Module]] = {"gelu": nn.GELU, "relu": nn.ReLU,
                                           "silu": nn.SiLU}
DEFAULT_ACTIVATION = "gelu"  # what every network had before the record was kept


class ResidualDownscaler(nn.Module):
    kind: ClassVar[str] = KIND  # the card's architecture record names the class by this
    feat_mean: torch.Tensor
    feat_std: torch.Tensor

    def __init__(self, names: list[str], mean: list[float], std: list[float],
                 out_mean: float, out_std: float, target: str = "temperature",
                 channels: int = 24, layers: int = 4,
                 activation: str = DEFAULT_ACTIVATION) -> None:
        super().__init__()
        n = len(names)
        self.base_index = names.index(f"{target}_interp")
        use_lapse = target == "temperature" and "elevation_difference" in names
        self.dz_index = names.index("elevation_difference") if use_lapse else -1
        self.lapse_per_m = STANDARD_LAPSE_RATE / 1000.0 if use_lapse else 0.0
        self.register_buffer("feat_mean", torch.tensor(mean, dtype=torch.float32))
        self.register_buffer("feat_std", torch.tensor(std, dtype=torch.float32))
        self.out_mean = float(out_mean)
        self.out_std = float(out_std)
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r} (known: "
                             f"{', '.join(ACTIVATIONS)})")
        blocks: list[nn.Module] = []
        width = n
        for _ in range(max(0, layers - 1)):
            blocks += [nn.Conv2d(width, channels, 3, padding=1), ACTIVATIONS[activation]()]
            width = channels
        last = nn.Conv2d(width, 1, 3, padding=1)
        nn.init.zeros_(last.weight)
        if last.bias is not None:
            nn.init.zeros_(last.bias)
        self.net = nn.Sequential(*blocks, last)
        self.layers = layers
        self.activation = activation

    @property
    def halo(self) -> int:
        return self.layers  # each 3x3 convolution reaches one cell further

    def architecture(self) -> dict[str, object]:
        """What the card records so the model can be rebuilt from its ONNX alone."""
        first = self.net[0]
        channels = int(first.out_channels) if self.layers > 1 and isinstance(
            first, nn.Conv2d) else 0
        return {"kind": self.kind, "channels": channels, "layers": self.layers,
                "activation": self.activation}

    def baseline(self, x: torch.Tensor) -> torch.Tensor:
        b = self.base_index
        base = x[:, b:b + 1] * self.feat_std[b] + self.feat_mean[b]
        if self.dz_index >= 0:
            d = self.dz_index
            base = base + self.lapse_per_m * (x[:, d:d + 1] * self.feat_std[d]
                                              + self.feat_mean[d])
        return base

    def physical(self, x: torch.Tensor) -> torch.Tensor:
        """Prediction in physical units: baseline + learned correction."""
        return self.baseline(x) + self.net(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Normalised output, exactly what the exported graph returns."""
        return (self.physical(x) - self.out_mean) / self.out_std


# The architectures the trainer builds, by kind (``[model] kind`` of the config, ``kind``
# of a card's architecture record). A new one: its class above and one entry here.
ARCHITECTURES: dict[str, type[ResidualDownscaler]] = {
    cls.kind: cls for cls in (ResidualDownscaler,)}


def build_model(architecture: dict[str, object], names: list[str], mean: list[float],
                std: list[float], out_mean: float, out_std: float,
                target: str) -> ResidualDownscaler:
    """A model of the trainer's architectures from an ``architecture`` record (a card's,
    or the config's ``[model]`` section)."""
    kind = architecture.get("kind")
    if not isinstance(kind, str) or kind not in ARCHITECTURES:
        raise ValueError(f"unknown model architecture {kind!r} (known: "
                         f"{', '.join(ARCHITECTURES)})")
    channels, layers = architecture.get("channels"), architecture.get("layers")
    if not isinstance(channels, int) or not isinstance(layers, int) or layers < 1:
        raise ValueError(f"architecture {kind}: 'channels' and 'layers' must be whole "
                         f"numbers, got {channels!r}, {layers!r}")
    activation = architecture.get("activation") or DEFAULT_ACTIVATION
    if not isinstance(activation, str) or activation not in ACTIVATIONS:
        raise ValueError(f"architecture {kind}: unknown activation {activation!r} "
                         f"(known: {', '.join(ACTIVATIONS)})")
    return ARCHITECTURES[kind](names, mean, std, out_mean, out_std, target,
                               max(channels, 1), layers, activation)


def model_from_config(model: ModelConfig, names: list[str], mean: list[float],
                      std: list[float], out_mean: float, out_std: float,
                      target: str) -> ResidualDownscaler:
    """A new network as the config's ``[model]`` section says."""
    try:
        return build_model(dataclasses.asdict(model), names, mean, std, out_mean, out_std,
                           target)
    except ValueError as exc:
        key = "model.activation" if "activation" in str(exc) else "model.kind"
        raise ConfigError(f"config key {key!r}: {exc}") from exc
