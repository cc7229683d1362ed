"""Training-run tracking in an MLflow-compatible local store (a folder).

Every training and fine-tuning run gets a run in the store: its parameters (the resolved
config, flattened ``section.key``), its metrics per evaluation step (the rows of
``metrics.csv``), tags (kind, base model, run folder, the exported ``NAME@VERSION``) and,
once exported, the ONNX and its card as artifacts under ``model/``.

The layout is MLflow's file store (``<root>/<experiment id>/meta.yaml``,
``<root>/<experiment id>/<run id>/{meta.yaml, params/, metrics/, tags/, artifacts/}``,
metric files of ``timestamp value step`` lines). With MLflow installed (the ``[track]``
extra, ``mlflow-skinny``) the runs are written through ``mlflow.tracking.MlflowClient``;
without it the same files are written here, so the record never depends on the extra.
MLflow 3 keeps its file store in maintenance mode and refuses it unless
``MLFLOW_ALLOW_FILE_STORE=true`` (set here for the client; set it too for
``mlflow ui --backend-store-uri <root>``). :func:`list_runs` reads the store without
MLflow (the Models panel lists the runs behind each model with it).
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import os
import shutil
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from desktop_app import paths
from desktop_app.errors import MicroclimateError
from desktop_app.fsutil import atomic_write_bytes

STATUS = {"RUNNING": 1, "SCHEDULED": 2, "FINISHED": 3, "FAILED": 4, "KILLED": 5}
STATUS_NAME = {v: k for k, v in STATUS.items()}
RUN_FILE = "tracking.json"  # in the run folder: which tracked run it is (for resume)


class TrackingError(MicroclimateError):
    """The run store cannot be written or read."""


def default_root() -> Path:
    return paths.tracking_dir()


def _now_ms() -> int:
    return int(time.time() * 1000)


def _yaml(data: dict[str, Any]) -> bytes:
    # JSON scalars are YAML scalars: strings quoted, null, numbers, [] for empty lists
    return "".join(f"{k}: {json.dumps(v)}\n" for k, v in data.items()).encode("utf-8")


def _read_yaml(path: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        key, sep, value = line.partition(":")
        if not sep or line.startswith(" "):
            continue
        value = value.strip()
        if value.startswith("'") and value.endswith("'"):
            out[key] = value[1:-1]
            continue
        try:
            out[key] = json.loads(value)
        except ValueError:
            out[key] = value
    return out


def flatten(config: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """``{"train": {"lr": 0.1}}`` -> ``{"train.lr": "0.1"}`` (MLflow params are strings)."""
    out: dict[str, str] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, f"{name}."))
        else:
            out[name] = value if isinstance(value, str) else json.dumps(value)
    return out


class _FileBackend:
    """MLflow's file-store layout written directly (no MLflow needed)."""

    name = "files"

    def __init__(self, root: Path) -> None:
        self.root = root

    def experiment(self, name: str) -> str:
        if self.root.is_dir():
            for meta in self.root.glob("*/meta.yaml"):
                data = _read_yaml(meta)
                if data.get("name") == name:
                    return str(data["experiment_id"])
        if not (self.root / "0" / "meta.yaml").exists():
            self._new_experiment("0", "Default")
        return self._new_experiment(str(uuid.uuid4().int % 10**18), name)

    def _new_experiment(self, exp_id: str, name: str) -> str:
        now = _now_ms()
        folder = self.root / exp_id
        atomic_write_bytes(folder / "meta.yaml", _yaml({
            "artifact_location": folder.resolve().as_uri(), "creation_time": now,
            "experiment_id": exp_id, "last_update_time": now, "lifecycle_stage": "active",
            "name": name}))
        return exp_id

    def run_dir(self, exp_id: str, run_id: str) -> Path:
        return self.root / exp_id / run_id

    def create_run(self, exp_id: str, run_name: str) -> str:
        run_id = uuid.uuid4().hex
        folder = self.run_dir(exp_id, run_id)
        for sub in ("params", "metrics", "tags", "artifacts"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        self._meta(exp_id, run_id, {"run_name": run_name, "start_time": _now_ms(),
                                    "end_time": None, "status": STATUS["RUNNING"]})
        self.set_tag(exp_id, run_id, "mlflow.runName", run_name)
        return run_id

    def _meta(self, exp_id: str, run_id: str, changes: dict[str, Any]) -> None:
        path = self.run_dir(exp_id, run_id) / "meta.yaml"
        meta = _read_yaml(path) if path.exists() else {
            "artifact_uri": (self.run_dir(exp_id, run_id) / "artifacts").resolve().as_uri(),
            "entry_point_name": "", "experiment_id": exp_id, "lifecycle_stage": "active",
            "run_id": run_id, "run_uuid": run_id, "source_name": "", "source_type": 4,
            "source_version": "", "tags": [], "user_id": _user()}
        meta.update(changes)
        atomic_write_bytes(path, _yaml(meta))

    def log_params(self, exp_id: str, run_id: str, params: dict[str, str]) -> None:
        for key, value in params.items():
            atomic_write_bytes(self.run_dir(exp_id, run_id) / "params" / key,
                               value.encode("utf-8"))

    def log_metrics(self, exp_id: str, run_id: str, metrics: dict[str, float],
                    step: int) -> None:
        now = _now_ms()
        for key, value in metrics.items():
            with open(self.run_dir(exp_id, run_id) / "metrics" / key, "a",
                      encoding="utf-8") as handle:
                handle.write(f"{now} {value!r} {step}\n")

    def set_tag(self, exp_id: str, run_id: str, key: str, value: str) -> None:
        atomic_write_bytes(self.run_dir(exp_id, run_id) / "tags" / key,
                           value.encode("utf-8"))

    def log_artifact(self, exp_id: str, run_id: str, path: Path, sub: str) -> None:
        dest = self.run_dir(exp_id, run_id) / "artifacts" / sub
        dest.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, dest / path.name)

    def set_status(self, exp_id: str, run_id: str, status: str) -> None:
        end = None if status == "RUNNING" else _now_ms()
        self._meta(exp_id, run_id, {"status": STATUS[status], "end_time": end})


