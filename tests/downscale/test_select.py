"""Which baseline a forecast uses, chosen from the coarse input alone: the vectorised
leave-one-cell-out check against a plain per-cell reference, and the choice it makes on
real ERA5 (Davos, January 2020, with pressure levels; Finse, December 2018)."""

from pathlib import Path

import numpy as np
import pytest

from desktop_app.downscale.baseline import (
    STANDARD_LAPSE_RATE,
    available_methods,
    best_method,
    downscale_temperature,
)
from desktop_app.downscale.lapse import LAPSE_BOUNDS, RELIEF_SCALE_M
from desktop_app.downscale.select import (
    MIN_CELLS,
    SWITCH_MARGIN,
    loo_scores,
    select_baseline,
)
from desktop_app.errors import SchemaError
from desktop_app.verify.perfect_model import coarsen

DATA = Path(__file__).resolve().parents[1] / "data" / "downscale"



def _profile(z_col, t_col, height):
    """Piecewise linear in height, the end segments continued beyond the levels."""
    order = np.argsort(z_col)
    z_col, t_col = z_col[order], t_col[order]
    k = int(np.clip(np.searchsorted(z_col, height) - 1, 0, len(z_col) - 2))
    slope = (t_col[k + 1] - t_col[k]) / max(z_col[k + 1] - z_col[k], 1.0)
    return t_col[k] + (height - z_col[k]) * slope


def _reference_loo(ds, method):
    """Each cell predicted from its 8-neighbourhood, written out cell by cell."""
    t = ds["temperature"].values.astype(float)
    z = ds["elevation"].values.astype(float)
    nt, ny, nx = t.shape
    if method == "toposcale":
        dims = ("time", "pressure_level", "latitude", "longitude")
        tl = ds["temperature_pl"].transpose(*dims).values.astype(float)
        zl = ds["geopotential_height_pl"].transpose(*dims).values.astype(float)
    errors = []
    for i in range(ny):
        for j in range(nx):
            nb = [(a, b) for a in range(max(0, i - 1), min(ny, i + 2))
                  for b in range(max(0, j - 1), min(nx, j + 2)) if (a, b) != (i, j)]
            zn = np.array([z[a, b] for a, b in nb])
            for k in range(nt):
                tn = np.array([t[k, a, b] for a, b in nb])
                if method == "bilinear":
                    pred = tn.mean()
                elif method == "lapse_fixed":
                    pred = np.mean(tn + STANDARD_LAPSE_RATE / 1000 * (z[i, j] - zn))
                elif method == "lapse_estimated":
                    cov = np.mean((tn - tn.mean()) * (zn - zn.mean()))
                    s2 = RELIEF_SCALE_M ** 2
                    g = (cov + s2 * STANDARD_LAPSE_RATE / 1000) / (zn.var() + s2)
                    g = np.clip(g * 1000, *LAPSE_BOUNDS)
                    pred = np.mean(tn + g / 1000 * (z[i, j] - zn))
                else:
                    pred = np.mean([t[k, a, b] - _profile(zl[k, :, a, b], tl[k, :, a, b],
                                                          z[a, b])
                                    + _profile(zl[k, :, a, b], tl[k, :, a, b], z[i, j])
                                    for a, b in nb])
                errors.append(pred - t[k, i, j])
    return float(np.sqrt(np.mean(np.square(errors))))


def test_the_check_matches_the_per_cell_reference(davos, finse):
    """Finse coarsened (3x5) without pressure levels, Davos at 0.25 deg (4x4) with them."""
    for ds in (coarsen(finse.isel(time=slice(0, 12)), 2), davos.isel(time=slice(0, 12))):
        methods = available_methods(ds)
        got = loo_scores(ds, methods)
        assert set(got) == set(methods)
        for method in methods:
            assert got[method] == pytest.approx(_reference_loo(ds, method), rel=1e-6), method
        # a long run is checked in chunks of steps: the same scores
        cells = ds.sizes["latitude"] * ds.sizes["longitude"]
        chunked = loo_scores(ds, methods, chunk_cells=5 * cells)
        assert chunked == pytest.approx(got, rel=1e-9)


def test_the_choice_is_what_the_coarse_check_scores_lowest_on_real_data(davos, finse):
    # Finse, December 2018, 2x2 block means (15 coarse cells): the estimated rate
    coarse = coarsen(finse, 2)
    chosen = select_baseline(coarse)
    assert chosen.cells == 15 >= MIN_CELLS and chosen.steps == 240
    assert chosen.method == min(chosen.scores, key=chosen.scores.__getitem__)
    assert chosen.method == "lapse_estimated" == best_method(coarse)
    assert chosen.scores["lapse_estimated"] < chosen.scores["lapse_fixed"]
    # in this PERFECT-MODEL case (input = block mean of the truth) it is also the best
    # of the baselines at the fine scale, which the check never saw
    truth = finse["temperature"].values
    fine = {m: float(np.sqrt(np.mean((downscale_temperature(coarse, finse[["elevation"]], m)
                                      - truth) ** 2))) for m in chosen.scores}
    assert min(fine, key=fine.__getitem__) == chosen.method


def test_another_baseline_needs_a_clear_margin_over_the_estimated_rate(davos, finse):
    # Davos at ERA5's 0.25 deg as the input (16 cells, pressure levels): the fixed rate
    # scores a little lower than the estimated one, too little to switch
    chosen = select_baseline(davos)
    assert set(chosen.scores) == {"toposcale", "lapse_estimated", "lapse_fixed", "bilinear"}
    s = chosen.scores
    assert min(s, key=s.__getitem__) == "lapse_fixed"
    assert 1 - s["lapse_fixed"] / s["lapse_estimated"] < SWITCH_MARGIN
    assert chosen.method == "lapse_estimated" and "lower by only" in chosen.reason
    # Finse's real temperatures on an orography shifted by two cells (misregistered):
    # the check finds that no terrain correction beats a wrong one, by more than the margin
    coarse = coarsen(finse, 2)
    shifted = coarse.assign(elevation=(("latitude", "longitude"),
                                       np.roll(coarse["elevation"].values, 2, axis=1)))
    chosen = select_baseline(shifted)
    s = chosen.scores
    assert chosen.method == "bilinear" == min(s, key=s.__getitem__)
    assert 1 - s["bilinear"] / s["lapse_estimated"] >= SWITCH_MARGIN
    assert chosen.summary().startswith("bilinear: the coarse-scale check finds its error")


def test_too_few_coarse_cells_keep_the_standard_rate(davos):
    coarse = coarsen(davos, 2)  # 2x2 cells: each held-out cell has only 3 neighbours
    chosen = select_baseline(coarse)
    assert chosen.method == "lapse_fixed"
    assert "only 4 coarse cells" in chosen.reason
    # the scores are still there to read, and this is a case where they disagree
    assert chosen.scores["lapse_estimated"] < chosen.scores["lapse_fixed"]


def test_a_forced_baseline_wins_and_an_unavailable_one_is_refused(davos, finse):
    coarse = coarsen(finse.isel(time=slice(0, 4)), 2)
    chosen = select_baseline(coarse, forced="bilinear")
    assert chosen.method == "bilinear" and chosen.summary() == "bilinear: forced by the user"
    with pytest.raises(SchemaError, match="baseline 'toposcale' is not available"):
        select_baseline(coarse, forced="toposcale")
    assert select_baseline(coarsen(davos, 2), forced="toposcale").method == "toposcale"
