"""Export to ONNX: parity with PyTorch, a card the app's registry accepts, and a forecast
through the app's own predictor (tiny GENERATED data: tests the code, not the model)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
import xarray as xr

pytest.importorskip("torch", reason="the trainer needs torch (the [train] extra)")

from desktop_app.inference.predictor import run_forecast  # noqa: E402
from desktop_app.inference.registry import ModelRegistry  # noqa: E402
from desktop_app.training.export import PARITY_TOLERANCE  # noqa: E402
from desktop_app.training.run import train_and_export  # noqa: E402


def test_export_parity_card_and_forecast(tiny_config: Path, tmp_path: Path) -> None:
    result, exported = train_and_export(tiny_config, tmp_path / "run")
    assert exported is not None
    assert exported.parity_max_abs <= PARITY_TOLERANCE
    proto = onnx.load(str(exported.onnx_path))
    assert proto.opset_import[0].version == 17
    dims = [d.dim_param or d.dim_value for d in proto.graph.input[0].type.tensor_type.shape.dim]
    assert dims == ["batch", 6, "rows", "cols"]
    card = json.loads(exported.card_path.read_text())
    assert card["trained"] is True and card["grid"]["halo_cells"] == 3
    assert [f["name"] for f in card["input"]["features"]][0] == "temperature_interp"
    rows = {r["forecast"]: r for r in card["metrics"]["rows"]}
    assert set(rows) == {"model", "baseline", "bilinear"}
    assert "held-out test days: 2020-01-04" in card["metrics"]["holdout"]

    registry = ModelRegistry(bundled_dir=tmp_path / "none", user_dir=tmp_path / "user")
    entry = registry.install(exported.onnx_path)
    assert entry.spec == "tiny-test@0.0.1"
    data = tiny_config.parent
    with xr.open_dataset(data / "coarse.nc") as c, xr.open_dataset(data / "fine.nc") as f:
        coarse, terrain = c.load(), f[["elevation"]].load()
    forecast = run_forecast((coarse, terrain), model=entry.spec, provider="cpu",
                            registry=registry)
    assert "model tiny-test@0.0.1 (trained)" in forecast["temperature"].attrs["source"]
    assert np.isfinite(forecast["temperature"].values).all()
