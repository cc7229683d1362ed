"""ONNX export with a parity check and a model card the app's registry accepts.

The graph is exported with a fixed opset (config ``export.opset``, 17 by default, which
the app's onnxruntime supports), with free batch, rows and cols. PyTorch and
onnxruntime are run on the same validation fields and the largest absolute difference
(in the target's physical units) is reported and must be tiny. The card's metrics come
from the held-out test days (or, with none configured, the validation days, and the card
says so), scored through the app's own predictor against the lapse-rate baseline and
plain bilinear interpolation. With station targets the card adds ``metrics.stations``:
model vs baseline vs bilinear at the held-out TEST stations (never trained on, never used
for early stopping) on the held-out days, pooled and per station, and ``metrics.split``
records which days and stations were held out and the seed that drew them.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import torch

from desktop_app.core.variables import VARIABLES
from desktop_app.errors import ModelError
from desktop_app.fsutil import atomic_path, atomic_write_bytes, sha256_file
from desktop_app.inference.card import META_FEATURES, META_UNITS, load_card
from desktop_app.training.dataset import Split, TrainingData
from desktop_app.training.model import ResidualDownscaler
from desktop_app.training.stations import station_scores
from desktop_app.training.trainer import BEST, Trainer

PARITY_TOLERANCE = 1e-3  # physical units (degC for temperature)
EARTH_M_PER_DEG = 111_320.0


@dataclass
class ExportResult:
    onnx_path: Path
    card_path: Path
    parity_max_abs: float
    metrics: dict[str, Any]


def to_onnx(model: ResidualDownscaler, n_features: int, target: str, opset: int,
            names: list[str], units: str) -> onnx.ModelProto:
    model = model.cpu().eval()
    dims = {0: "batch", 2: "rows", 3: "cols"}
    with warnings.catch_warnings(), tempfile.TemporaryDirectory() as tmp:
        # the TorchScript exporter: deprecated upstream, but it needs no extra package
        # (the newer one needs onnxscript) and gives the same graph for plain convolutions
        warnings.simplefilter("ignore")
        path = Path(tmp) / "model.onnx"
        torch.onnx.export(model, (torch.zeros(1, n_features, 8, 8),), path, dynamo=False,
                          opset_version=opset, input_names=["features"],
                          output_names=[target],
                          dynamic_axes={"features": dims, target: dims})
        proto = onnx.load(str(path))
    proto.doc_string = "microclimate residual downscaler (lapse-rate baseline + CNN)"
    onnx.helper.set_model_props(proto, {META_FEATURES: ",".join(names),
                                        META_UNITS: json.dumps({target: units})})
    onnx.checker.check_model(proto)
    return proto


def parity(model: ResidualDownscaler, onnx_path: Path, x: np.ndarray) -> float:
    """Largest |PyTorch - onnxruntime| over ``x``, in physical units."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    with torch.no_grad():
        expected = model.cpu().eval()(torch.from_numpy(x)).numpy()
    got = session.run(None, {"features": x})[0]
    return float(np.abs(got - expected).max()) * model.out_std


