"""The Watch panel in the real window, on a store filled by a replayed watch run
(the recorded Open-Meteo answer, see tests/watch/replay.py)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from desktop_app.viz.map_model.layers import QC_COLORS
from desktop_app.watch.store import Store
from tests.gui.helpers import canvas_image
from tests.watch.conftest import make_watcher  # noqa: F401 (the fixture)
from tests.watch.replay import Replay
from tests.watch.test_watcher import drive

pytestmark = pytest.mark.gui


@pytest.fixture
def watch_config(make_watcher, tmp_path):  # noqa: F811 (the imported fixture)
    replay = Replay(faults={60: "spike"})
    db = tmp_path / "w.sqlite"
    w, clock = make_watcher(replay, db=db)
    drive(w, clock, replay, range(72))
    # the sample region's station sites too (locations only; no values): grey on the map
    from desktop_app.sources.region import load_region
    st = load_region().stations
    w.store.upsert_stations((str(s), str(s), float(la), float(lo), float(el)) for s, la, lo, el
                            in zip(st["station_id"].values, st["latitude"].values,
                                   st["longitude"].values, st["elevation"].values,
                                   strict=True))
    w.store.close()
    cfg = tmp_path / "watch.toml"
    cfg.write_text(f'interval_minutes = 1\ndatabase = "{db.name}"\n[[stations]]\n'
                   'id = "berlin"\nlatitude = 52.52\nlongitude = 13.41\n', encoding="utf-8")
    return cfg, db


def test_watch_panel_alerts_skill_map_and_notification(window, qtbot, watch_config):
    cfg, db = watch_config
    panel = window.watch_panel
    window.panels.setCurrentWidget(panel)
    assert panel.open_config(cfg)
    with Store(db) as other:
        open_alerts = other.anomalies(unacknowledged=True)
        skill = other.skill("temperature")
    assert open_alerts and panel.alerts.rowCount() == len(open_alerts)
    assert panel.alerts.item(0, 1).text() == "berlin"
    # skill table and the per-model plot: six leads of the one replayed model
    assert panel.skill.rowCount() == len(skill) == 6
    x, y = panel.curves["open-meteo best_match"]
    np.testing.assert_array_equal(x, [1, 2, 3, 4, 5, 6])
    np.testing.assert_allclose(y, [s.mae for s in skill])
    # map: berlin has an open alert (amber), the sites without data are grey
    assert panel.status["berlin"] == "alert"
    watch = window.map_model.watch
    assert watch.lat.size == len(panel.status)
    face = watch.primitives(window.map.current_view())[0].face
    ids = sorted(panel.status)
    assert tuple(face[ids.index("berlin")]) == pytest.approx(QC_COLORS[3])
    assert {panel.status[s] for s in ids if s != "berlin"} == {"none"}

    # acknowledge the newest alert through the button
    panel.alerts.selectRow(0)
    first_id = int(panel.alerts.item(0, 0).text())
    panel.ack_button.click()
    assert panel.alerts.rowCount() == len(open_alerts) - 1
    with Store(db) as other:
        acked = [a for a in other.anomalies() if a["id"] == first_id][0]
    assert acked["acknowledged_by"] == "desktop"

    # a new alert written by the poller raises a notification on the next refresh
    with Store(db) as other:
        other.add_observations([], anomalies=[("berlin", "temperature", 1_700_000_000,
                                               "robust_z", 3.5, "{}")], now=1_700_000_100)
    with qtbot.waitSignal(panel.new_alert, timeout=5000):
        panel.refresh()
    assert "berlin: robust_z" in panel.last_notification
    assert "new alert" in window.statusBar().currentMessage()

    shot = os.environ.get("WATCH_SCREENSHOT")
    if shot:
        window.grab().save(str(Path(shot)))


def test_watch_panel_without_a_store_says_so(window, messages, tmp_path):
    cfg = tmp_path / "watch.toml"
    cfg.write_text('[[stations]]\nid = "a"\nlatitude = 1.0\nlongitude = 2.0\n',
                   encoding="utf-8")
    assert not window.watch_panel.open_config(cfg)
    assert "no watch store" in messages[0]
    assert not window.watch_panel.open_config(tmp_path / "missing.toml")
    assert "not found" in messages[1]


def test_skill_plot_axis_is_in_the_variables_units(window, watch_config):
    cfg, _ = watch_config
    panel = window.watch_panel
    assert panel.open_config(cfg)
    axis = panel.plot.getAxis("left")
    assert axis.labelText == "MAE (degC)"
    assert axis.autoSIPrefixScale == 1.0  # no hidden x0.001 scaling of the errors


def test_watch_markers_survive_a_time_step(window, qtbot, watch_config):
    """The watch status is its own map layer: the window's time step, which redraws the
    QC station markers, leaves the watch markers on the map (it used to overwrite them)."""
    cfg, _ = watch_config
    panel = window.watch_panel
    assert panel.open_config(cfg)
    watch = window.map_model.watch
    k = int(np.flatnonzero(np.isclose(watch.lat, 52.52))[0])  # berlin, amber (alert)
    # look at Berlin: the watch sites lie far outside the sample region
    kx = window.map._kx
    window.map.view.camera.set_range(x=(12.9 * kx, 13.9 * kx), y=(52.2, 52.8), margin=0)
    amber = np.round(np.array(QC_COLORS[3][:3]) * 255)

    def berlin_pixel():
        with qtbot.waitSignal(window.map.drawn, timeout=5000):
            window.map.canvas.update()
        x, y = window.map.canvas_pos_of(float(watch.lat[k]), float(watch.lon[k]))
        return canvas_image(window)[round(y), round(x)].astype(float)

    assert np.abs(berlin_pixel() - amber).max() <= 10
    for _ in range(3):
        window.step_time(1)
    assert window.time_index == 3
    assert watch.lat.size == len(panel.status)  # the layer still holds every site
    assert np.abs(berlin_pixel() - amber).max() <= 10
