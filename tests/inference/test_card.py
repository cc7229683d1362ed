import json

import pytest

from desktop_app.errors import ModelError
from desktop_app.inference.card import (
    check_against_graph,
    check_sha256,
    load_card,
    parse_card,
)
from desktop_app.inference.runtime import create_session
from tests.inference.helpers import (
    BUNDLED,
    FEATURES,
    LAPSE_MODEL,
    card_dict,
    graph,
    write_model,
)


def _check(onnx_path):
    card = load_card(onnx_path.with_suffix(".json"))
    check_sha256(card, onnx_path)
    check_against_graph(card, create_session(onnx_path, "cpu").session)


def test_bundled_card_matches_its_graph_and_is_honest():
    card = load_card(BUNDLED.with_suffix(".json"))
    _check(BUNDLED)
    assert card.trained is True
    assert BUNDLED.stat().st_size < 2 * 1024 * 1024
    assert "REAL ERA5" in card.training_data and "March 2019" in card.training_data
    assert "NOT verified at 100 m-1 km" in card.limitations
    assert "California sample region" in card.limitations
    rows = {r["forecast"]: r for r in card.metrics["rows"]}
    assert set(rows) == {"model", "baseline", "bilinear"}
    assert "held-out test days: 2019-03-22" in card.metrics["holdout"]
    assert rows["model"]["rmse"] < rows["baseline"]["rmse"] < rows["bilinear"]["rmse"]
    assert card.metrics["parity_max_abs_error"] < 1e-3


def test_lapse_rate_card_matches_its_graph_and_says_it_is_not_trained():
    card = load_card(LAPSE_MODEL.with_suffix(".json"))
    _check(LAPSE_MODEL)
    assert card.trained is False
    assert "NOT A TRAINED MODEL" in card.description
    assert card.variables == ["temperature"]
    rows = {r["forecast"]: r for r in card.metrics["rows"]}
    assert set(rows) == {"model", "baseline", "bilinear"}
    assert "Copernicus" in card.metrics["holdout"]


def test_unknown_and_missing_keys_are_named(tmp_path):
    data = card_dict(write_model(tmp_path))
    with pytest.raises(ModelError, match="unknown key 'colour'"):
        parse_card({**data, "colour": "red"})
    del data["sha256"]
    with pytest.raises(ModelError, match="missing key 'sha256'"):
        parse_card(data)


def test_output_units_must_be_the_variables_units(tmp_path):
    data = card_dict(write_model(tmp_path))
    data["outputs"][0]["units"] = "K"
    with pytest.raises(ModelError, match="must be in 'degC'"):
        parse_card(data)


def test_feature_units_must_match_the_feature_registry(tmp_path):
    feats = [("temperature_interp", "K", 283.0, 10.0), FEATURES[1]]
    with pytest.raises(ModelError, match="feature 'temperature_interp' must be in 'degC'"):
        parse_card(card_dict(write_model(tmp_path), features=feats))


def test_zero_std_is_refused(tmp_path):
    feats = [FEATURES[0], ("elevation_difference", "m", 0.0, 0.0)]
    with pytest.raises(ModelError, match="std > 0"):
        parse_card(card_dict(write_model(tmp_path), features=feats))


def test_sha256_mismatch_is_caught(tmp_path):
    path = write_model(tmp_path)
    card = load_card(path.with_suffix(".json"))
    path.write_bytes(path.read_bytes() + b"\0")
    with pytest.raises(ModelError, match="does not match the card"):
        check_sha256(card, path)


def _rewrite_card(path, **changes):
    data = json.loads(path.with_suffix(".json").read_text())
    data.update(changes)
    path.with_suffix(".json").write_text(json.dumps(data))


def test_input_name_mismatch(tmp_path):
    path = write_model(tmp_path, model=graph(["temperature_interp", "elevation_difference"],
                                             [1.0, 0.1], input_name="x"))
    with pytest.raises(ModelError, match="does not match the graph inputs"):
        _check(path)


def test_feature_count_mismatch(tmp_path):
    path = write_model(tmp_path, model=graph(["temperature_interp"], [1.0]))
    with pytest.raises(ModelError, match="(shape|feature channels)"):
        _check(path)


def test_output_name_mismatch(tmp_path):
    path = write_model(tmp_path, model=graph(["temperature_interp", "elevation_difference"],
                                             [1.0, 0.1], output_name="t2m"))
    with pytest.raises(ModelError, match="do not match the graph outputs"):
        _check(path)


def test_feature_order_in_graph_metadata_must_match(tmp_path):
    path = write_model(tmp_path, model=graph(["elevation_difference", "temperature_interp"],
                                             [1.0, 0.1]))
    with pytest.raises(ModelError, match="differ from the graph"):
        _check(path)


def test_units_in_graph_metadata_must_match(tmp_path):
    path = write_model(tmp_path, model=graph(["temperature_interp", "elevation_difference"],
                                             [1.0, 0.1], meta_units="K"))
    with pytest.raises(ModelError, match="units"):
        _check(path)


def test_fixed_shape_in_card_must_match_graph(tmp_path):
    path = write_model(tmp_path)
    data = json.loads(path.with_suffix(".json").read_text())
    data["input"]["shape"] = ["batch", 2, 64, 64]
    path.with_suffix(".json").write_text(json.dumps(data))
    with pytest.raises(ModelError, match="input shape"):
        _check(path)


def test_fixed_grid_size_in_the_graph_is_refused_clearly(tmp_path):
    import onnx
    model = graph(["temperature_interp", "elevation_difference"], [1.0, 0.1])
    dims = model.graph.input[0].type.tensor_type.shape.dim
    dims[2].ClearField("dim_param")
    dims[2].dim_value = 64
    path = write_model(tmp_path, model=model)
    onnx.checker.check_model(onnx.load(str(path)))
    with pytest.raises(ModelError, match="fixed grid size"):
        _check(path)


def test_bad_halo_is_refused(tmp_path):
    data = card_dict(write_model(tmp_path))
    data["grid"] = {"halo_cells": -1}
    with pytest.raises(ModelError, match="halo_cells"):
        parse_card(data)
