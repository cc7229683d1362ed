"""Fine-tuning through the trainer service on loopback: the base model is uploaded with
the data, the job tunes it and its card carries the gate. Sample region: real terrain,
GENERATED weather and stations (the numbers test the code, not a model)."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

pytest.importorskip("torch", reason="the trainer needs torch (the [train] extra)")
pytest.importorskip("uvicorn", reason="the service needs the [train] extra")

from desktop_app.errors import TrainerServiceError  # noqa: E402
from desktop_app.trainer_client import TrainerClient  # noqa: E402
from desktop_app.training.config import load_config  # noqa: E402
from desktop_app.training.export import export_run  # noqa: E402
from desktop_app.training.trainer import start  # noqa: E402

from .finetune_helpers import REGION, write_base_config, write_finetune_config  # noqa: E402
from .test_service import TOKEN, LoopbackServer  # noqa: E402


def test_finetune_job_with_an_uploaded_base(tmp_path: Path) -> None:
    trainer = start(load_config(write_base_config(tmp_path, tmp_path / "mlruns")),
                    tmp_path / "base")
    trainer.run()
    base = export_run(trainer).onnx_path
    config = tomllib.loads(write_finetune_config(tmp_path, tmp_path / "x", steps=4)
                           .read_text())
    for key in ("coarse", "fine"):
        del config["data"][key]
    srv = LoopbackServer(tmp_path / "state")
    try:
        with TrainerClient(srv.url, TOKEN) as client:
            dataset = client.upload_dataset(REGION / "coarse.nc", REGION / "terrain.nc",
                                            stations=REGION / "stations.nc",
                                            base_model=base)
            with pytest.raises(TrainerServiceError, match="track.uri") as err:
                client.submit(config, dataset_id=dataset)  # a server folder: refused
            assert err.value.status == 400
            del config["track"]
            job = client.submit(config, dataset_id=dataset)
            assert job["config"]["finetune"]["base_spec"] == "tiny-base@1.0.0"
            assert job["config"]["data"]["features"] == [
                f["name"] for f in json.loads(base.with_suffix(".json").read_text())[
                    "input"]["features"]]
            done = client.wait(job["id"], poll_s=0.2, timeout_s=300)
            assert done["state"] == "done", client.log(job["id"])[0]
            log = client.log(job["id"])[0]
            onnx_path = client.download_model(job["id"], tmp_path / "dl")
    finally:
        srv.stop()
    assert "fine-tuning 37 of 405 parameters (net.4.weight, net.4.bias)" in log
    card = json.loads(onnx_path.with_suffix(".json").read_text())
    assert card["name"] == "tiny-base" and card["version"].startswith("1.0.0-ft.")
    gate = card["metrics"]["gate"]
    assert gate["base"] == "tiny-base@1.0.0" and gate["n"] > 0
    assert card["metrics"]["finetune"]["parameters_trained"] == 37
