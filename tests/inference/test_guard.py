"""The guard on real inputs: the bundled UK model runs where it was trained (UK, March,
1 deg -> 0.25 deg) and steps aside elsewhere (the California sample region, the Alps in
winter), per step, with the reason in the file."""

import json

import numpy as np
import pytest
import xarray as xr

from desktop_app.downscale.features import CALENDAR_FEATURES, calendar_features
from desktop_app.downscale.select import select_baseline
from desktop_app.errors import ModelError
from desktop_app.inference import guard
from desktop_app.inference.card import parse_card
from desktop_app.inference.predictor import Predictor, run_forecast
from desktop_app.inference.registry import ModelRegistry
from desktop_app.sources.region import load_region
from tests.inference.helpers import BUNDLED, DATA

ALPS = DATA.parent / "downscale"


@pytest.fixture(scope="module")
def trained():
    return Predictor(ModelRegistry().resolve(None), "cpu")


@pytest.fixture(scope="module")
def uk():
    fine = xr.open_dataset(DATA / "era5_uk_fine.nc").load()
    return xr.open_dataset(DATA / "era5_uk_coarse.nc").load(), fine


def _rmse(a, b):
    return float(np.sqrt(np.mean((a - b) ** 2)))


def test_the_bundled_card_records_its_training_domain(trained):
    d = trained.card.domain
    assert d is not None and d.months == (3,) and d.spacing_ratio == (4.0, 4.0)
    assert d.latitude == (50.0, 57.75) and set(d.inputs) == set(trained.feature_names)


def test_in_its_domain_the_model_runs_on_most_steps_and_beats_the_baselines(trained, uk):
    coarse, fine = uk
    ds = run_forecast((coarse, fine[["elevation"]]), predictor=trained)
    used = ds["model_used"].values.astype(bool)
    share = ds["guard_outside_share"].values
    assert used.mean() > 0.9  # held-out late-March days: a few warmer than any training day
    assert (share[used] <= 0.10).all() and (share[~used] > 0.10).all()
    # a step the guard kept from the model is exactly the best baseline
    np.testing.assert_array_equal(ds["temperature"].values[~used],
                                  ds["temperature_baseline"].values[~used])
    truth = fine["temperature"].values
    final = _rmse(ds["temperature"].values, truth)
    for ref in ("baseline", "lapse_estimated", "lapse_fixed", "bilinear"):
        assert final < _rmse(ds[f"temperature_{ref}"].values, truth)


def test_no_edge_band_on_a_real_case(trained, uk):
    """The outer ring's error against the truth, relative to the interior's, is no
    worse for the final field than for plain bilinear interpolation."""
    coarse, fine = uk
    ds = run_forecast((coarse, fine[["elevation"]]), predictor=trained)
    ring = np.ones(fine["elevation"].shape, bool)
    ring[1:-1, 1:-1] = False
    truth = fine["temperature"].values

    def ratio(name):
        e = (ds[name].values - truth) ** 2
        return np.sqrt(e[:, ring].mean() / e[:, ~ring].mean())

    assert ratio("temperature") <= ratio("temperature_bilinear") * 1.02


def test_outside_its_domain_every_step_is_the_baseline_and_force_overrides(trained):
    region = load_region()  # California, ~150 m: another grid spacing, latitude, month
    ds = run_forecast(region, predictor=trained)
    assert not ds["model_used"].values.any()
    assert (ds["guard_outside_share"].values == 1.0).all()
    np.testing.assert_array_equal(ds["temperature"].values, ds["temperature_baseline"].values)
    assert ds.attrs["guard"].startswith("guard: 72 of 72 steps outside")
    # the synthetic sample's coarse field follows the standard rate: the check says so
    assert ds.attrs["baseline_method"] == select_baseline(region.coarse).method == "lapse_fixed"
    assert "lapse_fixed baseline" in ds.attrs["guard"]
    forced = run_forecast(region, predictor=trained, force_model=True)
    assert forced["model_used"].values.all() and "overridden" in forced.attrs["guard"]
    assert np.abs(forced["temperature"].values - ds["temperature"].values).max() > 0.5


