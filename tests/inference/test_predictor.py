import threading

import numpy as np
import pytest
import xarray as xr

from desktop_app.core.schema import validate_grid_dataset
from desktop_app.downscale.baseline import lapse_rate_baseline
from desktop_app.downscale.select import select_baseline
from desktop_app.errors import CancelledError, SchemaError
from desktop_app.inference.predictor import (
    Predictor,
    run_forecast,
    subhourly_times,
    tiles,
    to_hourly,
    write_forecast,
)
from desktop_app.inference.registry import ModelRegistry
from desktop_app.sources.region import load_region
from tests.inference.helpers import BUNDLED, BUNDLED_SPEC, DATA, LAPSE_MODEL


def _entry(onnx_path):
    from desktop_app.inference.card import load_card
    from desktop_app.inference.registry import ModelEntry

    card = onnx_path.with_suffix(".json")
    return ModelEntry(load_card(card), onnx_path, card, "bundled")


@pytest.fixture(scope="module")
def region():
    return load_region()


@pytest.fixture(scope="module")
def predictor():
    """The lapse-rate baseline as a graph: its output must equal the baseline."""
    return Predictor(_entry(LAPSE_MODEL), "cpu")


@pytest.fixture(scope="module")
def trained():
    """The bundled trained model (a CNN with a halo), the default for temperature."""
    entry = ModelRegistry().resolve(None)
    assert entry.spec == BUNDLED_SPEC and entry.onnx_path == BUNDLED
    return Predictor(entry, "cpu")


def test_sample_forecast_is_the_baseline_with_provenance(region, predictor):
    ds = run_forecast(region, predictor=predictor)
    base = lapse_rate_baseline(region.coarse, region.terrain)
    np.testing.assert_allclose(ds["temperature"].values, base["temperature"].values,
                               atol=2e-4)
    assert ds.sizes == {"time": 72, "latitude": 111, "longitude": 257}
    assert ds.attrs["model_name"] == "lapse-rate-baseline"
    assert ds.attrs["model_trained"] == "no"
    assert ds.attrs["provider"] == "cpu"
    assert ds.attrs["generated_values"] == "yes"  # the sample weather is generated
    assert "model lapse-rate-baseline@1.0.0" in ds["temperature"].attrs["source"]
    assert "baseline" in ds["relative_humidity"].attrs["source"]
    assert {"temperature_baseline", "temperature_bilinear"} <= set(ds.data_vars)
    assert ds["temperature"].attrs["units"] == "degC"
    validate_grid_dataset(ds)  # the canonical CF grid schema


def test_tiling_gives_the_same_map(region, predictor):
    whole = predictor.predict(region.coarse, region.terrain)["temperature"]
    tiled = predictor.predict(region.coarse, region.terrain, max_tile_cells=900,
                              batch_cells=5000)["temperature"]
    np.testing.assert_allclose(whole, tiled, rtol=0, atol=1e-4)


def test_tiling_with_a_halo_gives_the_same_map(region, trained):
    """The trained CNN sees 5 cells around each cell: tiles need (and get) that halo."""
    assert trained.card.halo == 5
    whole = trained.predict(region.coarse, region.terrain)["temperature"]
    tiled = trained.predict(region.coarse, region.terrain, max_tile_cells=900,
                            batch_cells=5000)["temperature"]
    np.testing.assert_allclose(whole, tiled, rtol=0, atol=1e-4)


def test_bundled_card_metrics_reproduce_on_the_real_holdout(trained):
    """The trained model's card numbers come from these held-out real ERA5 days, which
    it was not trained on (it was trained on 1-21 March)."""
    fine = xr.open_dataset(DATA / "era5_uk_fine.nc").load()
    coarse = xr.open_dataset(DATA / "era5_uk_coarse.nc").load()
    # the card scores the network on every held-out step: the guard overridden
    ds = run_forecast((coarse, fine[["elevation"]]), predictor=trained, force_model=True)
    assert ds["model_used"].values.all() and "overridden" in ds.attrs["guard"]
    # the card's "baseline" is the fixed -6.5 K/km one it was scored against
    rmse = {k: float(np.sqrt(((ds[v].values - fine["temperature"].values) ** 2).mean()))
            for k, v in (("model", "temperature"), ("baseline", "temperature_lapse_fixed"),
                         ("bilinear", "temperature_bilinear"))}
    card_rows = {r["forecast"]: r for r in trained.card.metrics["rows"]}
    for key, value in rmse.items():
        assert value == pytest.approx(card_rows[key]["rmse"], abs=1e-3)
    assert rmse["model"] < rmse["baseline"]


