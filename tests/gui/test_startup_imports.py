"""What the window imports before its first map frame (issue 22: launch to map).

The time-series plot (pyqtgraph), the New-region dialog (httpx), Dask (through xarray),
matplotlib (through vispy's colour lookup) and pyproj are not needed to show the map;
they load after the first frame or when first used. Checked in a fresh process, the way
a user launches the app (no timings here: benchmarks/bench_startup.py measures them).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.gui

ROOT = Path(__file__).resolve().parents[2]
DEFERRED = ("pyqtgraph", "httpx", "dask", "matplotlib", "pyproj", "rasterio", "numba",
            "onnxruntime", "onnx", "OpenGL")
_SCRIPT = """
import sys
from pathlib import Path
from desktop_app.gui import main_window

deferred = {deferred!r}
seen = {{}}
first_frame = main_window.MainWindow._build_panels_soon

def probe(self):  # runs on the first map frame, before anything is built after it
    seen["first"] = sorted(m for m in deferred if m in sys.modules)
    seen["freetype"] = "freetype" in sys.modules
    first_frame(self)

main_window.MainWindow._build_panels_soon = probe
build_series = main_window.MainWindow._build_series

def series_built(self):
    print("SERIES built", flush=True)
    build_series(self)

main_window.MainWindow._build_series = series_built
from desktop_app.gui import app

grab = app.save_screenshot

def sizes_then_grab(window, path):  # the window as the screenshot shows it
    print("SPLIT", *window.centralWidget().sizes(), flush=True)
    return grab(window, path)

app.save_screenshot = sizes_then_grab
from desktop_app.gui.app import end_process, run_gui

code = run_gui(None, screenshot=Path(sys.argv[1]))
print("FIRST", *seen["first"])
print("AFTER", *sorted(m for m in deferred if m in sys.modules))
from desktop_app.viz import glyphs
print("GLYPHS", glyphs.distance_fields.computed, len(glyphs.distance_fields.fields))
from desktop_app.viz import glyph_records
print("RECORDS", glyph_records.records.served, glyph_records.records.learned_here,
      int(seen["freetype"]))
end_process(code)  # as microclimate gui ends
"""


def _launch(tmp_path: Path, out: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MICROCLIMATE_HOME": str(tmp_path / "h")}
    proc = subprocess.run([sys.executable, "-c", _SCRIPT.format(deferred=DEFERRED), str(out)],
                          capture_output=True, text=True, timeout=300, env=env, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]  # the screenshot, and a clean exit
    return proc


def _said(proc: subprocess.CompletedProcess[str], word: str) -> list[int]:
    line = next(line for line in proc.stdout.splitlines() if line.startswith(word))
    return [int(v) for v in line.split()[1:]]


def test_the_first_map_frame_needs_none_of_the_deferred_modules(tmp_path, qapp) -> None:
    out = tmp_path / "window.png"
    proc = _launch(tmp_path, out)
    lines = dict(line.split(" ", 1) if " " in line else (line, "")
                 for line in proc.stdout.splitlines() if line.startswith(("FIRST", "AFTER")))
    assert lines["FIRST"].split() == []
    # built after the first frame: the series plot, and the panels (Numba for QC)
    after = set(lines["AFTER"].split())
    assert {"pyqtgraph", "numba"} <= after
    assert "onnx" not in after  # the Forecast panel's CUDA probe ships its model serialised
    assert out.stat().st_size > 0
    # the time it reports is the first frame's, before the panels that come after it
    # (the first frame is drawn inside show() on Xvfb: a listener connected after it
    # heard the second frame, and start-up looked 2 s slower than it was)
    order = [line.split(" ", 1)[0] for line in proc.stdout.splitlines()]
    assert order.index("map") < order.index("SERIES"), proc.stdout
    # and the series pane built after it has its share of the width in the screenshot:
    # the splitter was laid out while the pane was empty, and a pane left at width 0
    # stays collapsed (it did, depending on timing, once the first frame came sooner)
    split = next(line for line in proc.stdout.splitlines() if line.startswith("SPLIT"))
    left, pane = (int(v) for v in split.split()[1:])
    assert pane > 0.3 * (left + pane), split
    # the labels' glyph fields: on this first launch (an empty home) from the fields the
    # app ships, none worked out; without them (another vispy), worked out and on disk
    # for the next launch, although the run ended before the delayed save (a --screenshot
    # run never reached it)
    from desktop_app.paths import resources_dir
    from desktop_app.viz.glyphs import DistanceFieldCache, distance_field_file

    computed, served = _said(proc, "GLYPHS")
    assert served >= 20
    if distance_field_file(resources_dir() / "glyphs").exists():
        assert computed == 0
    else:
        stored = DistanceFieldCache(distance_field_file(tmp_path / "h" / "cache"))
        assert computed > 0 and len(stored.fields) >= 20

    # the next launch takes what vispy keeps of each glyph (metrics, kerning, field) from
    # the records the first one wrote: no FreeType before its first frame (that they are
    # vispy's own glyphs: tests/viz/test_glyph_records.py)
    _served, learned, freetype_loaded = _said(proc, "RECORDS")
    assert learned >= 20 and freetype_loaded  # (the first launch: nothing recorded yet)
    again = _launch(tmp_path, tmp_path / "again.png")
    served, learned, freetype_loaded = _said(again, "RECORDS")
    assert served >= 20 and learned == 0 and not freetype_loaded


def test_the_window_turns_off_numpys_huge_page_advice_unless_the_user_chose(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from numpy._core import multiarray

    from desktop_app.gui.app import no_huge_page_stalls

    before = multiarray._get_madvise_hugepage()
    try:
        multiarray._set_madvise_hugepage(True)
        monkeypatch.setenv("NUMPY_MADVISE_HUGEPAGE", "1")
        assert not no_huge_page_stalls()  # the user's choice stands
        assert multiarray._get_madvise_hugepage()
        monkeypatch.delenv("NUMPY_MADVISE_HUGEPAGE")
        assert no_huge_page_stalls()
        assert not multiarray._get_madvise_hugepage()
        assert not no_huge_page_stalls()  # already off: nothing changes
    finally:
        multiarray._set_madvise_hugepage(before)


def test_the_collector_is_back_on_at_the_first_frame(qtbot, qapp, sample_region, tmp_path,
                                                      monkeypatch) -> None:
    import gc

    from desktop_app.gui.app import collector_back_at_first_frame
    from desktop_app.gui.main_window import MainWindow
    from desktop_app.gui.region_view import RegionView

    from .conftest import close_window

    monkeypatch.setenv("MICROCLIMATE_HOME", str(tmp_path / "home"))
    win = MainWindow(RegionView(sample_region))
    qtbot.addWidget(win)
    assert not collector_back_at_first_frame(win)  # on already: not its to change
    gc.disable()  # as desktop_app.launch leaves it
    try:
        assert collector_back_at_first_frame(win)
        assert not gc.isenabled()
        with qtbot.waitSignal(win.map.drawn, timeout=20000):
            win.show()
        assert gc.isenabled()
    finally:
        gc.enable()
        close_window(win, qapp)
