"""The verification store on real values (the recorded Berlin hourly temperatures)."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest
import xarray as xr

from desktop_app.errors import ConfigError, DataFileError
from desktop_app.fsutil import load_netcdf
from desktop_app.watch.export import COLUMNS, export_training_set
from desktop_app.watch.store import SCHEMA_VERSION, Store, StoreError
from tests.cf_check import assert_cf_compliant
from tests.watch.replay import load_body


def berlin_rows():
    hourly = load_body()["hourly"]
    t = (np.array(hourly["time"], dtype="datetime64[s]").astype(np.int64) - 3600)
    v = np.array(hourly["temperature_2m"], dtype=np.float64)
    return t, v


def fill(store: Store):
    t, v = berlin_rows()
    store.upsert_stations([("berlin", "Berlin", 52.52, 13.41, 38.0)])
    store.add_observations([("berlin", "temperature", int(a), float(b))
                            for a, b in zip(t, v, strict=True)],
                           qc=[("berlin", "temperature", int(a), 1, "{}") for a in t])
    # a forecast issued at each hour for the next 3 hours: the real value 24 h earlier
    # (day-ahead persistence, a real naive model) so errors are real differences
    rows = []
    for i in range(24, t.size - 3):
        for lead in (1, 2, 3):
            rows.append(("persistence", "24h", "berlin", "temperature", int(t[i]),
                         int(t[i + lead]), float(v[i + lead - 24])))
    store.add_forecasts(rows)
    return t, v


def test_wal_mode_and_schema(tmp_path):
    with Store(tmp_path / "w.sqlite") as store:
        assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert store.version() == SCHEMA_VERSION


def test_v1_database_migrates_and_keeps_rows(tmp_path):
    path = tmp_path / "old.sqlite"
    t, v = berlin_rows()
    with Store(path, migrate_to=1) as old:
        assert old.version() == 1
        old.conn.executemany("INSERT INTO observations VALUES ('berlin','temperature',?,?)",
                             [(int(a), float(b)) for a, b in zip(t, v, strict=True)])
        old.conn.execute("INSERT INTO stations VALUES ('berlin','Berlin',52.5,13.4,38.0)")
        tables = {r[0] for r in old.conn.execute("SELECT name FROM sqlite_master")}
        assert "anomalies" not in tables
    with Store(path) as store:
        assert store.version() == SCHEMA_VERSION
        times, values, flags = store.history("berlin", "temperature")
        np.testing.assert_array_equal(times, t)
        np.testing.assert_array_equal(values, v)
        assert (flags == 2).all()  # not evaluated: v1 had no QC
        assert store.stations()[0][5] is None  # last_seen column added by v3
        assert store.counts()["anomalies"] == 0


def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / "w.sqlite"
    with Store(path) as store:
        store.conn.execute("INSERT INTO schema_version VALUES (99, 0)")
    with pytest.raises(StoreError, match="v99"):
        Store(path)


def test_dedup_and_corrections(tmp_path):
    with Store(tmp_path / "w.sqlite") as store:
        t, v = fill(store)
        again = [("berlin", "temperature", int(a), float(b))
                 for a, b in zip(t[:10], v[:10], strict=True)]
        assert store.add_observations(again) == 0
        assert store.add_observations([("berlin", "temperature", int(t[0]), 99.0)]) == 1
        assert store.counts()["observations"] == t.size
        assert store.history("berlin", "temperature")[1][0] == 99.0


def test_rolling_skill_matches_numpy(tmp_path):
    with Store(tmp_path / "w.sqlite") as store:
        t, v = fill(store)
        skill = {s.lead_s: s for s in store.skill("temperature")}
        for lead in (1, 2, 3):
            idx = np.arange(24, t.size - 3) + lead
            err = v[idx - 24] - v[idx]
            s = skill[lead * 3600]
            assert s.n == err.size
            assert s.mae == pytest.approx(np.abs(err).mean())
            assert s.rmse == pytest.approx(np.sqrt((err ** 2).mean()))
            assert s.bias == pytest.approx(err.mean())
        # a rolling window: only pairs valid since the last day
        since = int(t[-25])
        recent = {s.lead_s: s.n for s in store.skill("temperature", since=since)}
        assert recent[3600] == np.count_nonzero(t[np.arange(25, t.size - 2)] >= since)


def test_pairs_made_whichever_arrives_first(tmp_path):
    with Store(tmp_path / "w.sqlite") as store:
        store.upsert_stations([("s", "s", 0.0, 0.0, 0.0)])
        store.add_forecasts([("m", "1", "s", "temperature", 0, 3600, 5.0)])
        store.add_observations([("s", "temperature", 3600, 4.0)])
        store.add_observations([("s", "temperature", 7200, 6.5)])
        store.add_forecasts([("m", "1", "s", "temperature", 0, 7200, 6.0)])
        pairs = store.query("SELECT valid_time, error FROM pairs ORDER BY valid_time")
        assert pairs == [(3600, 1.0), (7200, -0.5)]


def test_locked_database_retries_with_backoff_then_succeeds(tmp_path):
    path = tmp_path / "w.sqlite"
    store = Store(path, busy_timeout_ms=10)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    slept: list[float] = []

    def sleep(s: float) -> None:
        slept.append(s)
        if len(slept) == 3:
            other.execute("COMMIT")  # the other program lets go

    store._sleep = sleep
    store.upsert_stations([("a", "a", 1.0, 2.0, 3.0)])
    assert slept == [0.1, 0.2, 0.4]
    assert store.stations()[0][0] == "a"
    other.execute("BEGIN EXCLUSIVE")
    with pytest.raises(StoreError, match="locked by another program"):
        store.upsert_stations([("b", "b", 1.0, 2.0, 3.0)])
    other.execute("ROLLBACK")
    other.close()
    store.close()


def test_full_disk_rolls_back_and_keeps_stored_rows(tmp_path):
    with Store(tmp_path / "w.sqlite") as store:
        t, v = fill(store)
        before = store.counts()
        pages = store.conn.execute("PRAGMA page_count").fetchone()[0]
        store.conn.execute(f"PRAGMA max_page_count = {pages + 1}")
        many = [("berlin", "temperature", int(t[-1]) + 60 * (i + 1), 1.0) for i in range(20000)]
        with pytest.raises(StoreError, match="disk full"):
            store.add_observations(many)
        assert store.counts() == before
        np.testing.assert_array_equal(store.history("berlin", "temperature")[1], v)


def test_acknowledge(tmp_path):
    with Store(tmp_path / "w.sqlite") as store:
        store.add_observations([], anomalies=[("s", "temperature", 10, "robust_z", 2.0, "{}")],
                               now=20)
        [a] = store.anomalies()
        assert a["acknowledged_at"] is None
        assert store.acknowledge(a["id"], "me", 30)
        assert not store.acknowledge(a["id"], "me", 40)
        assert store.anomalies()[0]["acknowledged_by"] == "me"
        assert store.anomalies(unacknowledged=True) == []


def test_export_csv_and_netcdf(tmp_path):
    with Store(tmp_path / "w.sqlite") as store:
        with pytest.raises(DataFileError, match="no verification pairs"):
            export_training_set(store, tmp_path / "x.csv")
        t, v = fill(store)
        n = export_training_set(store, tmp_path / "pairs.csv")
        assert n == 3 * (t.size - 27)
        import pandas as pd
        frame = pd.read_csv(tmp_path / "pairs.csv")
        assert tuple(frame.columns) == COLUMNS
        np.testing.assert_allclose(frame["error"], frame["forecast"] - frame["observed"])
        export_training_set(store, tmp_path / "pairs.nc")
        ds = load_netcdf(tmp_path / "pairs.nc")  # the app's reader: flags back to uint8
        assert ds["temperature"].dims == ("station", "time")
        assert "temperature_forecast_1h" in ds and ds["temperature_qc"].dtype == np.uint8
        np.testing.assert_allclose(ds["temperature"].values[0], v[25:t.size], rtol=1e-6)
        with xr.open_dataset(tmp_path / "pairs.nc") as raw:  # on disk: CF-1.8 signed bytes
            assert raw["temperature_qc"].dtype == np.int8
        assert_cf_compliant(tmp_path / "pairs.nc", tmp_path)
        with pytest.raises(ConfigError, match=r"\.csv or \.nc"):
            export_training_set(store, tmp_path / "x.parquet")


def test_exported_netcdf_is_a_station_target_file_for_the_trainer(tmp_path):
    """Closing the loop: the NetCDF export is read by the trainer's station-target loader
    (desktop_app.training.stations) with its own QC flags, no re-QC."""
    from desktop_app.training.config import DataConfig
    from desktop_app.training.stations import load_stations

    with Store(tmp_path / "w.sqlite") as store:
        t, v = fill(store)
        # the same real series at two more sites, so a train/val/test split exists
        store.upsert_stations([("berlin-b", "B", 52.60, 13.50, 40.0),
                               ("berlin-c", "C", 52.45, 13.30, 45.0)])
        for sid in ("berlin-b", "berlin-c"):
            store.add_observations(
                [(sid, "temperature", int(a), float(b)) for a, b in zip(t, v, strict=True)],
                qc=[(sid, "temperature", int(a), 1 if k % 5 else 4, "{}")
                    for k, a in enumerate(t)])
            store.add_forecasts([("persistence", "24h", sid, "temperature", int(t[i]),
                                  int(t[i + 1]), float(v[i - 23])) for i in range(24, 40)])
        export_training_set(store, tmp_path / "pairs.nc", all_flags=True)
    lat = np.linspace(52.3, 52.7, 9)
    lon = np.linspace(13.2, 13.6, 9)
    with xr.open_dataset(tmp_path / "pairs.nc") as ds:
        times = ds["time"].values
        flags = ds["temperature_qc"].values
        expected = int(((flags == 1) & np.isfinite(ds["temperature"].values)).sum())
    cfg = DataConfig(stations=str(tmp_path / "pairs.nc"), station_holdout=0.34)
    got = load_stations(cfg, seed=0, times=times, lat=lat, lon=lon)
    assert got.flag_source == "file"  # the watch's own QC flags were used
    assert got.counts["accepted"] == expected
    assert got.counts["rejected_by_qc"] == int((flags == 4).sum())
    assert sorted(got.split["train"] + got.split["val"] + got.split["test"]) == [
        "berlin", "berlin-b", "berlin-c"]