class _MlflowBackend:
    """The same record through MLflow's own client (file store)."""

    name = "mlflow"

    def __init__(self, root: Path) -> None:
        os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
        # a desktop app's training record stays local: no usage telemetry from MLflow
        os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
        from mlflow.tracking import MlflowClient

        self.client = MlflowClient(tracking_uri=root.resolve().as_uri())

    def experiment(self, name: str) -> str:
        found = self.client.get_experiment_by_name(name)
        return str(found.experiment_id if found else self.client.create_experiment(name))

    def create_run(self, exp_id: str, run_name: str) -> str:
        return str(self.client.create_run(exp_id, run_name=run_name).info.run_id)

    def log_params(self, exp_id: str, run_id: str, params: dict[str, str]) -> None:
        for key, value in params.items():
            self.client.log_param(run_id, key, value)

    def log_metrics(self, exp_id: str, run_id: str, metrics: dict[str, float],
                    step: int) -> None:
        for key, value in metrics.items():
            self.client.log_metric(run_id, key, value, step=step)

    def set_tag(self, exp_id: str, run_id: str, key: str, value: str) -> None:
        self.client.set_tag(run_id, key, value)

    def log_artifact(self, exp_id: str, run_id: str, path: Path, sub: str) -> None:
        self.client.log_artifact(run_id, str(path), sub)

    def set_status(self, exp_id: str, run_id: str, status: str) -> None:
        if status == "RUNNING":
            self.client.update_run(run_id, status="RUNNING")
        else:
            self.client.set_terminated(run_id, status)


def _user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"


def _backend(root: Path, backend: str) -> _FileBackend | _MlflowBackend:
    if backend in ("auto", "mlflow"):
        try:
            return _MlflowBackend(root)
        except ImportError:
            if backend == "mlflow":
                raise TrackingError("tracking backend 'mlflow' needs MLflow: pip install "
                                    "mlflow-skinny") from None
    return _FileBackend(root)


