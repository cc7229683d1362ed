"""Fine-tuning: an installed model (its ONNX and card) back into PyTorch, part of it trained.

The card says how to rebuild the network (``architecture``; for cards written before it
existed, the residual CNN's shape is read off the graph's weights and operators), the
features and their normalisation. The graph's initializers are loaded into the rebuilt
module BY NAME (every parameter must be there with its shape), then PyTorch and
onnxruntime are run on the same input: a rebuilt model that does not give the graph's
answer is refused rather than fine-tuned. So no torch checkpoint needs to travel with a
model.

Which parameters train (``[finetune]`` in the config): ``last_layers`` (the last
``layers`` parameterised layers, in the order the module registers them, e.g. the final
convolution: about 1 % of the bundled CNN) or ``biases`` (every bias: BitFit). All other
parameters are frozen (``requires_grad`` off and left out of the optimiser), so they end
exactly as they started.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import torch
from onnx import numpy_helper
from torch import nn

from desktop_app.errors import TrainingError
from desktop_app.inference.card import ModelCard, check_sha256, load_card
from desktop_app.training.config import Config, FinetuneConfig
from desktop_app.training.model import DEFAULT_ACTIVATION, KIND, ResidualDownscaler, build_model

PARITY_TOLERANCE = 1e-3  # physical units, as the export's own check
_CONV = re.compile(r"^net\.(\d+)\.weight$")


@dataclass
class BaseModel:
    card: ModelCard
    onnx_path: Path
    card_path: Path
    model: ResidualDownscaler
    architecture: dict[str, Any]

    @property
    def norm(self) -> tuple[np.ndarray, np.ndarray, float, float]:
        """(feature mean, feature std, output mean, output std) from the card."""
        out = self.card.outputs[0]
        return (np.array([f.mean for f in self.card.features]),
                np.array([f.std for f in self.card.features]), out.mean, out.std)


def _initializers(proto: onnx.ModelProto) -> dict[str, np.ndarray]:
    return {i.name: numpy_helper.to_array(i) for i in proto.graph.initializer}


def infer_architecture(proto: onnx.ModelProto) -> dict[str, Any]:
    """The residual CNN's shape from its graph (cards without a record): the convolution
    weights give channels and layers, the graph's operators the non-linearity."""
    convs = sorted((int(m[1]), w.shape) for name, w in _initializers(proto).items()
                   if (m := _CONV.match(name)))
    if not convs:
        raise TrainingError("the base model's card has no 'architecture' and its graph "
                            "holds no weights of a known architecture; it cannot be "
                            "fine-tuned")
    channels = int(convs[0][1][0]) if len(convs) > 1 else 0
    ops = {node.op_type for node in proto.graph.node}
    activation = ("relu" if "Relu" in ops else "silu" if "Sigmoid" in ops
                  else DEFAULT_ACTIVATION)
    return {"kind": KIND, "channels": channels, "layers": len(convs),
            "activation": activation}


def load_base(onnx_path: Path) -> BaseModel:
    """The installed model at ``onnx_path`` (card beside it) as a PyTorch module."""
    onnx_path = Path(onnx_path)
    card_path = onnx_path.with_suffix(".json")
    card = load_card(card_path)
    check_sha256(card, onnx_path)
    if len(card.outputs) != 1:
        raise TrainingError(f"{card.spec} predicts {len(card.outputs)} variables; only "
                            "single-output models can be fine-tuned")
    proto = onnx.load(str(onnx_path))
    weights = _initializers(proto)
    arch = dict(card.raw.get("architecture") or infer_architecture(proto))
    out = card.outputs[0]
    try:
        model = build_model(arch, [f.name for f in card.features],
                            [f.mean for f in card.features], [f.std for f in card.features],
                            out.mean, out.std, out.variable)
    except ValueError as exc:
        raise TrainingError(f"{card.spec}: {exc}") from exc
    state = model.state_dict()
    for name, param in model.named_parameters():
        if name not in weights:
            raise TrainingError(f"{card.spec}: the graph has no weight {name!r} for its "
                                f"architecture {arch}; it cannot be fine-tuned")
        if tuple(weights[name].shape) != tuple(param.shape):
            raise TrainingError(f"{card.spec}: weight {name!r} is {weights[name].shape} in "
                                f"the graph, {tuple(param.shape)} in the architecture")
        state[name] = torch.from_numpy(weights[name].copy())
    model.load_state_dict(state)
    base = BaseModel(card, onnx_path, card_path, model, arch)
    check_parity(base)
    return base


def check_parity(base: BaseModel) -> None:
    """The rebuilt module must give the graph's answer (else it is not the same model)."""
    import onnxruntime as ort

    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, len(base.card.features), 12, 12)).astype(np.float32)
    session = ort.InferenceSession(str(base.onnx_path), providers=["CPUExecutionProvider"])
    got = session.run(None, {base.card.input_name: x})[0]
    with torch.no_grad():
        expected = base.model.eval()(torch.from_numpy(x)).numpy()
    diff = float(np.abs(got - expected).max()) * base.card.outputs[0].std
    if not diff <= PARITY_TOLERANCE:
        raise TrainingError(f"{base.card.spec}: the rebuilt PyTorch model differs from "
                            f"its ONNX graph by {diff:.3g} (tolerance {PARITY_TOLERANCE}); "
                            "it is not fine-tuned")


def freeze(model: nn.Module, cfg: FinetuneConfig) -> list[str]:
    """Switch off all but the chosen parameters; return the names of those that train."""
    named = list(model.named_parameters())
    if cfg.trainable == "biases":
        chosen = [n for n, _ in named if n.endswith("bias")]
    else:
        layers: list[str] = []  # owning module of each parameter, in registration order
        for name, _ in named:
            owner = name.rsplit(".", 1)[0]
            if owner not in layers:
                layers.append(owner)
        keep = set(layers[-cfg.layers:])
        chosen = [n for n, _ in named if n.rsplit(".", 1)[0] in keep]
    if not chosen:
        raise TrainingError(f"finetune.trainable = {cfg.trainable!r} selects no parameter "
                            "of this model")
    for name, param in named:
        param.requires_grad_(name in chosen)
    return chosen


def finetune_config(cfg: Config, onnx_path: Path, spec: str, stations: Path | None) -> Config:
    """``cfg`` set up to fine-tune the model at ``onnx_path``: its features, target and
    architecture (the card decides them, not the config), the station file, and a new
    version of the same name unless the config names one."""
    card = load_card(Path(onnx_path).with_suffix(".json"))
    cfg.finetune.base = str(Path(onnx_path).resolve())
    cfg.finetune.base_spec = spec
    if stations is not None:
        cfg.data.stations = str(Path(stations).resolve())
    if not cfg.data.stations:
        raise TrainingError("fine-tuning needs station targets: give --stations FILE (e.g. "
                            "what 'microclimate watch export pairs.nc' writes)")
    cfg.data.features = [f.name for f in card.features]
    cfg.data.target = card.outputs[0].variable
    arch = card.raw.get("architecture") or infer_architecture(onnx.load(str(onnx_path)))
    cfg.model.kind = str(arch.get("kind") or cfg.model.kind)
    cfg.model.channels = int(arch.get("channels") or cfg.model.channels)
    cfg.model.layers = int(arch.get("layers") or cfg.model.layers)
    cfg.model.activation = str(arch.get("activation") or DEFAULT_ACTIVATION)
    if cfg.export.name == "downscaler":  # the default: keep the base's name
        cfg.export.name = card.name
    if cfg.export.version == "0.1.0":
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d%H%M%S")
        cfg.export.version = f"{card.version}-ft.{stamp}"
    return cfg
