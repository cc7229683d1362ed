import json

import numpy as np
import pytest
import xarray as xr

from desktop_app.errors import SchemaError
from desktop_app.verify.metrics import compare, scores, skill_score
from desktop_app.verify.stations import verify_at_stations


def test_scores_by_hand():
    s = scores(np.array([1.0, 2.0, 4.0, np.nan]), np.array([1.0, 1.0, 2.0, 5.0]))
    assert s.n == 3
    assert s.mae == pytest.approx(1.0)
    assert s.bias == pytest.approx(1.0)
    assert s.rmse == pytest.approx(np.sqrt(5 / 3))


def test_skill_score():
    perfect = scores(np.ones(4), np.ones(4))
    ref = scores(np.ones(4) * 2, np.ones(4))
    assert skill_score(perfect, ref) == 1.0
    assert skill_score(ref, ref) == 0.0
    assert np.isnan(skill_score(ref, perfect))


def test_compare_uses_the_same_pairs_for_everyone():
    obs = np.array([0.0, 0.0, 0.0])
    rows = compare(obs, {"model": np.array([1.0, np.nan, 1.0]),
                         "baseline": np.array([2.0, 9.0, 2.0])})
    by = {r["forecast"]: r for r in rows}
    assert by["model"]["n"] == by["baseline"]["n"] == 2
    assert by["model"]["skill_vs_baseline"] == pytest.approx(0.75)


def _grid(values, name="temperature"):
    t = np.array(["2024-01-01T00", "2024-01-01T01"], "datetime64[ns]")
    lat, lon = np.array([10.0, 10.1, 10.2]), np.array([20.0, 20.1])
    attrs = {"units": "degC", "standard_name": "air_temperature"}
    return xr.Dataset({name: (("time", "latitude", "longitude"), values, attrs)},
                      coords={"time": t, "latitude": lat, "longitude": lon})


def _obs(values, lat, lon, qc=None, generated=False):
    t = np.array(["2024-01-01T00", "2024-01-01T01"], "datetime64[ns]")
    ds = xr.Dataset({"temperature": (("station", "time"), values, {"units": "degC"})},
                    coords={"time": t, "latitude": ("station", lat),
                            "longitude": ("station", lon)})
    if qc is not None:
        ds["temperature_qc"] = (("station", "time"), np.asarray(qc, np.uint8))
    if generated:
        ds.attrs["generated_values"] = "yes"
    return ds


def test_stations_sample_the_nearest_cell_and_qc_is_respected(tmp_path):
    field = np.arange(12, dtype=float).reshape(2, 3, 2)
    fc = _grid(field)
    fc["temperature_baseline"] = fc["temperature"] + 1.0
    fc["temperature_baseline"].attrs["units"] = "degC"
    fc["temperature_bilinear"] = fc["temperature"] - 2.0
    fc["temperature_bilinear"].attrs["units"] = "degC"
    obs = _obs(np.array([[0.0, 6.0], [5.0, 99.0], [1.0, 1.0]]),
               lat=np.array([10.01, 10.19, 45.0]), lon=np.array([20.01, 20.09, 0.0]),
               qc=[[1, 1], [1, 4], [1, 1]])
    report = verify_at_stations(fc, obs)
    by = {r["forecast"]: r for r in report.rows}
    assert by["model"]["rmse"] == 0.0 and by["model"]["n"] == 3
    assert by["baseline"]["bias"] == pytest.approx(1.0)
    assert by["model"]["skill_vs_bilinear"] == 1.0
    assert report.excluded_by_qc == 1 and report.n_stations == 2
    assert any("outside the grid" in n for n in report.notes)
    csv_path, json_path = report.write(tmp_path / "rep")
    assert csv_path.read_text().startswith("forecast,n,mae,rmse,bias")
    assert json.loads(json_path.read_text())["rows"][0]["forecast"] == "model"
    assert "model" in report.table()


def test_generated_observations_are_labelled_before_any_number():
    fc = _grid(np.zeros((2, 3, 2)))
    obs = _obs(np.zeros((1, 2)), np.array([10.0]), np.array([20.0]), generated=True)
    table = verify_at_stations(fc, obs).table()
    assert table.splitlines()[0].startswith("note: the observations are GENERATED")


def test_unit_mismatch_and_missing_variable_are_errors():
    fc = _grid(np.zeros((2, 3, 2)))
    obs = _obs(np.zeros((1, 2)), np.array([10.0]), np.array([20.0]))
    obs["temperature"].attrs["units"] = "K"
    with pytest.raises(SchemaError, match="'K'"):
        verify_at_stations(fc, obs)
    with pytest.raises(SchemaError, match="no 'temperature'"):
        verify_at_stations(_grid(np.zeros((2, 3, 2)), "wind_speed"), _obs(
            np.zeros((1, 2)), np.array([10.0]), np.array([20.0])))