@dataclass
class Tracker:
    """One tracked run; :meth:`open` starts it or, for a resumed run folder, reopens it."""

    root: Path
    experiment_id: str
    run_id: str
    backend: Any = field(repr=False)

    @classmethod
    def open(cls, root: Path, experiment: str, run_dir: Path, run_name: str,
             params: dict[str, str], tags: dict[str, str], backend: str = "auto"
             ) -> Tracker:
        root = Path(root)
        impl = _backend(root, backend)
        record = Path(run_dir) / RUN_FILE
        try:
            if record.exists():
                saved = json.loads(record.read_text(encoding="utf-8"))
                tracker = cls(root, str(saved["experiment_id"]), str(saved["run_id"]), impl)
                tracker.status("RUNNING")
                return tracker
            exp_id = impl.experiment(experiment)
            run_id = impl.create_run(exp_id, run_name)
            tracker = cls(root, exp_id, run_id, impl)
            impl.log_params(exp_id, run_id, params)
            for key, value in tags.items():
                impl.set_tag(exp_id, run_id, key, value)
        except (OSError, ValueError, KeyError) as exc:
            raise TrackingError(f"cannot write the run store {root}: {exc}") from exc
        atomic_write_bytes(record, (json.dumps(tracker.reference(), indent=2) + "\n"
                                    ).encode("utf-8"))
        return tracker

    def reference(self) -> dict[str, str]:
        """What a card records to point at this run."""
        return {"store": str(self.root.resolve()), "experiment_id": self.experiment_id,
                "run_id": self.run_id}

    def log_metrics(self, row: dict[str, Any], step: int) -> None:
        numbers = {k: float(v) for k, v in row.items()
                   if k != "step" and isinstance(v, int | float) and not isinstance(v, bool)
                   and v == v}  # NaN (unscored) is left out
        self.backend.log_metrics(self.experiment_id, self.run_id, numbers, step)

    def tag(self, key: str, value: str) -> None:
        self.backend.set_tag(self.experiment_id, self.run_id, key, value)

    def artifact(self, path: Path, sub: str = "model") -> None:
        self.backend.log_artifact(self.experiment_id, self.run_id, Path(path), sub)

    def status(self, status: str) -> None:
        self.backend.set_status(self.experiment_id, self.run_id, status)


@dataclass
class RunRecord:
    run_id: str
    experiment: str
    name: str
    status: str
    start: str
    tags: dict[str, str]
    params: dict[str, str]
    metrics: dict[str, float]  # the last value of each
    folder: Path


def list_runs(root: Path | None = None) -> list[RunRecord]:
    """Every run in the store, newest first (read without MLflow)."""
    root = Path(root) if root is not None else default_root()
    runs: list[RunRecord] = []
    for meta_path in sorted(root.glob("*/*/meta.yaml")):
        folder = meta_path.parent
        try:
            meta = _read_yaml(meta_path)
            experiment = _read_yaml(folder.parent / "meta.yaml").get("name", "")

            def files(sub: str, f: Path = folder) -> dict[str, str]:
                d = f / sub
                return ({p.name: p.read_text(encoding="utf-8").strip() for p in d.iterdir()
                         if p.is_file()} if d.is_dir() else {})

            metrics = {k: float(v.splitlines()[-1].split()[1])
                       for k, v in files("metrics").items() if v}
        except (OSError, ValueError, IndexError):
            continue  # a run being written or damaged: not listed
        start = meta.get("start_time")
        runs.append(RunRecord(
            str(meta.get("run_id", folder.name)), str(experiment),
            str(meta.get("run_name", "")), STATUS_NAME.get(int(meta.get("status", 0)), "?"),
            dt.datetime.fromtimestamp(start / 1000, dt.UTC).isoformat(timespec="seconds")
            if isinstance(start, int) else "", files("tags"), files("params"), metrics,
            folder))
    return sorted(runs, key=lambda r: r.start, reverse=True)


def runs_for(card_raw: dict[str, Any], root: Path | None = None) -> list[RunRecord]:
    """The runs a card names in ``training_runs`` that the store still holds."""
    wanted = {r.get("run_id") for r in card_raw.get("training_runs") or []
              if isinstance(r, dict)}
    stores = {Path(r["store"]) for r in card_raw.get("training_runs") or []
              if isinstance(r, dict) and r.get("store")}
    found: dict[str, RunRecord] = {}
    for store in stores | ({Path(root)} if root else {default_root()}):
        for run in list_runs(store):
            if run.run_id in wanted:
                found.setdefault(run.run_id, run)
    return list(found.values())
