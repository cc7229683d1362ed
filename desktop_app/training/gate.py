"""The gate a fine-tuned model must pass before it replaces its base.

Scored where neither model was tuned: the held-out TEST stations on the held-out days
(test days, or the validation days when none are configured, and the card says so),
QC-passed observations only, at each station's nearest grid cell. The fine-tuned model,
its base, the lapse-rate baseline and bilinear interpolation all run through the app's
own predictor on the same coarse fields and are scored on the same pairs. The result
goes into the card as ``metrics.gate``; ``microclimate models install`` reads it and
refuses a model whose RMSE there is higher than its base's (unless forced).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from desktop_app.core.variables import VARIABLES
from desktop_app.training.dataset import Split, TrainingData

LABELS = ("finetuned", "base", "baseline", "bilinear")


def gate_metrics(data: TrainingData, split: Split, which: str, onnx_path: Path,
                 card_path: Path, base_onnx: Path, base_card: Path, base_spec: str
                 ) -> dict[str, Any]:
    """``metrics.gate`` of a fine-tuned model's card."""
    from desktop_app.inference.card import load_card
    from desktop_app.inference.predictor import Predictor
    from desktop_app.inference.registry import ModelEntry
    from desktop_app.training.export import predicted_fields
    from desktop_app.verify.metrics import compare

    st = data.station_set
    record: dict[str, Any] = {"base": base_spec, "units": VARIABLES[data.target].units,
                              "passed": False}
    if st is None or not st.split["test"]:
        record["reason"] = ("no held-out test stations (data.station_holdout = 0 and no "
                            "data.test_stations): the model cannot be compared with its base")
        return record
    steps = np.searchsorted(data.coarse["time"].values, split.times)
    targets = st.targets("test", steps)
    fields = predicted_fields(data, split.times, onnx_path, card_path)
    base_entry = ModelEntry(load_card(base_card), base_onnx, base_card, "user")
    coarse = data.coarse.sel(time=split.times)
    fields["base"] = np.asarray(Predictor(base_entry, "cpu", warm_up=False).predict(
        coarse, data.fine[["elevation"]])[data.target])
    fields["finetuned"] = fields.pop("model")
    sampled = {k: fields[k][:, targets.rows, targets.cols] for k in LABELS}
    rows = {str(r["forecast"]): r for r in compare(targets.obs, sampled,
                                                   references=("base", "baseline",
                                                               "bilinear"))}

    def num(v: Any) -> float | None:
        return None if not isinstance(v, float) or math.isnan(v) else round(v, 4)

    rmse = {k: num(rows[k]["rmse"]) for k in LABELS}
    n = int(rows["finetuned"]["n"])
    record.update({
        "where": f"held-out test stations {', '.join(targets.ids)} on {which}: "
                 f"{', '.join(split.days)}; QC-passed observations "
                 f"({'/'.join(st.flags_used)}) at the nearest grid cell, {st.title}",
        "n": n, "rmse": rmse, "mae": {k: num(rows[k]["mae"]) for k in LABELS},
        "bias": {k: num(rows[k]["bias"]) for k in LABELS},
        "best_reference": min(("baseline", "bilinear"), key=lambda k: _or_inf(rmse[k]))})
    ft, base = rmse["finetuned"], rmse["base"]
    if n == 0 or ft is None or base is None:
        record["reason"] = "no QC-passed observation at the held-out stations on those days"
    else:
        record["passed"] = ft <= base
        record["reason"] = (f"RMSE {ft:g} vs base {base:g} {record['units']} (n={n})")
    inputs_generated = str(data.coarse.attrs.get("generated_values", "")).lower() == "yes"
    if st.generated or inputs_generated:
        what = "observations" if st.generated else "coarse input fields"
        record["note"] = (f"the {what} are GENERATED: these numbers test the code, they "
                          "are not the model's skill")
    return record



def _or_inf(value: float | None) -> float:
    return math.inf if value is None else value
