"""Forecast: choose model and provider, see which provider really runs, run it."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from PySide6 import QtWidgets

from desktop_app.errors import MicroclimateError
from desktop_app.inference.predictor import run_forecast
from desktop_app.inference.registry import ModelRegistry
from desktop_app.inference.runtime import runtime_status
from desktop_app.settings import load_settings

if TYPE_CHECKING:
    import xarray as xr

    from desktop_app.gui.main_window import MainWindow

TASK = "Forecast"
ACTIVE = "(active model per variable)"


class ForecastPanel(QtWidgets.QWidget):
    def __init__(self, window: MainWindow) -> None:
        super().__init__()
        self.window_ = window
        form = QtWidgets.QFormLayout(self)
        self.model_box = QtWidgets.QComboBox()
        self.provider_box = QtWidgets.QComboBox()
        self.provider_box.addItems(["auto", "cpu", "cuda"])
        self.status_label = QtWidgets.QLabel()
        self.status_label.setWordWrap(True)
        self.run_button = QtWidgets.QPushButton("Run forecast")
        self.cluster_box = QtWidgets.QCheckBox("Run on cluster")
        self.cluster_box.setToolTip(
            "Run the model in tiles on the Dask scheduler set in the settings "
            "(cluster_scheduler), or on a local cluster when none is set; model output "
            "variables only; needs the [cluster] extra")
        self.result_label = QtWidgets.QLabel("No forecast yet: the map shows the baseline.")
        self.result_label.setWordWrap(True)
        self.card_label = QtWidgets.QLabel()
        self.card_label.setWordWrap(True)
        self.card_label.setObjectName("modelLimits")
        form.addRow("Model", self.model_box)
        form.addRow("Card", self.card_label)
        form.addRow("Provider", self.provider_box)
        form.addRow("Runs on", self.status_label)
        form.addRow(self.run_button)
        form.addRow(self.cluster_box)
        form.addRow(self.result_label)
        self.provider_box.currentTextChanged.connect(self.refresh_status)
        self.model_box.currentIndexChanged.connect(self.show_card)
        self.run_button.clicked.connect(self.run)
        window.tasks.finished.connect(self._on_done)
        self.refresh_models()
        self.refresh_status()

    def refresh_models(self) -> None:
        current = self.model_box.currentData()
        self.model_box.clear()
        self.model_box.addItem(ACTIVE, None)
        try:
            entries = ModelRegistry().entries()
        except MicroclimateError as exc:
            self.status_label.setText(f"model registry: {exc}")
            entries = []
        for entry in entries:
            trained = "" if entry.card.trained else " (NOT trained)"
            self.model_box.addItem(f"{entry.spec}{trained}", entry.spec)
        index = self.model_box.findData(current)
        self.model_box.setCurrentIndex(max(0, index))
        self.show_card()

    def show_card(self) -> None:
        """What the model was trained on and where it is not verified, from its card."""
        try:
            registry = ModelRegistry()
            spec = self.model_box.currentData()
            entry = registry.find(spec) if spec else registry.active("temperature")
        except MicroclimateError as exc:
            self.card_label.setText(str(exc))
            return
        if entry is None:
            self.card_label.setText("No model: every variable comes from the baseline.")
            return
        card = entry.card
        trained = "trained" if card.trained else "NOT trained"
        self.card_label.setText(
            f"<b>{card.spec}</b> ({trained}). Trained on: {card.training_data}<br>"
            f"<span style='color:#c05000'>Limits: {card.limitations or 'none stated'}</span>")

    def refresh_status(self) -> None:
        status = runtime_status(self.provider_box.currentText())
        self.status_label.setText(status.summary())

    def run(self) -> None:
        region = self.window_.view.region
        model = self.model_box.currentData()
        provider = self.provider_box.currentText()
        on_cluster = self.cluster_box.isChecked()

        def job(progress: object, cancel: threading.Event) -> xr.Dataset:
            if on_cluster:
                from desktop_app.batch.window_runs import forecast_on_cluster

                if region.coarse is None:
                    raise MicroclimateError("this region has no coarse background to "
                                            "downscale: make it with an ERA5 or Open-Meteo "
                                            "background")

                return forecast_on_cluster(region.coarse, region.terrain, model,
                                           load_settings().cluster_scheduler,
                                           progress=progress,  # type: ignore[arg-type]
                                           cancelled=cancel.is_set)
            return run_forecast(region, model, provider, progress=progress,  # type: ignore[arg-type]
                                cancel=cancel)

        if not self.window_.tasks.start(TASK, job):
            self.result_label.setText("Another task is running; wait or cancel it first.")

    def _on_done(self, name: str, result: object) -> None:
        if name != TASK:
            return
        self.window_.show_forecast(result)  # type: ignore[arg-type]
        attrs = result.attrs  # type: ignore[attr-defined]
        self.result_label.setText(
            f"Forecast {attrs.get('model_name')}@{attrs.get('model_version')} on "
            f"{attrs.get('provider', '?')}; map layer set to the model forecast.<br>"
            f"Baseline: {attrs.get('baseline_method', '?')}.<br>"
            f"{attrs.get('guard', 'guard: not recorded (cluster run)')}")