@pytest.mark.parametrize("halo", [0, 3])
def test_tiles_cover_the_grid_exactly_once(halo):
    seen = np.zeros((37, 53), int)
    for rows, cols, inner_r, inner_c in tiles((37, 53), 200, halo):
        block = np.zeros((rows.stop - rows.start, cols.stop - cols.start), int)
        block[inner_r, inner_c] = 1
        seen[rows, cols] += block
    assert (seen == 1).all()


def test_missing_variable_is_named(region, predictor):
    coarse = region.coarse.drop_vars("temperature")
    with pytest.raises(SchemaError, match="no 'temperature'"):
        run_forecast((coarse, region.terrain), predictor=predictor)


def test_nan_in_coarse_input_is_refused(region, predictor):
    coarse = region.coarse.copy(deep=True)
    coarse["temperature"][5, 1, 1] = np.nan
    with pytest.raises(SchemaError, match="NaN"):
        run_forecast((coarse, region.terrain), predictor=predictor)


def test_nan_in_terrain_is_refused(region, predictor):
    terrain = region.terrain.copy(deep=True)
    terrain["elevation"][3, 3] = np.nan
    with pytest.raises(SchemaError, match="terrain 'elevation'"):
        run_forecast((region.coarse, terrain), predictor=predictor)


def test_grid_too_large_for_memory_is_refused_up_front(region, predictor, monkeypatch):
    from desktop_app.errors import MicroclimateError
    from desktop_app.inference import predictor as module

    monkeypatch.setattr(module, "memory_limit_bytes", lambda: 10 * 2**20)
    with pytest.raises(MicroclimateError, match="grid too large"):
        run_forecast(region, predictor=predictor)


def test_reference_fields_match_the_baseline_module(region, predictor):
    from desktop_app.downscale.baseline import bilinear

    ds = run_forecast(region, predictor=predictor)
    method = ds.attrs["baseline_method"]
    assert method == select_baseline(region.coarse).method  # what the coarse check says
    base = lapse_rate_baseline(region.coarse, region.terrain, method=method)
    for var in ("temperature", "relative_humidity", "surface_pressure", "wind_speed"):
        got = ds[f"{var}_baseline"] if var == "temperature" else ds[var]
        np.testing.assert_allclose(got.values, base[var].values, rtol=1e-6, atol=1e-4)
    np.testing.assert_array_equal(ds[f"temperature_{method}"].values,
                                  ds["temperature_baseline"].values)
    fixed = lapse_rate_baseline(region.coarse, region.terrain)["temperature"].values
    np.testing.assert_allclose(ds["temperature_lapse_fixed"].values, fixed, atol=1e-4)
    c = region.coarse
    want = bilinear(c["temperature"].values, c.latitude.values, c.longitude.values,
                    region.terrain.latitude.values, region.terrain.longitude.values)
    np.testing.assert_allclose(ds["temperature_bilinear"].values, want, atol=1e-4)


def test_cancel_stops_and_nothing_is_written(region, predictor, tmp_path):
    cancel = threading.Event()
    seen = []

    def progress(fraction, message):
        seen.append(fraction)
        if fraction > 0:
            cancel.set()

    out = tmp_path / "f.nc"
    with pytest.raises(CancelledError):
        write_forecast(run_forecast(region, predictor=predictor, progress=progress,
                                    cancel=cancel, max_tile_cells=3000), out)
    assert not out.exists() and list(tmp_path.iterdir()) == []
    assert seen and seen[-1] < 1.0


def test_progress_is_monotonic_and_ends_at_one(region, predictor):
    seen = []
    run_forecast(region, predictor=predictor, progress=lambda f, m: seen.append(f))
    assert seen == sorted(seen) and seen[-1] == 1.0


def test_written_file_round_trips(region, predictor, tmp_path):
    out = write_forecast(run_forecast(region, predictor=predictor), tmp_path / "f.nc")
    with xr.open_dataset(out) as back:
        assert back.attrs["model_version"] == "1.0.0"
        assert back["temperature"].dtype == np.float32


def test_subhourly_steps_are_linear_between_hours(region, predictor):
    ds = run_forecast(region, predictor=predictor, subhourly_hours=3)
    t = ds["time"].values
    assert (t[1] - t[0]) == np.timedelta64(15, "m")
    assert (t[-1] - t[-2]) == np.timedelta64(1, "h")
    assert t.size == 72 + 3 * 3
    mid = ds["temperature"].values[2]  # 00:30
    np.testing.assert_allclose(mid, 0.5 * (ds["temperature"].values[0]
                                           + ds["temperature"].values[4]), atol=1e-4)
    assert "not model output" in ds.attrs["time_interpolation"]


