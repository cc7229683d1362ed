import numpy as np
import pytest

from desktop_app.core.flags import QCFlag
from desktop_app.sources.region import load_region

pytestmark = pytest.mark.gui


def _run_qc(window, qtbot):
    window.panels.setCurrentWidget(window.qc_panel)
    with qtbot.waitSignal(window.tasks.finished, timeout=120000):
        assert window.qc_panel.run()


def test_qc_panel_flags_the_injected_faults_and_colours_markers(window, qtbot):
    _run_qc(window, qtbot)
    st = window.view.stations
    assert "temperature_qc" in st and "temperature_qc_spike" in st
    original = load_region().stations
    np.testing.assert_array_equal(st["temperature"].values, original["temperature"].values)
    assert "temperature_qc" not in window.view.region.stations  # the loaded bundle is intact
    # SYN-02 has an injected +12 degC spike at step 30 (see the sample's attributes)
    window.time_slider.setValue(30)
    flags = window.view.station_flags("temperature", 30)
    assert flags[1] in (QCFlag.SUSPECT, QCFlag.FAIL)
    rows = {(window.qc_panel.table.item(r, 0).text(), window.qc_panel.table.item(r, 1).text())
            for r in range(window.qc_panel.table.rowCount())}
    assert ("temperature", "spike") in rows and ("temperature", "flat_line") in rows
    texts = [window.qc_panel.flagged.item(i).text()
             for i in range(window.qc_panel.flagged.count())]
    assert any(t.startswith("SYN-02 2024-07-16 06:00") and "spike" in t for t in texts)
    assert any(t.startswith("SYN-04") and "flat_line" in t for t in texts)


def test_clicking_a_flagged_value_jumps_map_and_series_to_it(window, qtbot):
    _run_qc(window, qtbot)
    lst = window.qc_panel.flagged
    item = next(lst.item(i) for i in range(lst.count()) if lst.item(i).text().startswith("SYN-04"))
    lst.itemClicked.emit(item)
    _, k, t = item.data(0x0100)
    assert window.selected_station == k == 3
    assert window.time_index == t
    assert "SYN-04" in window.series.title.text()
    flagged_x, _ = window.series.flagged.getData()
    assert len(flagged_x) >= 1  # the series marks flagged points


def test_a_bad_config_is_a_message_and_nothing_changes(window, qtbot, tmp_path, messages):
    shown = messages
    cfg = tmp_path / "qc.toml"
    cfg.write_text("[variables.temperature.spike]\ntreshold = 3\n")
    window.qc_panel.config_edit.setText(str(cfg))
    with qtbot.waitSignal(window.tasks.failed, timeout=60000):
        window.qc_panel.run()
    assert shown and "treshold" in shown[0]
    assert "temperature_qc" not in window.view.stations
