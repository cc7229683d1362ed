"""SMET on real IMIS stations (a week of January 2009 cut from the MeteoIO examples)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from desktop_app.errors import ConfigError, DataFileError
from desktop_app.sources.smet import read_smet
from desktop_app.sources.station_formats import (
    STATION_FORMATS,
    guess_format,
    read_station_files,
    station_format,
)
from tests.sources.helpers import DATA

IMIS = DATA / "stations" / "imis"
FIR2 = IMIS / "FIR2_2009-01-20_26.smet"
OTT2 = IMIS / "OTT2_2009-01-20_26.smet"


def _row(path: Path, stamp: str) -> list[str]:
    return next(line.split() for line in path.read_text().splitlines()
                if line.startswith(stamp))


def test_values_units_and_time_zone() -> None:
    ds = read_smet(FIR2)
    # tz = 1: the file's 2009-01-20T00:00 is 2009-01-19T23:00 UTC
    assert ds["time"].values[0] == np.datetime64("2009-01-19T23:00", "ns")
    assert ds.sizes == {"station": 1, "time": 168}
    stamp, ta, rh, vw, dw = _row(FIR2, "2009-01-22T12:00")[:5]
    i = int(np.flatnonzero(ds["time"].values == np.datetime64("2009-01-22T11:00", "ns"))[0])
    assert float(ds["temperature"][0, i]) == pytest.approx(float(ta) - 273.15, abs=1e-4)
    assert float(ds["relative_humidity"][0, i]) == pytest.approx(float(rh) * 100, abs=1e-3)
    assert float(ds["wind_speed"][0, i]) == pytest.approx(float(vw))
    assert float(ds["wind_direction"][0, i]) == pytest.approx(float(dw))
    assert ds["temperature"].attrs["units"] == "degC"
    assert ds.attrs["dropped_fields"] == "HS, RSWR, TSG, TSS"
    assert str(ds["station_name"].values[0]) == "Schmidigen-Bidmeren"


def test_coordinates_altitude_and_epsg(tmp_path: Path) -> None:
    ds = read_smet(FIR2)
    assert float(ds["latitude"][0]) == pytest.approx(46.668527)
    assert float(ds["longitude"][0]) == pytest.approx(8.064570)
    assert float(ds["elevation"][0]) == 2110.0
    # The same file with only its Swiss grid position (easting/northing, EPSG:21781):
    # pyproj must land on the latitude/longitude the header also states.
    lines = [line for line in FIR2.read_text().splitlines()
             if not line.startswith(("latitude", "longitude"))]
    projected = tmp_path / "FIR2_projected.smet"
    projected.write_text("\n".join(lines) + "\n")
    again = read_smet(projected)
    assert float(again["latitude"][0]) == pytest.approx(46.668527, abs=1e-4)
    assert float(again["longitude"][0]) == pytest.approx(8.064570, abs=1e-4)
    no_epsg = tmp_path / "no_epsg.smet"
    no_epsg.write_text("\n".join(ln for ln in lines if not ln.startswith("epsg")) + "\n")
    with pytest.raises(DataFileError, match="easting/northing need an epsg"):
        read_smet(no_epsg)


def test_nodata_as_declared_and_as_written() -> None:
    fir2 = read_smet(FIR2)  # nodata = -999: wind missing on 21 January
    i = int(np.flatnonzero(fir2["time"].values == np.datetime64("2009-01-20T23:00", "ns"))[0])
    assert _row(FIR2, "2009-01-21T00:00")[3] == "-999"
    assert np.isnan(fir2["wind_speed"][0, i]) and np.isnan(fir2["wind_direction"][0, i])
    assert np.isfinite(fir2["temperature"][0, i])
    # OTT2 declares nodata = -9999 but writes -999 for missing wind: still missing
    ott2 = read_smet(OTT2)
    j = int(np.flatnonzero(ott2["time"].values == np.datetime64("2009-01-24T18:00", "ns"))[0])
    assert _row(OTT2, "2009-01-24T19:00")[3] == "-999"
    assert np.isnan(ott2["wind_speed"][0, j])
    assert np.nanmin(ott2["wind_speed"].values) >= 0.0


def test_seven_stations_one_dataset_and_a_winter_inversion() -> None:
    files = sorted(IMIS.glob("*.smet"))
    ds = read_station_files(files, "smet")
    assert ds.sizes["station"] == 7
    assert sorted(float(e) for e in ds["elevation"].values) == [
        1630.0, 2020.0, 2020.0, 2100.0, 2110.0, 2220.0, 2390.0]
    assert {str(s) for s in ds["station_id"].values} == {
        "SMET:FIR2", "SMET:FLU2", "SMET:FRA2", "SMET:GLA2", "SMET:ILI2", "SMET:OTT2",
        "SMET:TUJ3"}
    t = ds["temperature"].values
    assert np.nanmin(t) > -35 and np.nanmax(t) < 15  # degC, Alpine January


def test_bad_smet(tmp_path: Path) -> None:
    text = FIR2.read_text()
    cases = {
        "binary.smet": (text.replace("SMET 1.1 ASCII", "SMET 1.1 BINARY"), "only ASCII"),
        "nodata.smet": ("\n".join(ln for ln in text.splitlines()
                                  if not ln.startswith("nodata")), "lacks 'nodata'"),
        "short.smet": (text + "2009-01-27T00:00 270.0\n", "data row 169 has 2 values"),
        "nodata_section.smet": (text.split("[DATA]")[0], "no \\[DATA\\] section"),
    }
    for name, (content, match) in cases.items():
        path = tmp_path / name
        path.write_text(content)
        with pytest.raises(DataFileError, match=match):
            read_smet(path)
    with pytest.raises(DataFileError, match="not a SMET file"):
        read_smet(DATA / "stations" / "723170TYA.CSV")


def test_the_format_table() -> None:
    assert list(STATION_FORMATS) == ["uscrn", "tmy3", "smet", "csv"]
    assert guess_format(FIR2) == "smet"
    assert guess_format(DATA / "stations" / "CRNS0101-05-2019-AZ_Tucson_11_W.txt") == "uscrn"
    assert station_format("smet").file_filter() == "SMET (SLF/MeteoIO) (*.smet)"
    with pytest.raises(ConfigError, match="unknown station format 'wmo'; known: uscrn"):
        station_format("wmo")
    with pytest.raises(DataFileError, match="appears in more than one file"):
        read_station_files([FIR2, FIR2], "smet")
