"""Sources of the watch: the ``current`` block of real recorded Open-Meteo answers and
local station files/folders (real USCRN rows)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from desktop_app.errors import DataFileError, DataSourceError
from desktop_app.sources.openmeteo_parse import parse_current
from desktop_app.watch.config import StationSpec
from desktop_app.watch.sources import StationFiles

DATA = Path(__file__).resolve().parent.parent / "data"
OM = DATA / "sources" / "openmeteo"


def utc(s: str) -> int:
    return int(np.datetime64(s, "s").astype(np.int64))


@pytest.mark.parametrize("name,when,value", [
    # Berlin, UTC+1 in November: 23:00 local is 22:00 UTC
    ("homeassistant_forecast_berlin.json", "2021-11-24T22:00", 5.5),
    # Enschede, UTC+2 in October: 13:00 local is 11:00 UTC
    ("frenck_forecast_models.json", "2026-10-03T11:00", 20.3),
])
def test_current_block_of_recorded_answers(name, when, value):
    body = json.loads((OM / name).read_text(encoding="utf-8"))
    assert parse_current(body, "temperature") == (utc(when), value)


def test_current_null_unit_and_missing_block():
    body = json.loads((OM / "frenck_forecast_models.json").read_text(encoding="utf-8"))
    body["current"]["temperature_2m"] = None
    assert np.isnan(parse_current(body, "temperature")[1])
    body["current"]["temperature_2m"] = 68.0
    body["current_units"]["temperature_2m"] = "°F"
    assert parse_current(body, "temperature")[1] == pytest.approx(20.0)
    with pytest.raises(DataSourceError, match="'current' lacks 'relative_humidity_2m'"):
        parse_current(body, "relative_humidity")
    del body["current"]
    with pytest.raises(DataSourceError, match="no 'current' block"):
        parse_current(body, "temperature")


def test_a_folder_of_logger_files_reads_like_the_one_file(tmp_path):
    lines = (DATA / "qc" / "CRN_with_problems.txt").read_text().splitlines(keepends=True)
    folder = tmp_path / "crn"
    folder.mkdir()
    (folder / "day1.txt").write_text("".join(lines[:2]))
    (folder / "day2.txt").write_text("".join(lines[2:]))
    one = StationFiles([StationSpec("crn", 28.62, -80.69, path=str(DATA / "qc" /
                                                                   "CRN_with_problems.txt"))])
    many = StationFiles([StationSpec("crn", 28.62, -80.69, path=str(folder))])
    a, b = one.fetch().observations, many.fetch().observations
    assert len(a) == 3 and a == b
    assert [round(x[2], 1) for x in a] == [24.9, 26.8, 26.9]
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataSourceError, match="has no files"):
        StationFiles([StationSpec("x", 0.0, 0.0, path=str(empty))]).fetch()
    with pytest.raises(DataFileError, match="not found"):
        StationFiles([StationSpec("x", 0.0, 0.0, path=str(tmp_path / "nope.txt"))]).fetch()


def test_file_station_formats_come_from_the_table(tmp_path):
    from desktop_app.errors import ConfigError
    from desktop_app.watch.config import parse_config

    def config(fmt):
        return {"stations": [{"id": "fir2", "latitude": 46.67, "longitude": 8.06,
                              "source": "file", "format": fmt,
                              "path": str(DATA / "sources" / "stations" / "imis" /
                                          "FIR2_2009-01-20_26.smet")}]}

    cfg = parse_config(config("smet"))
    batch = StationFiles(list(cfg.stations)).fetch()
    assert len(batch.observations) == 168
    # the file's 2009-01-20T00:00 local (tz = 1) is 23:00 UTC the day before, TA in K
    first = min(batch.observations, key=lambda o: o[1])
    assert first[1] == int(np.datetime64("2009-01-19T23:00", "s").astype(np.int64))
    with pytest.raises(ConfigError, match="stations\\[0\\].format: 'wmo' is not one of "
                                          "uscrn, tmy3, smet"):
        parse_config(config("wmo"))
