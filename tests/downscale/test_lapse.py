"""The baselines that follow the atmosphere, on real ERA5 (Davos, January 2020, with
pressure levels; Finse, December 2018): vectorised code against plain per-cell
references, and a perfect-model check (coarsened reanalysis) that they beat bilinear."""

from pathlib import Path

import numpy as np
import pytest

from desktop_app.downscale.baseline import (
    STANDARD_LAPSE_RATE,
    available_methods,
    downscale_temperature,
    interp_matrix,
)
from desktop_app.downscale.lapse import (
    LAPSE_BOUNDS,
    RELIEF_SCALE_M,
    estimate_lapse_rate,
    toposcale_temperature,
)
from desktop_app.errors import SchemaError
from desktop_app.verify.perfect_model import coarsen

DATA = Path(__file__).resolve().parents[1] / "data" / "downscale"



def _reference_lapse(t, z, r=1):
    """Per cell and step, the ridge regression written out with explicit windows."""
    nt, ny, nx = t.shape
    s2 = RELIEF_SCALE_M ** 2
    out = np.empty(t.shape)
    for i in range(ny):
        for j in range(nx):
            win = (slice(max(0, i - r), i + r + 1), slice(max(0, j - r), j + r + 1))
            zz = z[win].ravel()
            for k in range(nt):
                tt = t[k][win].ravel()
                cov = np.mean((tt - tt.mean()) * (zz - zz.mean()))
                g = (cov + s2 * STANDARD_LAPSE_RATE / 1000) / (zz.var() + s2) * 1000
                out[k, i, j] = np.clip(g, *LAPSE_BOUNDS)
    return out


def test_estimated_lapse_rate_matches_the_per_cell_reference(finse):
    t = finse["temperature"].values[:24].astype(float)
    z = finse["elevation"].values.astype(float)
    np.testing.assert_allclose(estimate_lapse_rate(t, z), _reference_lapse(t, z),
                               atol=1e-6)


def test_flat_ground_keeps_the_standard_rate_and_inversions_survive(davos):
    z = davos["elevation"].values.astype(float)
    t = davos["temperature"].values[:3].astype(float)
    flat = estimate_lapse_rate(t, np.full_like(z, 1500.0))
    np.testing.assert_allclose(flat, STANDARD_LAPSE_RATE)
    # a temperature rising 4 K/km over the real Davos orography: an inversion
    inversion = 2.0 + 4.0 * z / 1000.0
    g = estimate_lapse_rate(inversion[None], z)[0]
    assert (g <= 4.0).all() and g.max() > 2.0
    # where the neighbourhood's relief is 1.5x the prior's scale, the data weigh 69 %
    from desktop_app.downscale.lapse import box_sum

    n = box_sum(np.ones_like(z), 1)
    relief = np.sqrt(box_sum(z * z, 1) / n - (box_sum(z, 1) / n) ** 2)
    steep = relief > 1.5 * RELIEF_SCALE_M
    assert steep.sum() >= 4 and (g[steep] > 0).all()


def test_estimated_rates_on_real_winter_data_are_bounded(davos):
    g = estimate_lapse_rate(davos["temperature"].values, davos["elevation"].values)
    assert g.min() >= LAPSE_BOUNDS[0] and g.max() <= LAPSE_BOUNDS[1]
    assert (g > 0).any()  # ERA5 itself has inversions across these cells in January


def _reference_toposcale(ts, zs, tl, zl, zf, wy, wx):
    """Per fine cell: the bilinear column, np.interp in height, the surface departure."""
    out = np.empty((ts.shape[0], *zf.shape))
    off = np.empty(ts.shape)
    for k in range(ts.shape[0]):
        for i in range(zs.shape[0]):
            for j in range(zs.shape[1]):
                order = np.argsort(zl[k, :, i, j])
                off[k, i, j] = ts[k, i, j] - np.interp(zs[i, j], zl[k, order, i, j],
                                                       tl[k, order, i, j])
        col_t = np.einsum("ia,lab,jb->lij", wy, tl[k], wx)
        col_z = np.einsum("ia,lab,jb->lij", wy, zl[k], wx)
        off_f = wy @ off[k] @ wx.T
        for i in range(zf.shape[0]):
            for j in range(zf.shape[1]):
                order = np.argsort(col_z[:, i, j])
                out[k, i, j] = np.interp(zf[i, j], col_z[order, i, j],
                                         col_t[order, i, j]) + off_f[i, j]
    return out


def test_toposcale_matches_the_per_cell_reference(davos):
    coarse = coarsen(davos.isel(time=slice(0, 6)), 2)
    wy = interp_matrix(coarse["latitude"].values, davos["latitude"].values)
    wx = interp_matrix(coarse["longitude"].values, davos["longitude"].values)
    args = [coarse[v].values.astype(float) for v in
            ("temperature", "elevation", "temperature_pl", "geopotential_height_pl")]
    zf = davos["elevation"].values.astype(float)
    got = toposcale_temperature(*args, zf, wy, wx)
    np.testing.assert_allclose(got, _reference_toposcale(*args, zf, wy, wx), atol=2e-3)


def test_toposcale_on_the_coarse_grid_itself_returns_the_surface_field(davos):
    ds = davos.isel(time=slice(0, 24))
    eye = np.eye(4)
    got = toposcale_temperature(ds["temperature"].values, ds["elevation"].values,
                                ds["temperature_pl"].values,
                                ds["geopotential_height_pl"].values,
                                ds["elevation"].values, eye, eye)
    np.testing.assert_allclose(got, ds["temperature"].values, atol=1e-3)


@pytest.mark.parametrize("name", ["davos", "finse"])
def test_perfect_model_the_terrain_aware_baselines_beat_bilinear(name, request):
    """PERFECT-MODEL (the input is the 2x2 block mean of the truth): a code check on
    real fields, not a skill claim."""
    fine = request.getfixturevalue(name)
    coarse = coarsen(fine, 2)
    terrain = fine[["elevation"]]
    truth = fine["temperature"].values
    rmse = {m: float(np.sqrt(np.mean((downscale_temperature(coarse, terrain, m) - truth)
                                     ** 2)))
            for m in available_methods(coarse)}
    assert set(rmse) == ({"toposcale"} if name == "davos" else set()) | {
        "lapse_estimated", "lapse_fixed", "bilinear"}
    for method, value in rmse.items():
        if method != "bilinear":
            assert value < 0.9 * rmse["bilinear"], (method, rmse)


def test_toposcale_without_pressure_levels_is_a_schema_error(finse):
    coarse = coarsen(finse.isel(time=slice(0, 2)), 2)
    with pytest.raises(SchemaError, match="pressure levels"):
        downscale_temperature(coarse, finse[["elevation"]], "toposcale")
    with pytest.raises(SchemaError, match="unknown baseline method 'nope'"):
        downscale_temperature(coarse, finse[["elevation"]], "nope")
