"""The trainer job service: a small authenticated HTTP API over the trainer.

Every route but ``GET /health`` needs ``Authorization: Bearer <token>`` (compared in
constant time). Routes::

    GET  /health                         liveness, no auth
    POST /datasets                       new upload folder -> {"id"}
    PUT  /datasets/{id}/{coarse|fine|stations}  raw NetCDF body, streamed, size-limited
    PUT  /datasets/{id}/{base_model|base_card}  the installed model to fine-tune (ONNX,
                                         card JSON): the job is then a fine-tune
    POST /jobs                           {"config": {...}, "dataset_id"} or
                                         {"config": {...}, "coarse_path", "fine_path"
                                          [, "stations_path"]}
    GET  /jobs, GET /jobs/{id}           state, progress (404 for an unknown id)
    GET  /jobs/{id}/log?offset=N&follow= the job's log from byte N (follow: stream on)
    POST /jobs/{id}/cancel
    GET  /jobs/{id}/model                zip of the exported ONNX model and its card

Server paths must lie inside a ``--data-root``; uploads are written atomically under the
service's state folder with fixed names, never a client-chosen path. So a config may not
name files itself (``data.coarse``/``fine``/``stations``/``station_qc``): a station file
comes as an upload or a checked server path; one without QC flags gets the default QC.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import re
import uuid
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Literal

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, ValidationError

from desktop_app import __version__
from desktop_app.errors import MicroclimateError
from desktop_app.fsutil import atomic_path, folder_lock
from desktop_app.training.config import parse_config
from desktop_app.training.jobstore import TERMINAL, JobStore
from desktop_app.training.worker import JobWorker, end_orphans, job_dir, model_files
from desktop_app.validation import INT64_MAX, check_bearer, loads_finite

DEFAULT_MAX_UPLOAD_BYTES = 2 * 1024**3
DEFAULT_MAX_DATASETS = 100  # upload folders a client may hold at once (disk, inodes)
MAX_JSON_BYTES = 1024 * 1024  # a job request is a config, never data
_ID = re.compile(r"^[0-9a-f]{32}$")


class JobRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    config: dict[str, Any]
    dataset_id: str | None = None
    coarse_path: str | None = None
    fine_path: str | None = None
    stations_path: str | None = None


FILE_KEYS = ("coarse", "fine", "stations", "station_qc")
# what an upload role is stored as (fixed names, never the client's)
UPLOAD_NAMES = {"coarse": "coarse.nc", "fine": "fine.nc", "stations": "stations.nc",
                "base_model": "base.onnx", "base_card": "base.json"}
# config keys naming files or folders on the server: set by the service, never a client
SERVER_KEYS = {"finetune": ("base",), "track": ("uri",)}


class TrainerService:
    def __init__(self, state_dir: Path, token: str, *, data_roots: list[Path] | None = None,
                 max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES,
                 max_datasets: int = DEFAULT_MAX_DATASETS) -> None:
        if len(token) < 16:
            raise MicroclimateError("the trainer token must be at least 16 characters")
        self.state_dir = Path(state_dir)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        # one service per state folder: a second one would run every job twice
        self._held = contextlib.ExitStack()
        self._held.enter_context(folder_lock(self.state_dir, "the trainer state folder",
                                             MicroclimateError))
        self.token = token.encode("utf-8")
        self.data_roots = [Path(r).resolve() for r in (data_roots or [])]
        self.max_upload_bytes = max_upload_bytes
        self.max_datasets = max_datasets
        self.store = JobStore(self.state_dir / "jobs.sqlite")
        self.orphans_ended = end_orphans(self.store, self.state_dir)
        self.store.recover()  # jobs a crash left running are queued again
        self.worker = JobWorker(self.store, self.state_dir)

    def start(self) -> None:
        self.worker.start()

    def stop(self) -> None:
        self.worker.stop()
        self.store.close()
        self._held.close()

    # -- checks ---------------------------------------------------------------------------
    def check_token(self, request: Request) -> None:
        check_bearer(request.headers.get("authorization", ""), self.token, HTTPException)

    def server_path(self, value: str) -> str:
        if not self.data_roots:
            raise HTTPException(403, "server paths are disabled: start the service with "
                                     "--data-root DIR to allow files under DIR")
        try:
            path = Path(value).resolve(strict=True)
        except (OSError, RuntimeError):
            raise HTTPException(400, f"no such file on the server: {value}") from None
        if not any(path.is_relative_to(root) for root in self.data_roots):
            raise HTTPException(403, f"{value} is outside the allowed data roots")
        if not path.is_file():
            raise HTTPException(400, f"not a file: {value}")
        return str(path)

    def dataset_dir(self, dataset_id: str) -> Path:
        folder = self.state_dir / "datasets" / dataset_id
        if not _ID.match(dataset_id) or not folder.is_dir():
            raise HTTPException(404, f"no dataset {dataset_id!r}")
        return folder

    def job(self, job_id: str) -> dict[str, Any]:
        job = self.store.get(job_id) if _ID.match(job_id) else None
        if job is None:
            raise HTTPException(404, f"no job {job_id!r}")
        progress_path = job_dir(self.state_dir, job_id) / "run" / "progress.json"
        try:
            job["progress"] = json.loads(progress_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            job["progress"] = None
        job["has_model"] = bool(model_files(self.state_dir, job_id))
        return job

    # -- actions --------------------------------------------------------------------------
    async def upload(self, dataset_id: str, role: str, request: Request) -> dict[str, Any]:
        folder = self.dataset_dir(dataset_id)
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > \
                self.max_upload_bytes:
            raise HTTPException(413, f"upload of {declared} bytes is over the limit of "
                                     f"{self.max_upload_bytes} bytes")
        total = 0
        with atomic_path(folder / UPLOAD_NAMES[role]) as tmp, open(tmp, "wb") as handle:
            async for chunk in request.stream():
                total += len(chunk)
                if total > self.max_upload_bytes:
                    raise HTTPException(413, f"upload is over the limit of "
                                             f"{self.max_upload_bytes} bytes")
                handle.write(chunk)
        return {"id": dataset_id, "role": role, "bytes": total}

    def new_dataset(self) -> dict[str, str]:
        root = self.state_dir / "datasets"
        held = sum(1 for p in root.iterdir() if p.is_dir()) if root.is_dir() else 0
        if held >= self.max_datasets:
            raise HTTPException(507, f"the service holds {held} datasets, its limit; "
                                     "ask its operator to remove old ones")
        dataset_id = uuid.uuid4().hex
        (root / dataset_id).mkdir(parents=True)
        return {"id": dataset_id}

    async def job_request(self, request: Request) -> JobRequest:
        """The body of ``POST /jobs``: at most ``MAX_JSON_BYTES``, strict JSON (no NaN or
        Infinity, which would be stored and then break every later answer)."""
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_JSON_BYTES:
                raise HTTPException(413, f"a job request is limited to {MAX_JSON_BYTES} "
                                         "bytes")
        try:
            data = loads_finite(body, "the job request")
            return JobRequest.model_validate(data)
        except MicroclimateError as exc:
            raise HTTPException(422, str(exc)) from exc
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first.get("loc", ())) or "body"
            raise HTTPException(422, f"job request {where}: {first.get('msg')}") from exc

    def submit(self, body: JobRequest) -> dict[str, Any]:
        config = json.loads(json.dumps(body.config))
        data = config.setdefault("data", {})
        if not isinstance(data, dict) or any(k in data for k in FILE_KEYS):
            raise HTTPException(400, "give the data as dataset_id or coarse_path/fine_path"
                                     "/stations_path, not as data.coarse/fine/stations/"
                                     "station_qc in the config")
        for section, keys in SERVER_KEYS.items():
            given = config.get(section)
            if isinstance(given, dict) and any(k in given for k in keys):
                raise HTTPException(400, f"{section}.{'/'.join(keys)} names a file on the "
                                         "server; upload a base model (base_model, "
                                         "base_card) to fine-tune it")
        base: Path | None = None
        if body.dataset_id is not None:
            folder = self.dataset_dir(body.dataset_id)
            for role in ("coarse", "fine"):
                if not (folder / f"{role}.nc").is_file():
                    raise HTTPException(400, f"dataset {body.dataset_id} has no {role} "
                                             "file uploaded")
                data[role] = str(folder / f"{role}.nc")
            if (folder / "stations.nc").is_file():
                data["stations"] = str(folder / "stations.nc")
            if (folder / "base.onnx").is_file() != (folder / "base.json").is_file():
                raise HTTPException(400, f"dataset {body.dataset_id}: a base model needs "
                                         "both base_model (ONNX) and base_card (JSON)")
            if (folder / "base.onnx").is_file():
                base = folder / "base.onnx"
        elif body.coarse_path and body.fine_path:
            data["coarse"] = self.server_path(body.coarse_path)
            data["fine"] = self.server_path(body.fine_path)
            if body.stations_path:
                data["stations"] = self.server_path(body.stations_path)
        else:
            raise HTTPException(400, "a job needs dataset_id, or coarse_path and fine_path")
        try:
            parsed = parse_config(config)
            if base is not None:
                from desktop_app.training.finetune import finetune_config

                spec = json.loads(base.with_suffix(".json").read_text(encoding="utf-8"))
                parsed = finetune_config(parsed, base, f"{spec.get('name')}@"
                                         f"{spec.get('version')}", None)
        except (MicroclimateError, OSError, ValueError) as exc:
            raise HTTPException(422, str(exc)) from exc
        dataset = {"dataset_id": body.dataset_id, "coarse": data["coarse"],
                   "fine": data["fine"]}
        return self.job(self.store.create(parsed.to_dict(), dataset))

    def model_zip(self, job_id: str) -> bytes:
        job = self.job(job_id)
        files = model_files(self.state_dir, job_id)
        if job["state"] != "done" or not files:
            raise HTTPException(409, f"job {job_id} has no exported model (state "
                                     f"{job['state']})")
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in files:
                archive.write(path, path.name)
        return buffer.getvalue()


def create_app(service: TrainerService) -> FastAPI:
    # no /docs, /redoc, /openapi.json: they would answer without the token
    app = FastAPI(title="microclimate trainer", version=__version__, openapi_url=None,
                  docs_url=None, redoc_url=None)
    auth = [Depends(service.check_token)]

    @app.exception_handler(MicroclimateError)
    async def _app_error(request: Request, exc: MicroclimateError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=400)

    @app.get("/health")
    def health() -> dict[str, Any]:
        return {"status": "ok", "version": __version__}

    @app.post("/datasets", dependencies=auth)
    def new_dataset() -> dict[str, str]:
        return service.new_dataset()

    @app.put("/datasets/{dataset_id}/{role}", dependencies=auth)
    async def upload(dataset_id: str,
                     role: Literal["coarse", "fine", "stations", "base_model", "base_card"],
                     request: Request) -> dict[str, Any]:
        return await service.upload(dataset_id, role, request)

    @app.post("/jobs", dependencies=auth)
    async def submit(request: Request) -> dict[str, Any]:
        body = await service.job_request(request)
        return await asyncio.to_thread(service.submit, body)

    @app.get("/jobs", dependencies=auth)
    def jobs() -> list[dict[str, Any]]:
        return [service.job(j["id"]) for j in service.store.list()]

    @app.get("/jobs/{job_id}", dependencies=auth)
    def job(job_id: str) -> dict[str, Any]:
        return service.job(job_id)

    @app.post("/jobs/{job_id}/cancel", dependencies=auth)
    def cancel(job_id: str) -> dict[str, Any]:
        service.job(job_id)
        service.store.request_cancel(job_id)
        return service.job(job_id)

    @app.get("/jobs/{job_id}/log", dependencies=auth)
    def log(job_id: str, offset: int = Query(0, ge=0, le=INT64_MAX),
            follow: bool = False) -> Response:
        service.job(job_id)
        path = job_dir(service.state_dir, job_id) / "log.txt"

        def read(start: int) -> bytes:
            try:
                with open(path, "rb") as handle:
                    handle.seek(start)
                    return handle.read()
            except OSError:
                return b""

        if not follow:
            data = read(max(0, offset))
            return Response(data, media_type="text/plain; charset=utf-8",
                            headers={"X-Next-Offset": str(max(0, offset) + len(data))})

        async def tail() -> AsyncIterator[bytes]:
            position = max(0, offset)
            while True:
                chunk = read(position)
                position += len(chunk)
                if chunk:
                    yield chunk
                elif service.job(job_id)["state"] in TERMINAL:
                    return
                else:
                    await asyncio.sleep(0.5)

        return StreamingResponse(tail(), media_type="text/plain; charset=utf-8")

    @app.get("/jobs/{job_id}/model", dependencies=auth)
    def model(job_id: str) -> Response:
        return Response(service.model_zip(job_id), media_type="application/zip",
                        headers={"Content-Disposition": f'attachment; filename="{job_id}.zip"'})

    return app


def serve(host: str, port: int, token: str, state_dir: Path, *,
          data_roots: list[Path] | None = None,
          max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES) -> None:
    """Run the service until interrupted (blocking)."""
    import uvicorn

    service = TrainerService(state_dir, token, data_roots=data_roots,
                             max_upload_bytes=max_upload_bytes)
    service.start()
    try:
        uvicorn.run(create_app(service), host=host, port=port, log_level="info")
    finally:
        service.stop()
