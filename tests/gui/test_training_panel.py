"""The Training panel against the real trainer service on 127.0.0.1."""

from __future__ import annotations

import pytest

pytest.importorskip("torch", reason="the trainer needs torch (the [train] extra)")

from desktop_app.inference.registry import ModelRegistry  # noqa: E402
from desktop_app.settings import load_settings  # noqa: E402
from tests.training.conftest import TINY_CONFIG, make_dataset  # noqa: E402
from tests.training.test_service import TOKEN, LoopbackServer  # noqa: E402

pytestmark = pytest.mark.gui


@pytest.fixture
def service(tmp_path):
    srv = LoopbackServer(tmp_path / "state")
    yield srv
    srv.stop()


def test_wrong_token_is_refused_with_a_message(window, qtbot, service, messages):
    panel = window.training_panel
    panel.url_edit.setText(service.url)
    panel.token_edit.setText("not-the-token")
    with qtbot.waitSignal(window.tasks.failed, timeout=30000):
        assert panel.connect_service()
    assert messages and "401" in messages[0]


def test_connect_train_and_install_the_model(window, qtbot, service, tmp_path):
    panel = window.training_panel
    panel.url_edit.setText(service.url)
    panel.token_edit.setText(TOKEN)
    with qtbot.waitSignal(window.tasks.finished, timeout=30000):
        panel.connect_service()
    assert panel.status_label.text().startswith("Connected")
    assert load_settings().trainer_url == service.url
    assert load_settings().trainer_token == ""  # not remembered unless asked

    coarse, fine = make_dataset(tmp_path / "data")
    config = tmp_path / "train.toml"
    config.write_text(TINY_CONFIG.format(steps=4, checkpoint_every=2))
    panel.coarse_edit.setText(str(coarse))
    panel.fine_edit.setText(str(fine))
    panel.config_edit.setText(str(config))
    before = {e.spec for e in ModelRegistry().entries()}
    with qtbot.waitSignal(window.tasks.finished, timeout=240000):
        assert panel.submit()
    installed = {e.spec for e in ModelRegistry().entries()} - before
    assert len(installed) == 1
    assert "Installed" in panel.status_label.text()
    assert "step 4/4" in panel.log_view.toPlainText()
    assert window.models_panel.table.rowCount() == len(before) + 1


def test_remembered_token_goes_to_settings(window, service):
    panel = window.training_panel
    panel.url_edit.setText(service.url)
    panel.token_edit.setText(TOKEN)
    panel.remember_box.setChecked(True)
    panel._client().close()
    assert load_settings().trainer_token == TOKEN


def test_station_targets_from_the_panel(window, qtbot, service, tmp_path):
    """A station file chosen in the panel is uploaded with the sample region and the
    model installed from the job is scored on held-out stations (card metrics)."""
    from tests.training.test_station_targets import CONFIG, REGION

    panel = window.training_panel
    panel.url_edit.setText(service.url)
    panel.token_edit.setText(TOKEN)
    config = tmp_path / "stations.toml"
    config.write_text(CONFIG.format(region=REGION, stations=REGION / "stations.nc", seed=3,
                                    data_extra=""))
    panel.coarse_edit.setText(str(REGION / "coarse.nc"))
    panel.fine_edit.setText(str(REGION / "terrain.nc"))
    panel.stations_edit.setText(str(REGION / "stations.nc"))
    panel.config_edit.setText(str(config))
    with qtbot.waitSignal(window.tasks.finished, timeout=240000):
        assert panel.submit()
    installed = [e for e in ModelRegistry().entries() if e.spec.startswith("station-test")]
    assert len(installed) == 1
    card = installed[0].card
    assert card.metrics["stations"]["per_station"], card.metrics


def test_missing_station_file_and_local_qc_config_are_refused(window, tmp_path):
    panel = window.training_panel
    panel.url_edit.setText("http://127.0.0.1:9")
    config = tmp_path / "t.toml"
    config.write_text('[data]\nstation_qc = "/home/me/qc.toml"\n')
    panel.coarse_edit.setText(str(tmp_path))
    panel.fine_edit.setText(str(tmp_path))
    panel.stations_edit.setText(str(tmp_path / "missing.nc"))
    panel.config_edit.setText(str(config))
    assert not panel.submit()
    assert "not found" in panel.status_label.text()
    from desktop_app.errors import ConfigError
    from desktop_app.gui.panels.training_panel import read_job_config
    with pytest.raises(ConfigError, match="station_qc"):
        read_job_config(config)


def test_finetune_from_the_panel_installs_only_past_the_gate(window, qtbot, service,
                                                             tmp_path, messages):
    """Fine-tune: the chosen installed model is uploaded with the sample region (real
    terrain, GENERATED weather and stations); the tuned model carries the gate."""
    from desktop_app.training.config import load_config
    from desktop_app.training.export import export_run
    from desktop_app.training.trainer import start
    from tests.training.finetune_helpers import (
        REGION,
        write_base_config,
        write_finetune_config,
    )

    trainer = start(load_config(write_base_config(tmp_path, tmp_path / "mlruns")),
                    tmp_path / "base")
    trainer.run()
    assert window.models_panel.install(export_run(trainer).onnx_path)
    panel = window.training_panel
    panel.refresh_bases()
    panel.url_edit.setText(service.url)
    panel.token_edit.setText(TOKEN)
    panel.mode_box.setCurrentIndex(1)
    assert panel.base_box.isEnabled()
    panel.base_box.setCurrentIndex(panel.base_box.findText("tiny-base@1.0.0"))
    panel.coarse_edit.setText(str(REGION / "coarse.nc"))
    panel.fine_edit.setText(str(REGION / "terrain.nc"))
    panel.config_edit.setText(str(write_finetune_config(tmp_path, tmp_path / "x", steps=4)))
    assert not panel.submit()  # no station file: refused before anything is sent
    assert "station file" in panel.status_label.text()
    panel.stations_edit.setText(str(REGION / "stations.nc"))
    assert panel.submit()
    qtbot.waitUntil(lambda: not window.tasks.busy, timeout=300000)
    panel._drain_log()
    assert "fine-tuning 37 of 405 parameters" in panel.log_view.toPlainText()
    tuned = [e for e in ModelRegistry().entries() if e.card.version.startswith("1.0.0-ft.")]
    if tuned:  # installed: only because the gate passed
        assert tuned[0].card.metrics["gate"]["passed"] is True
        assert "Installed" in panel.status_label.text()
    else:  # refused: the message carries the numbers
        assert "worse than its base tiny-base@1.0.0" in messages[-1]