def test_three_hourly_input_becomes_hourly(region):
    coarse = region.coarse.isel(time=slice(0, None, 3))
    hourly = to_hourly(coarse)
    assert hourly.sizes["time"] == 70
    np.testing.assert_allclose(hourly["temperature"].values[::3],
                               coarse["temperature"].values)
    assert subhourly_times(hourly["time"].values, 0).size == 70


def test_card_metrics_reproduce_on_the_real_holdout(predictor):
    """The bundled card's numbers come from this held-out real ERA5 data."""
    fine = xr.open_dataset(DATA / "era5_uk_fine.nc").load()
    coarse = xr.open_dataset(DATA / "era5_uk_coarse.nc").load()
    ds = run_forecast((coarse, fine[["elevation"]]), predictor=predictor)
    # the card's "baseline" is the fixed -6.5 K/km one it was scored against
    rmse = {k: float(np.sqrt(((ds[v].values - fine["temperature"].values) ** 2).mean()))
            for k, v in (("model", "temperature"), ("baseline", "temperature_lapse_fixed"),
                         ("bilinear", "temperature_bilinear"))}
    card_rows = {r["forecast"]: r for r in predictor.card.metrics["rows"]}
    for key, value in rmse.items():
        assert value == pytest.approx(card_rows[key]["rmse"], abs=1e-3)


def test_a_model_that_fails_at_run_time_is_a_model_error(region, tmp_path):
    """A graph whose card passes but that cannot run on real input (wrong weight shape)."""
    from desktop_app.errors import ModelError
    from desktop_app.inference.card import load_card
    from desktop_app.inference.registry import ModelEntry
    from tests.inference.helpers import graph, write_model

    model = graph(["temperature_interp", "elevation_difference"], [1.0, 0.1, 0.2],
                  channels=2)
    path = write_model(tmp_path, model=model)
    entry = ModelEntry(load_card(path.with_suffix(".json")), path, path.with_suffix(".json"),
                       "user")
    with pytest.raises(ModelError, match="failed on input"):
        Predictor(entry, "cpu")


def test_nan_from_the_model_is_refused_not_mapped(region, tmp_path):
    import onnx
    from onnx import helper

    from desktop_app.errors import ModelError
    from desktop_app.inference.card import load_card
    from desktop_app.inference.registry import ModelEntry
    from tests.inference.helpers import graph, write_model

    model = graph(["temperature_interp", "elevation_difference"], [0.0, 0.0])
    conv = model.graph.node[0]
    conv.output[0] = "zero"
    model.graph.node.append(helper.make_node("Div", ["zero", "zero"], ["temperature"]))
    onnx.checker.check_model(model)
    path = write_model(tmp_path, model=model)
    entry = ModelEntry(load_card(path.with_suffix(".json")), path, path.with_suffix(".json"),
                       "user")
    with pytest.raises(ModelError, match="NaN/inf"):
        run_forecast(region, predictor=Predictor(entry, "cpu"))


def test_the_active_model_of_each_variable_runs(region, tmp_path):
    from desktop_app.downscale.baseline import bilinear
    from tests.inference.helpers import graph, write_model

    wind = graph(["wind_speed_interp"], [1.0], output_name="wind_speed", meta_units="m s-1")
    path = write_model(
        tmp_path, name="windy", model=wind,
        features=[("wind_speed_interp", "m s-1", 3.0, 2.0)],
        outputs=[{"name": "wind_speed", "variable": "wind_speed", "units": "m s-1",
                  "mean": 3.0, "std": 2.0, "shape": ["batch", 1, "rows", "cols"]}])
    reg = ModelRegistry()
    reg.use(reg.install(path).spec)
    ds = run_forecast(region, provider="cpu", registry=reg)
    assert "windy@1.0.0" in ds["wind_speed"].attrs["source"]
    assert f"{BUNDLED_SPEC} (trained)" in ds["temperature"].attrs["source"]
    assert "baseline" in ds["surface_pressure"].attrs["source"]
    c = region.coarse
    want = bilinear(c["wind_speed"].values, c.latitude.values, c.longitude.values,
                    region.terrain.latitude.values, region.terrain.longitude.values)
    np.testing.assert_allclose(ds["wind_speed"].values, want, atol=1e-4)
    assert ds.attrs["model_name"] == "era5-uk-downscaler, windy"
    assert {"wind_speed_baseline", "wind_speed_bilinear"} <= set(ds.data_vars)


@pytest.mark.gpu
def test_cuda_forecast_matches_cpu(region, predictor):
    cuda = Predictor(_entry(LAPSE_MODEL), "cuda")
    assert cuda.session.status.provider == "cuda"
    on_gpu = run_forecast(region, predictor=cuda)
    on_cpu = run_forecast(region, predictor=predictor)
    np.testing.assert_allclose(on_gpu["temperature"].values, on_cpu["temperature"].values,
                               atol=1e-4)
