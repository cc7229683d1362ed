"""Station readers on real USCRN and TMY3 files, and a generic CSV."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from desktop_app.errors import ConfigError, DataFileError, UnknownVariableError
from desktop_app.sources.station_formats import read_station_file
from desktop_app.sources.stations import CsvMapping, read_csv
from tests.sources.helpers import DATA

STATIONS = DATA / "stations"


def test_uscrn_tucson() -> None:
    ds = read_station_file(STATIONS / "CRNS0101-05-2019-AZ_Tucson_11_W.txt", "uscrn")
    assert ds["station_id"].values.tolist() == ["USCRN:53131"]
    assert float(ds["latitude"][0]) == pytest.approx(32.24)
    assert float(ds["longitude"][0]) == pytest.approx(-111.17)
    assert ds["time"].values[0] == np.datetime64("2019-01-01T16:10", "ns")  # UTC columns
    t = ds["temperature"].values[0]
    assert np.isnan(t[0])  # -9999.0 in the file
    np.testing.assert_allclose(t[1:], [3.3, 3.5, 4.0], atol=1e-5)
    np.testing.assert_allclose(ds["relative_humidity"].values[0], [90, 87, 83, 81])


def test_uscrn_real_faults() -> None:
    # Titusville FL rows with -99999 (radiation), -99.000 (soil moisture), a blank row
    ds = read_station_file(STATIONS / "CRN_with_problems.txt", "uscrn")
    assert ds.sizes["time"] == 3  # the whitespace-only line is skipped
    assert np.isfinite(ds["temperature"].values).all()
    assert ds["wind_speed"].attrs["comment"] == "measured at 1.5 m above ground"


def test_uscrn_gets_an_elevation_and_says_where_from() -> None:
    # The sub-hourly product has no elevation column: the bundled altitude grid gives
    # one, labelled as such. Tucson 11 W lies in the Sonoran desert hills (~700 m),
    # Titusville 7 E on Florida's coast (near 0 m).
    tucson = read_station_file(STATIONS / "CRNS0101-05-2019-AZ_Tucson_11_W.txt", "uscrn")
    coast = read_station_file(STATIONS / "CRN_with_problems.txt", "uscrn")
    assert 600.0 < float(tucson["elevation"][0]) < 850.0
    assert -10.0 < float(coast["elevation"][0]) < 30.0
    assert "altitude grid" in tucson["elevation"].attrs["comment"]
    assert "stations.tsv" in tucson["elevation"].attrs["comment"]  # where the true one is
    from desktop_app.sources.station_formats import read_station_files

    given = read_station_files([STATIONS / "CRNS0101-05-2019-AZ_Tucson_11_W.txt"], "uscrn",
                               elevation=733.0)
    assert float(given["elevation"][0]) == 733.0
    assert given["elevation"].attrs["comment"] == "given by the user"
    both = read_station_files([STATIONS / "CRNS0101-05-2019-AZ_Tucson_11_W.txt",
                               STATIONS / "CRN_with_problems.txt"], "uscrn")
    assert both.sizes["station"] == 2 and np.isfinite(both["elevation"].values).all()


def test_tmy3_greensboro() -> None:
    ds = read_station_file(STATIONS / "723170TYA.CSV", "tmy3")
    assert ds.sizes == {"station": 1, "time": 8760}
    assert float(ds["elevation"][0]) == 273.0
    # first row: 01/01 01:00 local standard time (UTC-5) -> 06:00 UTC
    assert ds["time"].values[0] == np.datetime64("1990-01-01T06:00", "ns")
    assert float(ds["temperature"][0, 0]) == 10.0
    assert float(ds["surface_pressure"][0, 0]) == 993.0
    assert ds["surface_pressure"].attrs["units"] == "hPa"
    assert "year set to 1990" in ds.attrs["comment"]


def test_generic_csv_with_mapping_units_and_missing_codes(tmp_path: Path) -> None:
    csv = tmp_path / "obs.csv"
    csv.write_text("when,T_F,wind_kmh\n2024-01-01 00:00,50.0,36\n2024-01-01 01:00,-9999,-7999\n"
                   "2024-01-01 02:00,32.0,0\n")
    mapping = CsvMapping.parse("time=when,temperature=T_F,wind_speed=wind_kmh",
                               station_id="mine", latitude=45.0, longitude=7.0,
                               utc_offset_hours=1.0,
                               units={"temperature": "degF", "wind_speed": "km/h"})
    ds = read_csv(csv, mapping)
    np.testing.assert_allclose(ds["temperature"].values[0], [10.0, np.nan, 0.0], atol=1e-5)
    np.testing.assert_allclose(ds["wind_speed"].values[0], [10.0, np.nan, 0.0], atol=1e-5)
    assert ds["time"].values[0] == np.datetime64("2023-12-31T23:00", "ns")


def test_bad_station_input(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match="not a USCRN sub-hourly row"):
        read_station_file(STATIONS / "723170TYA.CSV", "uscrn")
    with pytest.raises(DataFileError, match="TMY3"):
        read_station_file(STATIONS / "CRN_with_problems.txt", "tmy3")
    with pytest.raises(UnknownVariableError, match="unknown variable 'temp'"):
        CsvMapping.parse("time=a,temp=b")
    with pytest.raises(ConfigError, match="needs time=COLUMN"):
        CsvMapping.parse("temperature=b")
    csv = tmp_path / "obs.csv"
    csv.write_text("t,x\n2024-01-01,1\n")
    with pytest.raises(DataFileError, match="no column"):
        read_csv(csv, CsvMapping.parse("time=t,temperature=T", latitude=1, longitude=1))
    with pytest.raises(DataFileError, match="not found"):
        read_station_file(tmp_path / "nope.txt", "uscrn")
