"""Loss: a data term plus physics-informed terms, each weighted in the config.

- data: MSE against the fine-resolution target (when the run has one);
- station: MSE against QC-passed station observations, the predicted field taken at
  each station's nearest grid cell; cells/steps without a passed observation are masked;
- smoothness: the learned correction should not jump between consecutive steps (the
  baseline already carries the real weather change);
- conservation: the fine field averaged back over each coarse cell should give the coarse
  value (exact for block-mean coarse fields, approximate for model fields);
- range: squared distance outside the variable's physically valid range;
- boundary: the learned correction on the grid's outer ring of cells, so a region's edge
  meets the baseline (and a neighbouring region or tile) instead of a seam. The network
  starts at zero correction everywhere; this term keeps the edges there while training.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from desktop_app.core.variables import VARIABLES
from desktop_app.training.config import LossConfig


@dataclass
class LossParts:
    total: torch.Tensor
    terms: dict[str, float]


def station_term(pred: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor,
                 obs: torch.Tensor) -> torch.Tensor:
    """Mean squared error of ``pred`` (N, 1, H, W) at cells ``(rows, cols)`` against
    ``obs`` (N, stations), over the finite observations only (0 if there are none)."""
    at = pred[:, 0, rows, cols]
    mask = torch.isfinite(obs)
    err = torch.where(mask, at - torch.nan_to_num(obs), torch.zeros_like(at))
    return (err ** 2).sum() / mask.sum().clamp(min=1)


def compute_loss(pred: torch.Tensor, base: torch.Tensor, target: torch.Tensor | None,
                 coarse: torch.Tensor, block_ids: torch.Tensor, counts: torch.Tensor,
                 weights: LossConfig, variable: str,
                 stations: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None
                 ) -> LossParts:
    """``pred``/``base``/``target``: (2B, 1, H, W), consecutive pairs interleaved
    (rows 2k and 2k+1 are steps t and t+1); ``coarse``: (2B, coarse cells);
    ``stations``: (rows, cols, observations (2B, stations)) or None."""
    pred = pred.float()
    zero = pred.new_zeros(())
    data = torch.mean((pred - target) ** 2) if target is not None else zero
    station = station_term(pred, *stations) if stations is not None else zero
    corr = (pred - base).reshape(-1, 2, *pred.shape[1:])
    smooth = torch.mean((corr[:, 1] - corr[:, 0]) ** 2)
    flat = pred.reshape(pred.shape[0], -1)
    sums = torch.zeros(pred.shape[0], coarse.shape[1], device=pred.device).index_add(
        1, block_ids, flat)
    covered = counts > 0
    means = sums[:, covered] / counts[covered]
    conservation = torch.mean((means - coarse[:, covered]) ** 2)
    var = VARIABLES[variable]
    range_pen = torch.mean(torch.relu(var.valid_min - pred) ** 2
                           + torch.relu(pred - var.valid_max) ** 2)
    boundary = boundary_term(pred - base)
    total = (weights.data * data + weights.station * station + weights.smoothness * smooth
             + weights.conservation * conservation + weights.range * range_pen
             + weights.boundary * boundary)
    terms = {"data": float(data.detach()), "station": float(station.detach()),
             "smoothness": float(smooth.detach()),
             "conservation": float(conservation.detach()), "range": float(range_pen.detach()),
             "boundary": float(boundary.detach())}
    return LossParts(total, terms)


def boundary_term(correction: torch.Tensor) -> torch.Tensor:
    """Mean squared correction over the outer ring of cells of (..., H, W)."""
    ring = torch.cat([correction[..., 0, :], correction[..., -1, :],
                      correction[..., 1:-1, 0], correction[..., 1:-1, -1]], dim=-1)
    return torch.mean(ring.float() ** 2)
