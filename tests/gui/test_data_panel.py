"""The Data panel against recorded real Open-Meteo bodies (replayed by MockTransport)."""

import json
import threading

import httpx
import numpy as np
import pytest
import xarray as xr
from PySide6 import QtCore

from desktop_app.sources.cache import RequestCache
from desktop_app.sources.context import FetchContext
from desktop_app.sources.http import HttpClient
from tests.gui.helpers import canvas_image
from tests.sources.helpers import as_batch, recorded

pytestmark = pytest.mark.gui

BODY = "homeassistant_forecast_berlin.json"


def _berlin_answer(request, headers=None):
    """The recorded Berlin body, once per station the request asks for."""
    n = len(request.url.params["latitude"].split(","))
    return httpx.Response(200, content=as_batch(recorded(BODY), n), headers=headers)


def _serve(panel, handler, tmp_path):
    """The panel fetches from ``handler`` (its cache under ``tmp_path``), for the days of
    the recorded Berlin body."""
    def factory(settings):
        http = HttpClient(transport=httpx.MockTransport(handler), sleep=lambda s: None)
        return FetchContext(settings=settings, http=http,
                            cache=RequestCache(tmp_path / "cache"))

    panel.context_factory = factory
    days = json.loads(recorded(BODY))["hourly"]["time"]
    panel.start.setDate(QtCore.QDate.fromString(days[0][:10], "yyyy-MM-dd"))
    panel.end.setDate(QtCore.QDate.fromString(days[-1][:10], "yyyy-MM-dd"))


def test_fetch_at_the_region_stations_writes_a_cf_file(window, qtbot, tmp_path):
    panel = window.data_panel
    seen = []

    def handler(request):
        seen.append(request.url)
        return _berlin_answer(request)

    _serve(panel, handler, tmp_path)
    out = tmp_path / "fetched.nc"
    with qtbot.waitSignal(window.tasks.finished, timeout=60000):
        assert panel.fetch(out)
    assert "Wrote" in panel.result_label.text()
    assert len(seen) == 1
    assert len(seen[0].params["latitude"].split(",")) == window.view.stations.sizes["station"]
    with xr.open_dataset(out) as ds:
        assert ds.sizes["station"] == 6
        assert ds["temperature"].attrs["units"] == "degC"


def test_cancel_a_fetch_leaves_no_file(window, qtbot, tmp_path):
    panel = window.data_panel
    release = threading.Event()

    def slow(request):  # a provider that does not answer until told to
        release.wait(20)
        return _berlin_answer(request)

    _serve(panel, slow, tmp_path)
    out = tmp_path / "never.nc"
    with qtbot.waitSignal(window.tasks.cancelled, timeout=30000):
        assert panel.fetch(out)
        qtbot.wait(200)
        window.tasks.cancel_button.click()
        release.set()
    assert not out.exists()
    assert not window.tasks.busy


def test_provider_error_is_a_message_and_the_window_stays_usable(window, qtbot, tmp_path,
                                                                messages):
    shown = messages
    panel = window.data_panel
    body = json.dumps({"error": True, "reason": "Cannot initialize WeatherVariable from "
                       "invalid String value tempeture_2m"}).encode()
    _serve(panel, lambda r: httpx.Response(400, content=body), tmp_path)
    with qtbot.waitSignal(window.tasks.failed, timeout=30000):
        panel.fetch(tmp_path / "x.nc")
    assert shown and "400" in shown[0] and "tempeture_2m" in shown[0]
    assert not (tmp_path / "x.nc").exists()
    window.time_slider.setValue(3)
    assert window.time_index == 3


def test_form_errors_are_explained(window, tmp_path):
    panel = window.data_panel
    for box in panel.var_boxes.values():
        box.setChecked(False)
    assert not panel.fetch(tmp_path / "x.nc")
    assert "tick at least one variable" in panel.result_label.text()