def _card(data: TrainingData, cfg_export: Any, halo: int, sha: str, onnx_file: str,
          metrics: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    lat, lon = data.fine["latitude"].values, data.fine["longitude"].values
    res = float(abs(lat[1] - lat[0])) if lat.size > 1 else 0.0
    days = data.train.days
    var = VARIABLES[data.target]
    return {
        "format_version": 1, "name": cfg_export.name, "version": cfg_export.version,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "description": cfg_export.description or (
            f"Residual CNN downscaler for {data.target}: the lapse-rate baseline plus a "
            "learned correction, trained with microclimate's trainer."),
        "trained": True, "onnx_file": onnx_file, "sha256": sha,
        "input": {"name": "features", "shape": ["batch", len(data.names), "rows", "cols"],
                  "features": [{"name": n, "units": u, "mean": float(m), "std": float(s)}
                               for n, u, m, s in zip(data.names, data.units, data.mean,
                                                     data.std, strict=True)]},
        "outputs": [{"name": data.target, "variable": data.target, "units": var.units,
                     "mean": data.out_mean, "std": data.out_std,
                     "shape": ["batch", 1, "rows", "cols"]}],
        "grid": {"resolution_m": [round(res * EARTH_M_PER_DEG)] * 2, "halo_cells": halo,
                 "trained_on": f"{lat.min():.3f}..{lat.max():.3f}N, "
                               f"{lon.min():.3f}..{lon.max():.3f}E at {res:g} deg"},
        "training_data": cfg_export.training_data or (
            f"{data.fine.attrs.get('title', 'fine targets')}; coarse input "
            f"{data.coarse.attrs.get('title', '')}; training days {days[0]}..{days[-1]} "
            f"({len(days)} days), validation days {', '.join(data.val.days)}"
            + (f"; QC-passed station targets from {data.station_set.title} (training "
               f"stations {', '.join(data.station_set.split['train'])})"
               if data.station_set is not None else "")),
        "metrics": metrics,
        "training_domain": training_domain(data),
        "limitations": cfg_export.limitations or (
            f"Verified only on the held-out days listed in the metrics, at {res:g} deg; "
            "not verified at other resolutions, regions or seasons."),
        **extra,
    }


def _lineage(trainer: Trainer) -> dict[str, Any]:
    """Card keys on how the model came about: its architecture, the tracked runs behind
    it (the base model's too) and, fine-tuned, what it was tuned from."""
    runs: list[dict[str, Any]] = []
    extra: dict[str, Any] = {"architecture": trainer.model.architecture()}
    base = trainer.base
    if base is not None:
        runs += list(base.card.raw.get("training_runs") or [])
    if trainer.tracker is not None:
        runs.append({**trainer.tracker.reference(),
                     "kind": "finetune" if base is not None else "train"})
    if runs:
        extra["training_runs"] = runs
    base_domain = base.card.raw.get("training_domain") if base is not None else None
    if isinstance(base_domain, dict):
        # tuned weights carry the base's training too: the guard's domain is the union
        extra["training_domain"] = merge_domains(base_domain, training_domain(trainer.data))
    return extra


def merge_domains(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """The union of two ``training_domain`` records (ranges widened, months joined)."""
    def span(x: list[float], y: list[float]) -> list[float]:
        return [min(x[0], y[0]), max(x[1], y[1])]

    inputs = {k: span(a["inputs"][k], v) if k in a.get("inputs", {}) else v
              for k, v in b["inputs"].items()}
    return {**b, "inputs": inputs,
            **{k: span(a[k], b[k]) for k in ("elevation_m", "spacing_ratio", "latitude")
               if k in a and k in b},
            "months": sorted(set(a.get("months", [])) | set(b.get("months", [])))}


def training_domain(data: TrainingData, quantiles: tuple[float, float] = (0.001, 0.999)
                    ) -> dict[str, Any]:
    """What the guard checks forecast inputs against: each input's low/high quantiles
    over the training cells and steps (physical units), the fine elevation range, the
    coarse/fine spacing ratio, the training months and the latitude band."""
    from desktop_app.inference.guard import TrainingDomain, spacing_ratio

    x = data.train.x  # normalised (steps, features, rows, cols)
    flat = np.moveaxis(x, 1, 0).reshape(x.shape[1], -1)
    q = np.quantile(flat, quantiles, axis=1) * data.std[None, :] + data.mean[None, :]
    lat = data.fine["latitude"].values
    elev = data.fine["elevation"].values
    months = sorted({int(m) for m in (np.asarray(data.train.times, "datetime64[M]")
                                      .astype(int) % 12) + 1})
    ratio = spacing_ratio(data.coarse["latitude"].values, lat)
    return TrainingDomain(
        inputs={n: (float(q[0, k]), float(q[1, k])) for k, n in enumerate(data.names)},
        elevation_m=(float(np.nanmin(elev)), float(np.nanmax(elev))),
        spacing_ratio=(ratio, ratio), months=tuple(months),
        latitude=(float(lat.min()), float(lat.max())), quantiles=quantiles).as_dict()


def predicted_fields(data: TrainingData, times: np.ndarray, onnx_path: Path,
                     card_path: Path) -> dict[str, np.ndarray]:
    """Model (through the app's predictor), baseline and bilinear fields at ``times``."""
    from desktop_app.downscale.baseline import interp_matrix, separable_bilinear
    from desktop_app.inference.predictor import Predictor, baseline_fields
    from desktop_app.inference.registry import ModelEntry

    coarse = data.coarse.sel(time=times)
    terrain = data.fine[["elevation"]]
    entry = ModelEntry(load_card(card_path), onnx_path, card_path, "bundled")
    t = data.target
    # the predictor itself (not run_forecast, which would resample to hourly steps)
    model = Predictor(entry, "cpu", warm_up=False).predict(coarse, terrain)[t]
    wy = interp_matrix(coarse["latitude"].values, data.fine["latitude"].values)
    wx = interp_matrix(coarse["longitude"].values, data.fine["longitude"].values)
    return {"model": np.asarray(model), "baseline": np.asarray(baseline_fields(
        coarse, terrain)[t]), "bilinear": separable_bilinear(coarse[t].values, wy, wx)}


def station_metrics(data: TrainingData, split: Split, which: str, onnx_path: Path,
                    card_path: Path) -> dict[str, Any]:
    """Scores at the held-out test stations on ``split``'s days."""
    st = data.station_set
    assert st is not None
    if not st.split["test"]:
        return {"holdout": "no test stations were held out (data.station_holdout = 0 and "
                           "no data.test_stations): the model is not scored at stations"}
    steps = np.searchsorted(data.coarse["time"].values, split.times)
    targets = st.targets("test", steps)
    fields = predicted_fields(data, split.times, onnx_path, card_path)
    result: dict[str, Any] = {
        "holdout": f"test stations {', '.join(targets.ids)} on {which}: "
                   f"{', '.join(split.days)}; {targets.n_obs} QC-passed observations "
                   f"({'/'.join(st.flags_used)}) at the nearest grid cell, {st.title}",
        "units": VARIABLES[data.target].units, **station_scores(fields, targets)}
    if st.generated:
        result["note"] = ("the observations are GENERATED: these numbers test the code, "
                          "they are not the model's skill")
    return result


def holdout_metrics(data: TrainingData, split: Split, which: str, onnx_path: Path,
                    card_path: Path) -> dict[str, Any]:
    """Model vs baseline vs bilinear on ``split``, through the app's predictor."""
    from desktop_app.verify.metrics import compare

    t = data.target
    fine = data.fine.sel(time=split.times)
    rows = compare(fine[t].values, predicted_fields(data, split.times, onnx_path, card_path))
    return {
        "holdout": f"{which}: {', '.join(split.days)} ({split.times.size} steps), "
                   f"{data.fine.attrs.get('title', 'fine targets')}",
        "units": VARIABLES[t].units,
        "rows": [{k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items()}
                 for r in rows],
    }


def export_run(trainer: Trainer, dest: Path | None = None) -> ExportResult:
    """Export the best weights of ``trainer`` (else its current ones) with a card."""
    cfg, data = trainer.cfg, trainer.data
    model = copy.deepcopy(trainer.model).cpu()
    best = trainer.out_dir / BEST
    if best.exists():
        model.load_state_dict(torch.load(best, map_location="cpu", weights_only=True))
    dest = Path(dest) if dest is not None else trainer.out_dir / "model"
    onnx_path = dest / f"{cfg.export.name}-{cfg.export.version}.onnx"
    card_path = onnx_path.with_suffix(".json")
    proto = to_onnx(model, len(data.names), data.target, cfg.export.opset, data.names,
                    VARIABLES[data.target].units)
    with atomic_path(onnx_path) as tmp:
        onnx.save(proto, str(tmp))
    max_abs = parity(model, onnx_path, data.val.x[:4])
    if not max_abs <= PARITY_TOLERANCE:
        raise ModelError(f"ONNX parity check failed: PyTorch and onnxruntime differ by "
                         f"{max_abs:.3g} (tolerance {PARITY_TOLERANCE})")
    sha = sha256_file(onnx_path)

    extra = _lineage(trainer)
    base = trainer.base
    if base is not None and not cfg.export.training_data and data.station_set is not None:
        st = data.station_set
        extra["training_data"] = (
            f"{base.card.spec} ({base.card.training_data}), fine-tuned "
            f"({cfg.finetune.trainable}: {', '.join(trainer.trainable)}) on QC-passed "
            f"observations of {st.title} at training stations "
            f"{', '.join(st.split['train'])} on days {data.train.days[0]}.."
            f"{data.train.days[-1]}")

    def write(metrics: dict[str, Any]) -> None:
        card = _card(data, cfg.export, model.halo, sha, onnx_path.name, metrics, extra)
        atomic_write_bytes(card_path, (json.dumps(card, indent=2) + "\n").encode("utf-8"))

    write({})
    split, which = ((data.test, "held-out test days") if data.test is not None else
                    (data.val, "validation days (used for early stopping, not independent)"))
    metrics: dict[str, Any] = (holdout_metrics(data, split, which, onnx_path, card_path)
                               if data.has_grid_target else {})
    if data.station_set is not None:
        metrics["stations"] = station_metrics(data, split, which, onnx_path, card_path)
    if base is not None:
        from desktop_app.training.gate import gate_metrics

        metrics["gate"] = gate_metrics(data, split, which, onnx_path, card_path,
                                       base.onnx_path, base.card_path,
                                       cfg.finetune.base_spec or base.card.spec)
        metrics["finetune"] = {"base": cfg.finetune.base_spec or base.card.spec,
                               "base_sha256": base.card.sha256,
                               "trainable": cfg.finetune.trainable,
                               "parameters": trainer.trainable,
                               "parameters_trained": sum(
                                   p.numel() for p in trainer.model.parameters()
                                   if p.requires_grad),
                               "parameters_total": sum(
                                   p.numel() for p in trainer.model.parameters())}
    metrics["split"] = data.split_record()
    metrics["parity_max_abs_error"] = max_abs
    metrics["best_step"] = trainer.best_step
    metrics["best_val_rmse"] = round(trainer.best_val, 4)
    write(metrics)
    return ExportResult(onnx_path, card_path, max_abs, metrics)
