"""The physics terms of the loss on hand-made tensors (what each term measures)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch", reason="the trainer needs torch (the [train] extra)")

from desktop_app.training.config import LossConfig  # noqa: E402
from desktop_app.training.loss import boundary_term, compute_loss  # noqa: E402


def _inputs(correction: torch.Tensor):
    base = torch.full((2, 1, 6, 8), 10.0)
    pred = base + correction
    coarse = torch.full((2, 1), 10.0)
    block_ids = torch.zeros(48, dtype=torch.long)
    counts = torch.tensor([48.0])
    return pred, base, pred.clone(), coarse, block_ids, counts


def test_boundary_term_sees_the_edges_only():
    inner = torch.zeros(2, 1, 6, 8)
    inner[..., 2:4, 3:5] = 1.0
    assert float(boundary_term(inner)) == 0.0
    edge = torch.zeros(2, 1, 6, 8)
    edge[..., 0, :] = 2.0  # the whole top row corrected by 2
    ring_cells = 2 * 8 + 2 * (6 - 2)
    assert float(boundary_term(edge)) == pytest.approx(4.0 * 8 / ring_cells)


def test_boundary_weight_adds_the_term_to_the_total():
    edge = torch.zeros(2, 1, 6, 8)
    edge[..., :, 0] = 1.0
    args = _inputs(edge)
    off = compute_loss(*args, weights=LossConfig(range=0.0), variable="temperature")
    on = compute_loss(*args, weights=LossConfig(range=0.0, boundary=3.0),
                      variable="temperature")
    assert on.terms["boundary"] == off.terms["boundary"] > 0
    assert float(on.total - off.total) == pytest.approx(3.0 * on.terms["boundary"])


def test_station_term_samples_cells_and_masks_missing_observations():
    from desktop_app.training.loss import station_term

    pred = torch.zeros(2, 1, 6, 8)
    pred[:, 0, 1, 2] = 3.0  # station A's cell
    pred[:, 0, 4, 7] = -1.0  # station B's cell
    rows, cols = torch.tensor([1, 4]), torch.tensor([2, 7])
    obs = torch.tensor([[1.0, float("nan")], [3.0, 1.0]])  # B missing at step 0
    # errors: A 2 and 0, B 2 (step 1 only); the NaN contributes nothing
    assert float(station_term(pred, rows, cols, obs)) == pytest.approx((4 + 0 + 4) / 3)
    none = torch.full((2, 2), float("nan"))
    assert float(station_term(pred, rows, cols, none)) == 0.0
    args = _inputs(torch.zeros(2, 1, 6, 8))
    parts = compute_loss(*args, weights=LossConfig(range=0.0, station=2.0),
                         variable="temperature", stations=(rows, cols, obs[:, :1] + 9))
    assert parts.terms["station"] > 0
    assert float(parts.total) == pytest.approx(2.0 * parts.terms["station"])
