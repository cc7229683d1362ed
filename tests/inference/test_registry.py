import json

import pytest

from desktop_app.errors import ModelError
from desktop_app.inference.registry import ModelRegistry, version_key
from tests.inference.helpers import BUNDLED_SPEC, write_model


def test_bundled_model_is_the_default_for_temperature():
    reg = ModelRegistry()
    entry = reg.active("temperature")
    assert entry is not None and entry.spec == BUNDLED_SPEC
    assert entry.card.trained
    assert entry.origin == "bundled"
    assert reg.active("wind_speed") is None


def test_install_use_rollback(tmp_path, private_home):
    reg = ModelRegistry()
    v1 = reg.install(write_model(tmp_path / "src1", version="1.0.0"))
    v2 = reg.install(write_model(tmp_path / "src2", version="1.10.0"))
    assert v1.onnx_path.is_relative_to(private_home)
    assert reg.find("toy").spec == "toy@1.10.0"  # numeric version order
    reg.use("toy@1.0.0")
    reg.use("toy")
    assert reg.active("temperature").spec == "toy@1.10.0"
    assert reg.history("temperature") == [BUNDLED_SPEC, "toy@1.0.0"]
    assert reg.rollback("temperature").spec == "toy@1.0.0"
    assert reg.rollback("temperature").spec == BUNDLED_SPEC
    with pytest.raises(ModelError, match="nothing to roll back"):
        reg.rollback("temperature")
    state = json.loads(reg.state_path.read_text())
    assert state["active"]["temperature"] == BUNDLED_SPEC
    assert v2.card.sha256 == v1.card.sha256  # same graph, kept as two versions


def test_installing_the_same_version_with_other_bytes_is_refused(tmp_path):
    reg = ModelRegistry()
    reg.install(write_model(tmp_path / "a"))
    again = reg.install(write_model(tmp_path / "a"))  # identical: a no-op
    assert again.spec == "toy@1.0.0"
    from tests.inference.helpers import graph
    other = write_model(tmp_path / "b", model=graph(
        ["temperature_interp", "elevation_difference"], [1.0, -0.2]))
    with pytest.raises(ModelError, match="already installed"):
        reg.install(other)


def test_broken_models_are_not_installed(tmp_path, private_home):
    path = write_model(tmp_path)
    path.write_bytes(path.read_bytes()[:40])  # truncated; card sha no longer matches
    with pytest.raises(ModelError, match="sha256"):
        ModelRegistry().install(path)
    assert not (private_home / "models" / "installed").exists()
    with pytest.raises(ModelError, match="not an ONNX model"):
        ModelRegistry().install(tmp_path / "nothing.onnx")


def test_a_broken_card_is_listed_as_a_problem_not_a_crash(private_home):
    folder = private_home / "models" / "installed" / "x" / "1"
    folder.mkdir(parents=True)
    (folder / "x-1.onnx").write_bytes(b"junk")
    (folder / "x-1.json").write_text("{not json")
    reg = ModelRegistry()
    assert all(e.card.name != "x" for e in reg.entries())
    assert any("x-1.onnx" in p for p in reg.problems)


def test_unknown_model_lists_what_exists():
    with pytest.raises(ModelError, match=BUNDLED_SPEC):
        ModelRegistry().find("nope@9")


def test_version_order():
    assert version_key("1.10.0") > version_key("1.9.3") > version_key("1.9")


def test_a_removed_active_model_falls_back_to_the_default_and_says_so(tmp_path):
    reg = ModelRegistry()
    entry = reg.install(write_model(tmp_path / "src"))
    reg.use(entry.spec)
    for f in entry.onnx_path.parent.iterdir():
        f.unlink()
    assert reg.active("temperature").spec == BUNDLED_SPEC
    assert any("missing" in p for p in reg.problems)


def test_install_from_the_card_path(tmp_path):
    path = write_model(tmp_path / "src")
    entry = ModelRegistry().install(path.with_suffix(".json"))
    assert entry.spec == "toy@1.0.0" and entry.origin == "user"
