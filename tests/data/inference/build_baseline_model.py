"""Build the lapse-rate baseline expressed as an ONNX graph (a test fixture).

    python tests/data/inference/build_baseline_model.py

It is NOT a trained model. It was the bundled placeholder until the trainer delivered a
trained one (``models/era5-uk-downscaler-*``); it stays as a test fixture: a pointwise
model whose output must equal the baseline, for registry, card, runtime and predictor
tests. The graph is one 1x1 convolution over two normalised features::

    T = temperature_interp + LAPSE_RATE * elevation_difference / 1000

(the same arithmetic as ``desktop_app.downscale.baseline.lapse_rate_baseline``),
folded with the input and output normalisation into the weights.

The card's metrics come from REAL held-out data nothing was fitted to: ERA5 2 m
temperature over the UK, 22-31 March 2019, block-averaged to 1 deg and downscaled back
to 0.25 deg (``tests/data/inference/``), compared with the real 0.25 deg field.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import numpy as np
import onnx
import xarray as xr
from onnx import TensorProto, helper, numpy_helper

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))

from desktop_app.downscale.baseline import STANDARD_LAPSE_RATE  # noqa: E402
from desktop_app.fsutil import atomic_path, atomic_write_bytes, sha256_file  # noqa: E402
from desktop_app.inference.card import META_FEATURES, META_UNITS  # noqa: E402

NAME, VERSION = "lapse-rate-baseline", "1.0.0"
# Normalisation: round, plausible numbers (not fitted); the weights undo them exactly.
FEATURES = [("temperature_interp", "degC", 10.0, 10.0),
            ("elevation_difference", "m", 0.0, 250.0)]
OUTPUT = ("temperature", "degC", 10.0, 10.0)
HOLDOUT = ROOT / "tests" / "data" / "inference"


def build_graph(lapse_rate: float = STANDARD_LAPSE_RATE) -> onnx.ModelProto:
    (_, _, m0, s0), (_, _, m1, s1) = FEATURES
    _, _, my, sy = OUTPUT
    weight = np.array([[[[s0 / sy]], [[lapse_rate * s1 / 1000.0 / sy]]]], np.float32)
    bias = np.array([(m0 + lapse_rate * m1 / 1000.0 - my) / sy], np.float32)
    x = helper.make_tensor_value_info("features", TensorProto.FLOAT,
                                      ["batch", len(FEATURES), "rows", "cols"])
    y = helper.make_tensor_value_info("temperature", TensorProto.FLOAT,
                                      ["batch", 1, "rows", "cols"])
    node = helper.make_node("Conv", ["features", "W", "B"], ["temperature"],
                            name="lapse_rate_correction", kernel_shape=[1, 1])
    graph = helper.make_graph([node], NAME, [x], [y], [numpy_helper.from_array(weight, "W"),
                                                        numpy_helper.from_array(bias, "B")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                              producer_name="microclimate build_baseline_model.py")
    model.ir_version = 9
    model.doc_string = "NOT TRAINED: the lapse-rate baseline as a graph"
    helper.set_model_props(model, {META_FEATURES: ",".join(f[0] for f in FEATURES),
                                   META_UNITS: json.dumps({"temperature": "degC"})})
    onnx.checker.check_model(model)
    return model


def card(sha256: str, onnx_file: str, metrics: dict[str, object]) -> dict[str, object]:
    return {
        "format_version": 1, "name": NAME, "version": VERSION,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "description": "NOT A TRAINED MODEL. The lapse-rate baseline (bilinear "
                       f"interpolation + {STANDARD_LAPSE_RATE} K/km) expressed as an ONNX "
                       "graph, bundled so the app works on first launch. It cannot beat "
                       "the baseline: it is the baseline.",
        "trained": False, "onnx_file": onnx_file, "sha256": sha256,
        "input": {"name": "features", "shape": ["batch", len(FEATURES), "rows", "cols"],
                  "features": [{"name": n, "units": u, "mean": m, "std": s}
                               for n, u, m, s in FEATURES]},
        "outputs": [{"name": "temperature", "variable": OUTPUT[0], "units": OUTPUT[1],
                     "mean": OUTPUT[2], "std": OUTPUT[3],
                     "shape": ["batch", 1, "rows", "cols"]}],
        "grid": {"resolution_m": [100, 30000], "halo_cells": 0,
                 "note": "pointwise; no spatial context, so any resolution and tiling"},
        "training_data": "none: the weights are the standard-atmosphere lapse rate, not "
                         "fitted to any data",
        "metrics": metrics,
        "limitations": "Temperature only (other variables come from the baseline). "
                       "Verified only on ERA5 1 deg -> 0.25 deg over the UK in March; "
                       "not verified at 100 m-1 km, against stations, or in other seasons "
                       "or climates.",
    }


def holdout_metrics(onnx_path: Path, card_path: Path) -> dict[str, object]:
    """Model vs baseline vs bilinear RMSE on the real held-out ERA5 days."""
    from desktop_app.inference.card import load_card
    from desktop_app.inference.predictor import Predictor, run_forecast
    from desktop_app.inference.registry import ModelEntry
    from desktop_app.verify.metrics import compare

    fine = xr.open_dataset(HOLDOUT / "era5_uk_fine.nc").load()
    coarse = xr.open_dataset(HOLDOUT / "era5_uk_coarse.nc").load()
    entry = ModelEntry(load_card(card_path), onnx_path, card_path, "bundled")
    forecast = run_forecast((coarse, fine[["elevation"]]), predictor=Predictor(entry, "cpu"))
    truth = fine["temperature"].values
    rows = compare(truth, {"model": forecast["temperature"].values,
                           "baseline": forecast["temperature_baseline"].values,
                           "bilinear": forecast["temperature_bilinear"].values})
    return {
        "holdout": "ERA5 2 m temperature, UK 50-57.75N 10W-1.75E, 22-31 March 2019 "
                   "(240 h), 1 deg block mean downscaled to 0.25 deg vs the real 0.25 deg "
                   "field; not used to fit anything (nothing is fitted). Copernicus: "
                   "Generated using Copernicus Climate Change Service information",
        "units": "degC",
        "rows": [{k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items()}
                 for r in rows],
    }


def main() -> None:
    out_dir = Path(__file__).resolve().parent
    onnx_path = out_dir / f"{NAME}-{VERSION}.onnx"
    card_path = onnx_path.with_suffix(".json")
    with atomic_path(onnx_path) as tmp:
        onnx.save(build_graph(), str(tmp))
    sha = sha256_file(onnx_path)
    provisional = json.dumps(card(sha, onnx_path.name, {}), indent=2) + "\n"
    atomic_write_bytes(card_path, provisional.encode("utf-8"))
    metrics = holdout_metrics(onnx_path, card_path)
    final = json.dumps(card(sha, onnx_path.name, metrics), indent=2) + "\n"
    atomic_write_bytes(card_path, final.encode("utf-8"))
    print(f"wrote {onnx_path} and {card_path}")
    for row in metrics["rows"]:  # type: ignore[attr-defined]
        print(row)


if __name__ == "__main__":
    main()
