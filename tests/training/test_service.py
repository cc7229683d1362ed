"""The trainer job service end to end on loopback (127.0.0.1), with the real client:
upload, submit, poll, log, download, cancel, auth and size errors, restart."""

from __future__ import annotations

import socket
import threading
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

pytest.importorskip("torch", reason="the trainer needs torch (the [train] extra)")
uvicorn = pytest.importorskip("uvicorn", reason="the service needs the [train] extra")

from desktop_app.errors import TrainerServiceError  # noqa: E402
from desktop_app.inference.registry import ModelRegistry  # noqa: E402
from desktop_app.trainer_client import TrainerClient  # noqa: E402
from desktop_app.training.service import TrainerService, create_app  # noqa: E402

from .conftest import TINY_CONFIG, make_dataset  # noqa: E402

TOKEN = "test-token-0123456789abcdef"


class LoopbackServer:
    def __init__(self, state_dir: Path, **kwargs: Any) -> None:
        self.service = TrainerService(state_dir, TOKEN, **kwargs)
        self.service.start()
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        config = uvicorn.Config(create_app(self.service), host="127.0.0.1", port=port,
                                log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.05)
        self.url = f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(20)
        self.service.stop()


def tiny_job_config(steps: int = 4) -> dict[str, Any]:
    cfg = tomllib.loads(TINY_CONFIG.format(steps=steps, checkpoint_every=2))
    del cfg["data"]["coarse"], cfg["data"]["fine"]
    return cfg


@pytest.fixture
def data(tmp_path: Path) -> Path:
    make_dataset(tmp_path / "data")
    return tmp_path / "data"


@pytest.fixture
def server(tmp_path: Path, data: Path) -> Iterator[LoopbackServer]:
    srv = LoopbackServer(tmp_path / "state", data_roots=[data], max_upload_bytes=400_000)
    yield srv
    srv.stop()


def test_auth_on_every_route_but_health(server: LoopbackServer) -> None:
    assert httpx.get(server.url + "/health").json()["status"] == "ok"
    for method, path in (("GET", "/jobs"), ("POST", "/datasets"), ("GET", "/jobs/x"),
                         ("POST", "/jobs"), ("GET", "/jobs/x/model")):
        assert httpx.request(method, server.url + path).status_code == 401
        r = httpx.request(method, server.url + path,
                          headers={"Authorization": "Bearer wrong-token-wrong-token"})
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    with TrainerClient(server.url, "nope-nope-nope-nope") as bad, \
            pytest.raises(TrainerServiceError) as err:
        bad.jobs()
    assert err.value.status == 401


def test_unknown_job_and_dataset_are_404(server: LoopbackServer) -> None:
    with TrainerClient(server.url, TOKEN) as client:
        for job_id in ("0" * 32, "../../etc"):
            with pytest.raises(TrainerServiceError) as err:
                client.status(job_id)
            assert err.value.status == 404
        with pytest.raises(TrainerServiceError) as err:
            client.submit(tiny_job_config(), dataset_id="f" * 32)
        assert err.value.status == 404


