"""Loss: a data term plus physics-informed terms, each weighted in the config.

- data: MSE against the fine-resolution target;
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


def compute_loss(pred: torch.Tensor, base: torch.Tensor, target: torch.Tensor,
                 coarse: torch.Tensor, block_ids: torch.Tensor, counts: torch.Tensor,
                 weights: LossConfig, variable: str) -> LossParts:
    """``pred``/``base``/``target``: (2B, 1, H, W), consecutive pairs interleaved
    (rows 2k and 2k+1 are steps t and t+1); ``coarse``: (2B, coarse cells)."""
    pred = pred.float()
    data = torch.mean((pred - target) ** 2)
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
    total = (weights.data * data + weights.smoothness * smooth
             + weights.conservation * conservation + weights.range * range_pen
             + weights.boundary * boundary)
    terms = {"data": float(data.detach()), "smoothness": float(smooth.detach()),
             "conservation": float(conservation.detach()), "range": float(range_pen.detach()),
             "boundary": float(boundary.detach())}
    return LossParts(total, terms)


def boundary_term(correction: torch.Tensor) -> torch.Tensor:
    """Mean squared correction over the outer ring of cells of (..., H, W)."""
    ring = torch.cat([correction[..., 0, :], correction[..., -1, :],
                      correction[..., 1:-1, 0], correction[..., 1:-1, -1]], dim=-1)
    return torch.mean(ring.float() ** 2)
