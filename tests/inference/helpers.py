"""Small real ONNX models and cards for registry/card/predictor tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from desktop_app.fsutil import sha256_file
from desktop_app.inference.card import META_FEATURES, META_UNITS

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "inference"
# the lapse-rate baseline as a graph (the former bundled placeholder): a pointwise model
# whose output must equal the baseline
LAPSE_MODEL = DATA / "lapse-rate-baseline-1.0.0.onnx"
# the trained model that ships (the default); one version of it is bundled at a time
(BUNDLED,) = sorted((ROOT / "models").glob("era5-uk-downscaler-*.onnx"))
BUNDLED_VERSION = BUNDLED.stem.removeprefix("era5-uk-downscaler-")
BUNDLED_SPEC = f"era5-uk-downscaler@{BUNDLED_VERSION}"

FEATURES = [("temperature_interp", "degC", 10.0, 10.0), ("elevation_difference", "m", 0.0, 250.0)]


def graph(features: list[str], weights: list[float], bias: float = 0.0,
          input_name: str = "features", output_name: str = "temperature",
          channels: int | str | None = None, meta_units: str = "degC") -> onnx.ModelProto:
    n = len(weights)
    x = helper.make_tensor_value_info(input_name, TensorProto.FLOAT,
                                      ["batch", channels if channels is not None else n,
                                       "rows", "cols"])
    y = helper.make_tensor_value_info(output_name, TensorProto.FLOAT, ["batch", 1, "rows", "cols"])
    w = numpy_helper.from_array(np.array(weights, np.float32).reshape(1, n, 1, 1), "W")
    b = numpy_helper.from_array(np.array([bias], np.float32), "B")
    node = helper.make_node("Conv", [input_name, "W", "B"], [output_name], kernel_shape=[1, 1])
    model = helper.make_model(helper.make_graph([node], "t", [x], [y], [w, b]),
                              opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 9
    helper.set_model_props(model, {META_FEATURES: ",".join(features),
                                   META_UNITS: json.dumps({output_name: meta_units})})
    return model


def card_dict(onnx_path: Path, name: str = "toy", version: str = "1.0.0",
              features: list[tuple[str, str, float, float]] | None = None,
              **overrides: Any) -> dict[str, Any]:
    feats = features or FEATURES
    card: dict[str, Any] = {
        "format_version": 1, "name": name, "version": version,
        "created": "2026-11-24T00:00:00+00:00", "description": "test model",
        "trained": False, "onnx_file": onnx_path.name, "sha256": sha256_file(onnx_path),
        "input": {"name": "features", "shape": ["batch", len(feats), "rows", "cols"],
                  "features": [{"name": n, "units": u, "mean": m, "std": s}
                               for n, u, m, s in feats]},
        "outputs": [{"name": "temperature", "variable": "temperature", "units": "degC",
                     "mean": 10.0, "std": 10.0, "shape": ["batch", 1, "rows", "cols"]}],
        "grid": {"halo_cells": 0}, "training_data": "none (test)",
    }
    card.update(overrides)
    return card


def write_model(folder: Path, name: str = "toy", version: str = "1.0.0",
                model: onnx.ModelProto | None = None, **card_overrides: Any) -> Path:
    """A lapse-rate model (same maths as the bundled one) with its card; returns .onnx."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}-{version}.onnx"
    if model is None:
        model = graph([f[0] for f in FEATURES], [1.0, -6.5 * 250.0 / 1000.0 / 10.0])
    onnx.save(model, str(path))
    card = card_dict(path, name, version, **card_overrides)
    path.with_suffix(".json").write_text(json.dumps(card, indent=2), encoding="utf-8")
    return path
