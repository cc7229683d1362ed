"""The trainer service's edges: no unauthenticated schema or docs, a cap on datasets and
on the job request body, strict JSON (no NaN), its database private to its user."""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="the service needs the [train] extra")
from fastapi.testclient import TestClient  # noqa: E402

from desktop_app.training.service import (  # noqa: E402
    MAX_JSON_BYTES,
    TrainerService,
    create_app,
)

TOKEN = "test-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def service(tmp_path: Path) -> Iterator[TrainerService]:
    svc = TrainerService(tmp_path / "state", TOKEN, max_datasets=2)  # worker not started
    yield svc
    svc.stop()


@pytest.fixture
def client(service: TrainerService) -> Iterator[TestClient]:
    with TestClient(create_app(service)) as c:
        yield c


@pytest.mark.parametrize("path", ["/openapi.json", "/docs", "/redoc", "/docs/oauth2-redirect"])
def test_schema_and_docs_do_not_answer_without_the_token(client: TestClient,
                                                         path: str) -> None:
    for headers in ({}, AUTH):
        response = client.get(path, headers=headers)
        assert response.status_code in (401, 404), path
        assert "openapi" not in response.text and "/jobs" not in response.text


def test_datasets_are_capped(client: TestClient, service: TrainerService) -> None:
    for _ in range(2):
        assert client.post("/datasets", headers=AUTH).status_code == 200
    refused = client.post("/datasets", headers=AUTH)
    assert refused.status_code == 507 and "limit" in refused.json()["detail"]
    assert len(list((service.state_dir / "datasets").iterdir())) == 2


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_non_finite_numbers_in_a_job_are_422(client: TestClient, number: str) -> None:
    body = ('{"config": {"train": {"lr": NUMBER}}, "coarse_path": "a", "fine_path": "b"}'
            .replace("NUMBER", number))
    response = client.post("/jobs", content=body, headers={
        **AUTH, "Content-Type": "application/json"})
    assert response.status_code == 422
    assert "job request" in response.json()["detail"]
    assert client.get("/jobs", headers=AUTH).json() == []


def test_a_huge_job_request_is_413(client: TestClient) -> None:
    body = json.dumps({"config": {"export": {"description": "x" * (MAX_JSON_BYTES + 1)}}})
    response = client.post("/jobs", content=body, headers=AUTH)
    assert response.status_code == 413


def test_a_malformed_job_request_is_422_naming_the_field(client: TestClient) -> None:
    response = client.post("/jobs", json={"config": {}, "extra": 1}, headers=AUTH)
    assert response.status_code == 422 and "extra" in response.json()["detail"]


def test_huge_log_offset_is_422(client: TestClient) -> None:
    job = "0" * 32
    response = client.get(f"/jobs/{job}/log", params={"offset": 2**70}, headers=AUTH)
    assert response.status_code == 422


def test_the_job_database_is_private(service: TrainerService) -> None:
    mode = stat.S_IMODE(service.store.path.stat().st_mode)
    assert mode == 0o600, oct(mode)


def test_an_export_name_that_is_a_path_is_422(client: TestClient, tmp_path: Path) -> None:
    """The export name becomes the model's file name in the job folder: ``../`` would
    write anywhere the service's user can."""
    body = {"config": {"export": {"name": "../../../../tmp/evil"}}, "dataset_id": None,
            "coarse_path": "a", "fine_path": "b"}
    response = client.post("/jobs", json=body, headers=AUTH)
    # refused before any job exists: by the path check (403, no data roots) or the name
    assert response.status_code in (403, 422)
    data = tmp_path / "data"
    data.mkdir()
    for name in ("c.nc", "f.nc"):
        (data / name).write_bytes(b"x")
    svc = TrainerService(tmp_path / "state2", TOKEN, data_roots=[data])
    try:
        with TestClient(create_app(svc)) as c2:
            body = {"config": {"export": {"name": "../../../../tmp/evil"}},
                    "coarse_path": str(data / "c.nc"), "fine_path": str(data / "f.nc")}
            response = c2.post("/jobs", json=body, headers=AUTH)
            assert response.status_code == 422
            assert "export.name" in response.json()["detail"]
            assert c2.get("/jobs", headers=AUTH).json() == []
    finally:
        svc.stop()