def test_shift_drag_on_the_map_sets_the_box(window, qtbot):
    m = window.map
    a = m.canvas_pos_of(34.30, -118.25)
    b = m.canvas_pos_of(34.36, -118.10)
    shift = QtCore.Qt.KeyboardModifier.ShiftModifier
    left = QtCore.Qt.MouseButton.LeftButton
    qtbot.mousePress(m.widget, left, shift, QtCore.QPoint(round(a[0]), round(a[1])))
    qtbot.mouseMove(m.widget, QtCore.QPoint(round(b[0]), round(b[1])))
    qtbot.mouseRelease(m.widget, left, shift, QtCore.QPoint(round(b[0]), round(b[1])))
    south, west, north, east = (float(v) for v in window.data_panel.bbox_edit.text().split(","))
    assert south == pytest.approx(34.30, abs=0.005) and north == pytest.approx(34.36, abs=0.005)
    assert west == pytest.approx(-118.25, abs=0.005) and east == pytest.approx(-118.10, abs=0.005)
    # the box is the map model's selection layer, drawn on the map
    assert window.map_model.selection.box == pytest.approx((south, west, north, east))
    with qtbot.waitSignal(m.drawn, timeout=5000):
        m.canvas.update()
    x, y = m.canvas_pos_of((south + north) / 2, west)  # the box's west edge: cyan
    img = canvas_image(window)[round(y) - 1:round(y) + 2, round(x) - 1:round(x) + 2]
    cyan = np.array([0.0, 0.9 * 255, 255.0])
    assert np.abs(img.reshape(-1, 3).astype(float) - cyan).max(axis=1).min() <= 40


def test_offline_toggle_is_saved(window):
    from desktop_app.settings import load_settings

    window.data_panel.offline_box.setChecked(True)
    assert load_settings().offline is True
    assert "OFFLINE" in window.data_panel.cache_label.text()


def test_refresh_and_a_stale_answer_in_the_status_bar(window, qtbot, tmp_path):
    panel = window.data_panel
    answers = []
    max_age = {}

    def handler(request):
        answers.append(request.url)
        return _berlin_answer(request, max_age)

    _serve(panel, handler, tmp_path)

    def fetch(name):
        with qtbot.waitSignal(window.tasks.finished, timeout=60000):
            assert panel.fetch(tmp_path / name)
        with xr.open_dataset(tmp_path / name) as ds:
            return dict(ds.attrs)

    assert fetch("a.nc")["cache_hit"] == "no"
    assert fetch("b.nc")["cache_hit"] == "yes" and len(answers) == 1  # fresh for an hour
    panel.refresh_box.setChecked(True)
    max_age["Cache-Control"] = "max-age=0"  # this answer expires at once
    assert fetch("c.nc")["cache_hit"] == "no" and len(answers) == 2
    panel.refresh_box.setChecked(False)
    panel.offline_box.setChecked(True)
    stale = fetch("d.nc")
    assert stale["cache_stale"].startswith("yes") and len(answers) == 2
    assert window.statusBar().currentMessage().startswith("STALE:")
    assert "STALE:" in panel.result_label.text()


def test_station_formats_come_from_the_table(window, qtbot, tmp_path):
    from desktop_app.sources.station_formats import formats_without_mapping
    from tests.sources.helpers import DATA

    panel = window.data_panel
    offered = [panel.format_box.itemData(i) for i in range(panel.format_box.count())]
    assert offered == [f.name for f in formats_without_mapping()] and "smet" in offered
    panel.source_box.setCurrentIndex(panel.source_box.findData("stations"))
    imis = DATA / "stations" / "imis"
    panel.file_edit.setText(f"{imis / 'FIR2_2009-01-20_26.smet'}; "
                            f"{imis / 'GLA2_2009-01-20_26.smet'}")
    panel.format_box.setCurrentIndex(offered.index("smet"))
    out = tmp_path / "fir2.nc"
    with qtbot.waitSignal(window.tasks.finished, timeout=60000):
        assert panel.fetch(out)
    with xr.open_dataset(out) as ds:
        assert [str(s) for s in ds["station_id"].values] == ["SMET:FIR2", "SMET:GLA2"]
        assert ds["elevation"].values.tolist() == [2110.0, 1630.0]


def test_a_grib_file_without_grib_support_is_one_message(window, qtbot, tmp_path, messages,
                                                         monkeypatch):
    """The installer without its GRIB add-on: the ERA5 file is named with the way to get
    GRIB support, and the window keeps working."""
    from tests.sources.helpers import DATA
    from tests.sources.no_grib import without_grib

    without_grib(monkeypatch)
    panel = window.data_panel
    panel.source_box.setCurrentIndex(panel.source_box.findData("era5"))
    grib = DATA / "era5" / "era5-2mt-2019-03-uk.grib"
    panel.file_edit.setText(str(grib))
    with qtbot.waitSignal(window.tasks.failed, timeout=30000):
        panel.fetch(tmp_path / "era5.nc")
    assert len(messages) == 1
    assert messages[0].startswith(f"cannot read GRIB file {grib}: GRIB support is not "
                                  "installed")
    assert "Traceback" not in messages[0] and not (tmp_path / "era5.nc").exists()
    window.time_slider.setValue(2)
    assert window.time_index == 2
