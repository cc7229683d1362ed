"""A model card cannot steer ``models install`` outside the models folder, and a model
lands together with its card or not at all."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from desktop_app.errors import ModelError, WriteError
from desktop_app.inference.registry import ModelRegistry
from tests.fsfaults import full_folder, leave_free
from tests.inference.helpers import write_model


@pytest.mark.parametrize(("key", "value"), [("name", "../../../evil"),
                                            ("version", "../../../../x"),
                                            ("name", "/tmp/abs"), ("version", "..")])
def test_a_card_naming_a_path_is_refused(tmp_path: Path, private_home: Path, key: str,
                                         value: str) -> None:
    onnx_path = write_model(tmp_path / "src")
    card_path = onnx_path.with_suffix(".json")
    card = json.loads(card_path.read_text())
    card[key] = value
    card_path.write_text(json.dumps(card))
    with pytest.raises(ModelError, match=f"{key} .* cannot be used in a file name"):
        ModelRegistry().install(onnx_path)
    written = {p for p in tmp_path.rglob("*") if p.is_file()}
    assert written == {onnx_path, card_path}  # nothing new anywhere under tmp_path


def test_a_full_disk_leaves_no_model_without_its_card(tmp_path: Path) -> None:
    onnx_path = write_model(tmp_path / "src")
    with full_folder(tmp_path) as folder:
        leave_free(folder, 1)  # room for the model, not for its card after it
        registry = ModelRegistry(user_dir=folder)
        with pytest.raises(WriteError, match="no space left on device writing"):
            registry.install(onnx_path)
        assert not [p for p in folder.rglob("*") if p.is_file()
                    and not p.name.startswith(".filler")]
