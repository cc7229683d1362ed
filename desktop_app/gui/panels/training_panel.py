"""Training: hand a job to the headless trainer service on a GPU workstation, watch its
progress and log, and bring the exported model into the registry. *Fine-tune* uploads an
installed model with the data; the tuned model is installed only if its gate (against
that base, at the held-out stations) passed -- a refusal is shown with its numbers."""

from __future__ import annotations

import json
import threading
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6 import QtCore, QtWidgets

from desktop_app import paths
from desktop_app.errors import ConfigError, MicroclimateError
from desktop_app.gui.widgets import add_rows
from desktop_app.inference.registry import ModelRegistry
from desktop_app.settings import load_settings, save_settings
from desktop_app.trainer_client import TrainerClient

if TYPE_CHECKING:
    from desktop_app.gui.main_window import MainWindow

CONNECT, TRAIN = "Connect to trainer", "Train on the workstation"
MODES = ("Train a new model", "Fine-tune an installed model")
TOKEN_WARNING = ("The token is saved in plain text in settings.json, readable by anyone "
                 "who can read your files.")


def read_job_config(path: Path) -> dict[str, Any]:
    """The training config as the service takes it: the data files are uploaded, so
    data.coarse / data.fine / data.stations are removed here. A station QC config
    (data.station_qc) names a file on this machine the service cannot read: refused."""
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, ValueError) as exc:
        raise ConfigError(f"cannot read training config {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"training config {path} must be a table/object")
    for name, keys in (("finetune", ("base", "base_spec")), ("track", ("uri",))):
        part = data.get(name)
        if isinstance(part, dict):  # local paths: the service sets its own
            for key in keys:
                part.pop(key, None)
    section = data.get("data")
    if isinstance(section, dict):
        for key in ("coarse", "fine", "stations"):
            section.pop(key, None)
        if "station_qc" in section:
            raise ConfigError(
                f"training config {path}: data.station_qc names a file on this machine; "
                "the trainer service QCs uploaded station files with the default QC "
                "config, or upload a station file that already has its _qc flags")
    return data


class TrainingPanel(QtWidgets.QWidget):
    def __init__(self, window: MainWindow) -> None:
        super().__init__()
        self.window_ = window
        settings = load_settings()
        form = QtWidgets.QFormLayout(self)
        self.url_edit = QtWidgets.QLineEdit(settings.trainer_url)
        self.token_edit = QtWidgets.QLineEdit(settings.trainer_token)
        self.token_edit.setEchoMode(QtWidgets.QLineEdit.EchoMode.Password)
        self.remember_box = QtWidgets.QCheckBox("Remember the token")
        self.remember_box.setToolTip(TOKEN_WARNING)
        self.remember_box.setChecked(bool(settings.trainer_token))
        self.connect_button = QtWidgets.QPushButton("Connect")
        self.status_label = QtWidgets.QLabel("Not connected.")
        self.status_label.setWordWrap(True)
        self.coarse_edit = QtWidgets.QLineEdit()
        self.fine_edit = QtWidgets.QLineEdit()
        self.stations_edit = QtWidgets.QLineEdit()
        self.config_edit = QtWidgets.QLineEdit()
        for edit, what in ((self.coarse_edit, "coarse input NetCDF"),
                           (self.fine_edit, "fine target or terrain NetCDF"),
                           (self.stations_edit, "optional: station NetCDF (targets)"),
                           (self.config_edit, "training config (TOML/JSON)")):
            edit.setPlaceholderText(what)
        self.mode_box = QtWidgets.QComboBox()
        self.mode_box.addItems(MODES)
        self.base_box = QtWidgets.QComboBox()
        self.base_box.setToolTip("the installed model to fine-tune (its ONNX and card are "
                                 "uploaded; the station file is required)")
        self.refresh_bases()
        self.submit_button = QtWidgets.QPushButton("Upload, train and install the model")
        self.log_view = QtWidgets.QPlainTextEdit()
        self.log_view.setReadOnly(True)
        self.log_view.setMaximumBlockCount(5000)
        add_rows(form, [
            ("Service URL", self.url_edit),
            ("Token", self.token_edit),
            self.remember_box,
            self.connect_button,
            self.status_label,
            ("Job", self.mode_box),
            ("Base model", self.base_box),
            ("Coarse", self.coarse_edit),
            ("Fine", self.fine_edit),
            ("Stations", self.stations_edit),
            ("Config", self.config_edit),
            self.submit_button,
            ("Log", self.log_view),
        ])
        self.connect_button.clicked.connect(self.connect_service)
        self.submit_button.clicked.connect(self.submit)
        window.tasks.finished.connect(self._on_done)
        self._log_lock = threading.Lock()
        self._log_chunks: list[str] = []
        self._log_timer = QtCore.QTimer(self)
        self._log_timer.setInterval(250)
        self._log_timer.timeout.connect(self._drain_log)
        self.job_id: str | None = None
        self.mode_box.currentIndexChanged.connect(self._mode_changed)
        self._mode_changed()

    @property
    def finetune(self) -> bool:
        return self.mode_box.currentIndex() == 1

    def refresh_bases(self) -> None:
        self.base_box.clear()
        for entry in ModelRegistry().entries():
            self.base_box.addItem(entry.spec, str(entry.onnx_path))

    def _mode_changed(self) -> None:
        self.base_box.setEnabled(self.finetune)
        self.submit_button.setText("Upload, fine-tune and install if better than the base"
                                   if self.finetune else "Upload, train and install the model")

    def _client(self) -> TrainerClient:
        url, token = self.url_edit.text().strip(), self.token_edit.text().strip()
        if not url:
            raise ConfigError("enter the trainer service URL")
        settings = load_settings()
        settings.trainer_url = url
        settings.trainer_token = token if self.remember_box.isChecked() else ""
        save_settings(settings)
        return TrainerClient(url, token)

    def connect_service(self) -> bool:
        try:
            client = self._client()
        except MicroclimateError as exc:
            self.status_label.setText(str(exc))
            return False

        def job(progress: Any, cancel: threading.Event) -> dict[str, Any]:
            with client:
                health = client.health()
                jobs = client.jobs()  # needs the token: proves it is accepted
            return {**health, "jobs": len(jobs)}

        return self.window_.tasks.start(CONNECT, job)

    def submit(self) -> bool:
        try:
            client = self._client()
            coarse, fine = Path(self.coarse_edit.text()), Path(self.fine_edit.text())
            text = self.stations_edit.text().strip()
            stations = Path(text) if text else None
            for path in (coarse, fine, stations):
                if path is not None and not path.is_file():
                    raise ConfigError(f"training data file not found: {path}")
            config = read_job_config(Path(self.config_edit.text()))
            chosen = self.base_box.currentData() if self.finetune else None
            if self.finetune and not chosen:
                raise ConfigError("choose the installed model to fine-tune")
            base = Path(chosen) if chosen else None
            if base is not None and stations is None:
                raise ConfigError("fine-tuning needs a station file (e.g. what 'microclimate "
                                  "watch export pairs.nc' writes)")
        except MicroclimateError as exc:
            self.status_label.setText(str(exc))
            return False
        self.log_view.clear()
        self._log_timer.start()

        def job(progress: Any, cancel: threading.Event) -> str:
            with client:
                progress(0.0, "uploading the dataset")
                dataset = client.upload_dataset(coarse, fine, stations, base_model=base)
                submitted = client.submit(config, dataset_id=dataset)
                self.job_id = job_id = str(submitted["id"])
                offset = 0

                def on_status(status: dict[str, Any]) -> None:
                    nonlocal offset
                    text, offset = client.log(job_id, offset)
                    if text:
                        with self._log_lock:
                            self._log_chunks.append(text)
                    p = status.get("progress") or {}
                    steps = p.get("steps") or 0
                    fraction = p.get("step", 0) / steps if steps else 0.0
                    progress(fraction, f"job {job_id}: {status['state']}")

                done = client.wait(job_id, poll_s=0.5, on_progress=on_status,
                                   cancel=cancel.is_set)
                if done["state"] != "done":
                    raise MicroclimateError(f"trainer job {job_id} ended {done['state']}: "
                                            f"{done.get('error') or 'see the log'}")
                progress(1.0, "downloading the model")
                folder = paths.user_models_dir() / "downloads" / job_id
                onnx = client.download_model(job_id, folder)
            return ModelRegistry().install(onnx).spec

        return self.window_.tasks.start(TRAIN, job)

    def _drain_log(self) -> None:
        with self._log_lock:
            chunks, self._log_chunks = self._log_chunks, []
        for chunk in chunks:
            self.log_view.appendPlainText(chunk.rstrip("\n"))
        if not self.window_.tasks.busy:
            self._log_timer.stop()

    def _on_done(self, name: str, result: object) -> None:
        if name == CONNECT and isinstance(result, dict):
            self.status_label.setText(
                f"Connected: {result.get('status', 'ok')}, {result['jobs']} job(s) on the "
                "service." + ("" if not self.remember_box.isChecked() else
                              f" {TOKEN_WARNING}"))
        elif name == TRAIN:
            self._drain_log()
            self.status_label.setText(f"Installed {result} into your models.")
            self.window_.models_panel.refresh()
            self.window_.forecast_panel.refresh_models()
            self.refresh_bases()
