"""Client for the trainer job service, for the GUI and scripts (no torch needed).

    client = TrainerClient("http://127.0.0.1:8765", token)
    dataset = client.upload_dataset(coarse_nc, fine_nc)
    job = client.submit(config_dict, dataset_id=dataset)
    client.wait(job["id"], on_progress=print)
    onnx_path = client.download_model(job["id"], dest_dir)

Every failure is a :class:`TrainerServiceError` with the HTTP status (401 wrong token,
404 unknown job, 413 upload too large, ...) and the service's message.
"""

from __future__ import annotations

import io
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

from desktop_app.errors import CancelledError, TrainerServiceError
from desktop_app.fsutil import atomic_path

TERMINAL = ("done", "failed", "cancelled")


class TrainerClient:
    def __init__(self, base_url: str, token: str, *, timeout: float = 30.0,
                 client: httpx.Client | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._client = client or httpx.Client(timeout=httpx.Timeout(timeout))
        self._headers = {"Authorization": f"Bearer {token}"}

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> TrainerClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            headers = {**self._headers, **kwargs.pop("headers", {})}
            response = self._client.request(method, self.base_url + path,
                                            headers=headers, **kwargs)
        except httpx.HTTPError as exc:
            raise TrainerServiceError(f"trainer service at {self.base_url} not reachable: "
                                      f"{exc}") from exc
        if response.status_code >= 400:
            try:
                detail = response.json().get("detail", response.text)
            except ValueError:
                detail = response.text
            raise TrainerServiceError(f"trainer service: {response.status_code} {detail}",
                                      status=response.status_code)
        return response

    def health(self) -> dict[str, Any]:
        result: dict[str, Any] = self._request("GET", "/health").json()
        return result

    def upload_dataset(self, coarse: Path, fine: Path, stations: Path | None = None,
                       base_model: Path | None = None) -> str:
        """Upload the coarse and fine NetCDF files (and a station file for station
        targets; and, to fine-tune, an installed model's ONNX with its card beside it);
        returns the dataset id."""
        dataset_id: str = self._request("POST", "/datasets").json()["id"]
        files = [("coarse", coarse), ("fine", fine)]
        if stations is not None:
            files.append(("stations", stations))
        if base_model is not None:
            files += [("base_model", Path(base_model)),
                      ("base_card", Path(base_model).with_suffix(".json"))]
        for role, path in files:
            with open(path, "rb") as handle:
                self._request("PUT", f"/datasets/{dataset_id}/{role}", content=handle,
                              headers={"Content-Length": str(Path(path).stat().st_size)})
        return dataset_id

    def submit(self, config: dict[str, Any], *, dataset_id: str | None = None,
               coarse_path: str | None = None, fine_path: str | None = None,
               stations_path: str | None = None) -> dict[str, Any]:
        """Submit a job: an uploaded dataset, or files on the server (under its
        --data-root). ``config`` is the training config without data file paths."""
        body = {"config": config, "dataset_id": dataset_id, "coarse_path": coarse_path,
                "fine_path": fine_path, "stations_path": stations_path}
        result: dict[str, Any] = self._request("POST", "/jobs", json=body).json()
        return result

    def jobs(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._request("GET", "/jobs").json()
        return result

    def status(self, job_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._request("GET", f"/jobs/{job_id}").json()
        return result

    def cancel(self, job_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._request("POST", f"/jobs/{job_id}/cancel").json()
        return result

    def log(self, job_id: str, offset: int = 0) -> tuple[str, int]:
        """The log from byte ``offset`` and the offset to ask for next time."""
        response = self._request("GET", f"/jobs/{job_id}/log", params={"offset": offset})
        return response.text, int(response.headers.get("X-Next-Offset", offset))

    def stream_log(self, job_id: str, offset: int = 0) -> Iterator[str]:
        """Log text as it is written, until the job ends."""
        try:
            with self._client.stream("GET", f"{self.base_url}/jobs/{job_id}/log",
                                     params={"offset": offset, "follow": True},
                                     headers=self._headers, timeout=None) as response:
                if response.status_code >= 400:
                    response.read()
                    raise TrainerServiceError(f"trainer service: {response.status_code} "
                                              f"{response.text}", status=response.status_code)
                yield from response.iter_text()
        except httpx.HTTPError as exc:
            raise TrainerServiceError(f"log stream from {self.base_url} broke: {exc}") from exc

    def wait(self, job_id: str, *, poll_s: float = 1.0, timeout_s: float | None = None,
             on_progress: Callable[[dict[str, Any]], None] | None = None,
             cancel: Callable[[], bool] | None = None) -> dict[str, Any]:
        """Poll until the job ends; ``cancel()`` returning True cancels the job."""
        start = time.monotonic()
        while True:
            job = self.status(job_id)
            if on_progress is not None:
                on_progress(job)
            if job["state"] in TERMINAL:
                return job
            if cancel is not None and cancel():
                self.cancel(job_id)
                raise CancelledError(f"trainer job {job_id} cancelled")
            if timeout_s is not None and time.monotonic() - start > timeout_s:
                raise TrainerServiceError(f"trainer job {job_id} still {job['state']} after "
                                          f"{timeout_s:.0f} s")
            time.sleep(poll_s)

    def download_model(self, job_id: str, dest_dir: Path) -> Path:
        """Download the exported model and card into ``dest_dir``; returns the .onnx path
        (ready for ``ModelRegistry().install``)."""
        data = self._request("GET", f"/jobs/{job_id}/model").content
        dest_dir = Path(dest_dir)
        onnx_path: Path | None = None
        try:
            archive = zipfile.ZipFile(io.BytesIO(data))
        except zipfile.BadZipFile as exc:
            raise TrainerServiceError(f"job {job_id}: the model download is damaged") from exc
        with archive:
            for name in archive.namelist():
                if Path(name).name != name or not name.endswith((".onnx", ".json")):
                    raise TrainerServiceError(f"job {job_id}: unexpected file {name!r} in "
                                              "the model download")
                with atomic_path(dest_dir / name) as tmp:
                    tmp.write_bytes(archive.read(name))
                if name.endswith(".onnx"):
                    onnx_path = dest_dir / name
        if onnx_path is None:
            raise TrainerServiceError(f"job {job_id}: the download holds no .onnx file")
        return onnx_path