def test_winter_alps_are_outside_and_the_chosen_baseline_is_used(trained):
    """Davos 0.25 deg as the input (16 cells, pressure levels): the coarse-scale check
    keeps the estimated rate; ``baseline=`` forces TopoSCALE, and the file says which."""
    fine = xr.open_dataset(ALPS / "era5_davos_2020-01.nc").load().isel(time=slice(0, 48))
    terrain = fine[["elevation"]]  # the input's own grid: a code check, not skill
    ds = run_forecast((fine, terrain), predictor=trained)
    chosen = select_baseline(fine)
    assert ds.attrs["baseline_method"] == chosen.method == "lapse_estimated"
    assert ds.attrs["baseline_selection"] == chosen.summary()
    assert not ds["model_used"].values.any()  # January, the Alps
    np.testing.assert_array_equal(ds["temperature"].values,
                                  ds["temperature_lapse_estimated"].values)
    assert {"temperature_toposcale", "temperature_lapse_fixed",
            "temperature_bilinear"} <= set(ds.data_vars)
    forced = run_forecast((fine, terrain), predictor=trained,
                          baseline_method="toposcale")
    assert forced.attrs["baseline_method"] == "toposcale"
    assert forced.attrs["baseline_selection"] == "toposcale: forced by the user"
    assert "toposcale baseline" in forced.attrs["guard"]
    np.testing.assert_array_equal(forced["temperature"].values,
                                  forced["temperature_toposcale"].values)


def test_a_step_far_outside_the_training_temperatures_falls_back(trained, uk):
    """The same real UK days, two of them 15 K warmer (a heatwave the model never saw):
    only those steps are the baseline."""
    coarse, fine = uk
    hot = coarse.copy(deep=True)
    hot["temperature"].values[5:7] += 15.0
    ds = run_forecast((hot, fine[["elevation"]]), predictor=trained)
    share = ds["guard_outside_share"].values
    assert (share[5:7] > 0.9).all()
    assert not ds["model_used"].values[5:7].any()


def test_a_bad_training_domain_is_a_model_error_naming_the_key():
    card = json.loads(BUNDLED.with_suffix(".json").read_text())
    bad = json.loads(json.dumps(card))
    bad["training_domain"]["months"] = [13]
    with pytest.raises(ModelError, match="'months'"):
        parse_card(bad)
    bad = json.loads(json.dumps(card))
    bad["training_domain"]["inputs"]["slope"] = [0.0, 1.0]
    with pytest.raises(ModelError, match="'slope' is not a feature"):
        parse_card(bad)
    bad = json.loads(json.dumps(card))
    bad["training_domain"]["extra"] = 1
    with pytest.raises(ModelError, match="unknown key 'extra'"):
        parse_card(bad)


def test_the_guard_measures_the_same_on_tiles(trained, uk):
    coarse, fine = uk
    whole = np.zeros(coarse.sizes["time"])
    tiled = np.zeros(coarse.sizes["time"])
    trained.predict(coarse, fine[["elevation"]], outside=whole)
    trained.predict(coarse, fine[["elevation"]], outside=tiled, max_tile_cells=300,
                    batch_cells=5000)
    np.testing.assert_allclose(tiled, whole, atol=1e-12)
    assert 0.0 < whole.max() < 1.0  # some held-out hours lie partly outside


def test_the_guard_counts_what_a_plain_check_of_every_input_counts(trained, uk):
    """Per step, the share of cells with any normalised input outside the card's bounds
    (or outside its elevations and latitudes), checked the plain way on every channel
    of every cell: the guard checks static and calendar channels once, not per cell."""
    coarse, fine = uk
    coarse = coarse.isel(time=slice(0, 24)).copy(deep=True)
    coarse["temperature"].values[3, :3, :4] += 12.0  # part of one step far too warm
    terrain = fine[["elevation"]].copy(deep=True)
    # hills within its elevations (-30..677 m) but far above their coarse orography:
    # outside through the elevation_difference channel alone
    terrain["elevation"].values[:5, :9] += 560.0
    got = np.zeros(24)
    trained.predict(coarse, terrain, outside=got)
    builder = trained.feature_builder(coarse, terrain)
    x = builder.build(0, 24)
    d = trained.card.domain
    lo, hi = guard.normalised_bounds(d, trained.feature_names, trained.mean.ravel(),
                                     trained.std.ravel())
    bad = ((x < lo) | (x > hi)).any(axis=1) | guard.static_outside(
        d, terrain["elevation"].values, builder.lat)
    want = bad.reshape(24, -1).mean(axis=1)
    want[guard.step_outside(d, builder.times, 4.0)] = 1.0
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
    assert want.min() > 0.0 and want.max() < 1.0 and want[3] > want.min()
    assert set(CALENDAR_FEATURES) == set(calendar_features(builder.times[:1]))