def test_oversized_upload_is_413(server: LoopbackServer, tmp_path: Path) -> None:
    big = tmp_path / "big.nc"
    big.write_bytes(b"\0" * 500_000)
    with TrainerClient(server.url, TOKEN) as client, \
            pytest.raises(TrainerServiceError) as err:
        client.upload_dataset(big, big)
    assert err.value.status == 413
    assert not list((server.service.state_dir / "datasets").rglob("*.nc"))
    # a lying Content-Length does not get past the limit either
    dataset = httpx.post(server.url + "/datasets",
                         headers={"Authorization": f"Bearer {TOKEN}"}).json()["id"]

    def body() -> Iterator[bytes]:
        for _ in range(50):
            yield b"\0" * 10_000

    r = httpx.put(f"{server.url}/datasets/{dataset}/coarse", content=body(),
                  headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 413


def test_server_paths_are_checked(server: LoopbackServer, data: Path,
                                  tmp_path: Path) -> None:
    outside = tmp_path / "outside.nc"
    outside.write_bytes(b"x")
    with TrainerClient(server.url, TOKEN) as client:
        for coarse in (str(outside), str(data / ".." / "outside.nc"), "/etc/passwd"):
            with pytest.raises(TrainerServiceError) as err:
                client.submit(tiny_job_config(), coarse_path=coarse,
                              fine_path=str(data / "fine.nc"))
            assert err.value.status == 403
        with pytest.raises(TrainerServiceError) as err:
            client.submit({**tiny_job_config(), "train": {"stepz": 1}},
                          coarse_path=str(data / "coarse.nc"), fine_path=str(data / "fine.nc"))
        assert err.value.status == 422 and "train.stepz" in str(err.value)
        # a config may not name server files itself, a station file neither
        for key in ("stations", "station_qc"):
            bad = tiny_job_config()
            bad["data"][key] = "/etc/passwd"
            with pytest.raises(TrainerServiceError) as err:
                client.submit(bad, coarse_path=str(data / "coarse.nc"),
                              fine_path=str(data / "fine.nc"))
            assert err.value.status == 400 and "stations_path" in str(err.value)
        with pytest.raises(TrainerServiceError) as err:
            client.submit(tiny_job_config(), coarse_path=str(data / "coarse.nc"),
                          fine_path=str(data / "fine.nc"), stations_path=str(outside))
        assert err.value.status == 403


def test_station_target_job_by_upload(tmp_path: Path) -> None:
    """The sample region (real terrain, GENERATED weather) with its unflagged station file
    uploaded: the service's job runs QC, trains on station targets, scores test stations."""
    import json

    from .test_station_targets import CONFIG, REGION

    config = tomllib.loads(CONFIG.format(region=REGION, stations="x", seed=3,
                                         data_extra=""))
    for key in ("coarse", "fine", "stations"):
        del config["data"][key]
    srv = LoopbackServer(tmp_path / "state")
    try:
        with TrainerClient(srv.url, TOKEN) as client:
            dataset = client.upload_dataset(REGION / "coarse.nc", REGION / "terrain.nc",
                                            stations=REGION / "stations.nc")
            job = client.submit(config, dataset_id=dataset)
            done = client.wait(job["id"], poll_s=0.2, timeout_s=120)
            assert done["state"] == "done", client.log(job["id"])[0]
            onnx_path = client.download_model(job["id"], tmp_path / "dl")
    finally:
        srv.stop()
    card = json.loads(onnx_path.with_suffix(".json").read_text())
    split = card["metrics"]["split"]
    assert split["station_qc"].startswith("run_qc") and split["station_counts"][
        "accepted"] == 420
    assert [r["station_id"] for r in card["metrics"]["stations"]["per_station"]] == split[
        "test_stations"]


def test_upload_submit_poll_download_and_restart(tmp_path: Path, data: Path) -> None:
    state = tmp_path / "state"
    srv = LoopbackServer(state, data_roots=[data])
    try:
        with TrainerClient(srv.url, TOKEN) as client:
            dataset = client.upload_dataset(data / "coarse.nc", data / "fine.nc")
            job = client.submit(tiny_job_config(), dataset_id=dataset)
            assert job["state"] in ("queued", "running")
            seen: list[str] = []
            done = client.wait(job["id"], poll_s=0.2, timeout_s=120,
                               on_progress=lambda j: seen.append(j["state"]))
            assert done["state"] == "done", client.log(job["id"])[0]
            assert done["progress"]["step"] == 4 and done["has_model"]
            text, offset = client.log(job["id"])
            assert "step 4/4" in text and "parity max abs error" in text
            assert client.log(job["id"], offset) == ("", offset)
            assert "step 4/4" in "".join(client.stream_log(job["id"]))
            onnx_path = client.download_model(job["id"], tmp_path / "dl")
            # a second job, still queued or running when the service stops
            second = client.submit(tiny_job_config(), coarse_path=str(data / "coarse.nc"),
                                   fine_path=str(data / "fine.nc"))
    finally:
        srv.stop()
    registry = ModelRegistry(bundled_dir=tmp_path / "none", user_dir=tmp_path / "user")
    assert registry.install(onnx_path).card.trained
    srv = LoopbackServer(state, data_roots=[data])  # restart: nothing lost
    try:
        with TrainerClient(srv.url, TOKEN) as client:
            assert client.status(job["id"])["state"] == "done"
            assert client.download_model(job["id"], tmp_path / "dl2").exists()
            again = client.wait(second["id"], poll_s=0.2, timeout_s=120)
            assert again["state"] == "done", client.log(second["id"])[0]
    finally:
        srv.stop()


def test_cancel_a_running_job(server: LoopbackServer, data: Path) -> None:
    with TrainerClient(server.url, TOKEN) as client:
        job = client.submit(tiny_job_config(steps=1_000_000),
                            coarse_path=str(data / "coarse.nc"),
                            fine_path=str(data / "fine.nc"))
        deadline = time.monotonic() + 60
        while client.status(job["id"])["state"] != "running":
            assert time.monotonic() < deadline
            time.sleep(0.1)
        client.cancel(job["id"])
        final = client.wait(job["id"], poll_s=0.2, timeout_s=60)
        assert final["state"] == "cancelled"
        with pytest.raises(TrainerServiceError) as err:
            client.download_model(job["id"], Path("unused"))
        assert err.value.status == 409
