"""The watcher on a loopback replay of a real recorded Open-Meteo answer (see replay.py)
with injected faults; the clock and sleep are fake, nothing waits for real."""

from __future__ import annotations

import json
import sqlite3

import numpy as np

from desktop_app.watch.config import parse_config
from desktop_app.watch.sources import StationFiles
from desktop_app.watch.store import Store
from desktop_app.watch.watcher import Watcher
from tests.watch.conftest import FakeClock, berlin_start
from tests.watch.replay import Replay

HOUR = 3600


def drive(w, clock, replay, steps):
    results = []
    for i in steps:
        replay.step = i
        clock.now = berlin_start() + HOUR * i
        results.append(w.poll_once())
    return results


def real_series(n):
    h = Replay().hourly
    t = np.array(h["time"][:n], dtype="datetime64[s]").astype(np.int64) - HOUR
    return t, np.array(h["temperature_2m"][:n], dtype=float)


def test_replay_stores_every_real_value_qc_and_features(make_watcher):
    replay = Replay()
    w, clock = make_watcher(replay)
    results = drive(w, clock, replay, range(100))
    assert all(r.ok for r in results)
    t, v = real_series(100)
    times, values, flags = w.store.history("berlin", "temperature")
    np.testing.assert_array_equal(times, t)
    np.testing.assert_array_equal(values, v)
    assert set(np.unique(flags)) <= {1, 3}  # every value QC'd, none left unevaluated
    # features: hourly data, so each 5-minute window holds exactly its one value
    feats = w.store.query("SELECT window_end, n, mean, min, max FROM features ORDER BY 1")
    assert [f[0] for f in feats] == t.tolist()
    assert all(f[1] == 1 and f[3] == f[4] for f in feats)
    np.testing.assert_allclose([f[2] for f in feats], v, atol=1e-9)
    np.testing.assert_array_equal([f[3] for f in feats], v)
    # forecasts from each answer's hourly block are paired with later observations
    assert w.store.counts()["pairs"] > 0
    assert w.counters.new_values == 100


def test_spike_raises_an_alert_and_a_qc_flag(make_watcher):
    replay = Replay(faults={60: "spike"})
    w, clock = make_watcher(replay)
    drive(w, clock, replay, range(70))
    spike_t = int(real_series(61)[0][60])
    alerts = w.store.anomalies()
    assert spike_t in {a["time"] for a in alerts}
    detail = json.loads(next(a for a in alerts if a["time"] == spike_t)["detail"])
    assert detail["residual"] == 15.0  # against the forecast issued an hour before
    flag = w.store.query("SELECT flag, tests FROM qc_flags WHERE time = ?", (spike_t,))[0]
    assert flag[0] >= 3 and json.loads(flag[1])["spike"] >= 3
    # the same run without the spike raises nothing at that hour
    clean = Replay()
    w2, clock2 = make_watcher(clean, db=w.store.path.with_name("clean.sqlite"))
    drive(w2, clock2, clean, range(70))
    assert spike_t not in {a["time"] for a in w2.store.anomalies()}


def test_outage_backs_off_and_honours_retry_after(make_watcher):
    replay = Replay(faults={10: "5xx", 11: "5xx", 12: "timeout", 13: "5xx"})
    w, clock = make_watcher(replay)
    results = drive(w, clock, replay, range(16))
    delays = [r.next_delay_s for r in results]
    assert delays[:10] == [60.0] * 10
    assert delays[10:14] == [120.0, 240.0, 480.0, 960.0]
    assert delays[14] == 60.0  # back to normal after a good poll
    assert 1.0 in clock.slept  # Retry-After: 1 from the replayed 503
    assert w.counters.poll_failures == 4
    # capped
    w.failures = 30
    assert w.next_delay() == 30 * 60.0
    # no value lost: the missed hours are simply absent, all others stored
    times = w.store.history("berlin", "temperature")[0]
    t, _ = real_series(16)
    np.testing.assert_array_equal(times, np.delete(t, [10, 11, 12, 13]))


def test_gap_and_stuck_answers_are_deduplicated(make_watcher):
    replay = Replay(faults={20: "gap", 21: "gap"})
    w, clock = make_watcher(replay)
    drive(w, clock, replay, range(25))
    # poll 20 answers hour 19 again (a duplicate), poll 21 answers hour 20 (late, new);
    # hour 21 is never answered: a gap in the store, nothing else missing
    assert w.counters.duplicates == 1
    t, _ = real_series(25)
    np.testing.assert_array_equal(w.store.history("berlin", "temperature")[0],
                                  np.delete(t, 21))


def test_restart_mid_run_loses_nothing(make_watcher, tmp_path):
    faults = {30: "spike", 50: "5xx"}
    full = Replay(faults=dict(faults))
    w_full, c_full = make_watcher(full, db=tmp_path / "full.sqlite")
    drive(w_full, c_full, full, range(90))

    first = Replay(faults=dict(faults))
    w1, c1 = make_watcher(first, db=tmp_path / "split.sqlite")
    drive(w1, c1, first, range(45))
    w1.store.close()
    second = Replay(faults=dict(faults))
    w2, c2 = make_watcher(second, db=tmp_path / "split.sqlite")
    assert w2.series["berlin"].times[-1] == real_series(45)[0][44]  # resumed
    drive(w2, c2, second, range(45, 90))
    for table in ("observations", "qc_flags", "features"):
        a = w_full.store.query(f"SELECT * FROM {table} ORDER BY 1, 2, 3")
        b = w2.store.query(f"SELECT * FROM {table} ORDER BY 1, 2, 3")
        assert a == b, table
    key = "SELECT station, time, detector FROM anomalies ORDER BY 1, 2, 3"
    assert w_full.store.query(key) == w2.store.query(key)


def test_out_of_order_and_clock_jump(make_watcher):
    replay = Replay()
    w, clock = make_watcher(replay)
    drive(w, clock, replay, range(30))
    t, v = real_series(30)
    late = (t[29] - 1800, 4.2)  # a value that arrives late, between two stored ones
    future = (int(clock.now) + 10 * HOUR, 5.0)  # a station clock 10 h ahead
    from desktop_app.watch.sources import Batch
    w.pending.append(Batch(observations=[("berlin", int(late[0]), late[1]),
                                         ("berlin", int(future[0]), future[1])]))
    w._ingest(int(clock.now))
    times = w.store.history("berlin", "temperature")[0]
    assert late[0] in times and future[0] not in times
    assert w.counters.clock_jumps == 1
    assert any("future" in m for m in w.reports)
    qc = w.store.query("SELECT flag FROM qc_flags WHERE time = ?", (int(late[0]),))
    assert qc and qc[0][0] in (1, 3, 4)


def test_locked_store_keeps_rows_pending_until_the_next_poll(make_watcher):
    replay = Replay()
    w, clock = make_watcher(replay)
    drive(w, clock, replay, range(5))
    w.store.attempts = 2
    w.store.conn.execute("PRAGMA busy_timeout = 10")
    other = sqlite3.connect(w.store.path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    [r] = drive(w, clock, replay, [5])
    assert not r.ok and "locked" in r.errors[0]
    assert w.counters.store_failures == 1 and w.pending
    other.execute("ROLLBACK")
    other.close()
    [r] = drive(w, clock, replay, [6])
    assert r.ok and not w.pending
    t, _ = real_series(7)
    np.testing.assert_array_equal(w.store.history("berlin", "temperature")[0], t)


def test_station_that_stops_answering_is_reported(make_watcher):
    replay = Replay()
    w, clock = make_watcher(replay)
    drive(w, clock, replay, range(5))
    clock.now += 5 * HOUR
    w.sources = []
    w.poll_once()
    assert "berlin" in w.stale
    assert any("no new value" in m for m in w.reports)


def test_local_station_file_source(tmp_path):
    from pathlib import Path
    data = Path(__file__).resolve().parent.parent / "data" / "qc"
    cfg = parse_config({"interval_minutes": 5, "database": str(tmp_path / "f.sqlite"),
                        "stations": [{"id": "greensboro", "latitude": 36.1,
                                      "longitude": -79.9, "source": "file",
                                      "path": str(data / "723170TYA.CSV"),
                                      "format": "tmy3"}]})
    clock = FakeClock(float(np.datetime64("1991-01-01", "s").astype(np.int64)))
    with Store(cfg.database_path) as store:
        source = StationFiles(cfg.stations, base_dir=tmp_path)
        w = Watcher(cfg, store, [source], clock=clock, sleep=clock.sleep, use_forest=False)
        r1 = w.poll_once()
        # the whole file is older than the 48 h window behind its own last value:
        # only the window is taken in, the older rows count as too old
        assert r1.ok and r1.new_values == store.counts()["observations"] > 0
        r2 = w.poll_once()
        assert r2.new_values == 0


def test_without_scikit_learn_the_watcher_keeps_robust_z_and_names_the_extra(
        make_watcher, monkeypatch):
    from desktop_app.errors import MicroclimateError
    from desktop_app.watch import anomaly

    def missing():
        raise MicroclimateError("the learned anomaly detector needs the [watch] extra")

    monkeypatch.setattr(anomaly, "_isolation_forest", missing)
    replay = Replay(faults={140: "spike"})
    w, clock = make_watcher(replay, config={"history_hours": 240.0})
    drive(w, clock, replay, range(120))
    w._fit()
    assert w.forest is None
    assert any("[watch] extra" in m for m in w.reports)
    detectors = {a["detector"] for a in w.store.anomalies()}
    assert detectors == {"robust_z"}
    # the same run with scikit-learn fits the forest and scores with it
    monkeypatch.undo()
    replay2 = Replay(faults={140: "spike"})
    w2, clock2 = make_watcher(replay2, db=w.store.path.with_name("sk.sqlite"),
                              config={"history_hours": 240.0})
    drive(w2, clock2, replay2, range(120))
    w2._fit()
    assert w2.forest is not None
    drive(w2, clock2, replay2, range(120, 150))
    s = w2.series["berlin"]
    scores = w2.forest.score(w2._features("berlin", s.times, s.values))
    new = s.times >= real_series(121)[0][120]
    spike_t = int(real_series(141)[0][140])
    # on a ~100-value history the forest is weak (its cut sits at the history's top
    # score), but the spike is the most anomalous new value it has seen
    assert s.times[new][np.argmax(scores[new])] == spike_t
    assert "robust_z" in {a["detector"] for a in w2.store.anomalies() if a["time"] == spike_t}


def test_a_corrected_value_replaces_the_stored_one_and_is_requalified(make_watcher):
    from desktop_app.watch.sources import Batch
    replay = Replay()
    w, clock = make_watcher(replay)
    drive(w, clock, replay, range(30))
    t, v = real_series(30)
    w.pending.append(Batch(observations=[("berlin", int(t[20]), float(v[20]) + 12.0)]))
    stored, _ = w._ingest(int(clock.now))
    assert stored == 1  # one row changed, none added
    times, values, flags = w.store.history("berlin", "temperature")
    assert times.size == 30 and values[20] == v[20] + 12.0
    assert flags[20] >= 3  # the corrected value is a spike against its neighbours
    window = w.series["berlin"]
    assert window.times.size == 30 and window.values[20] == v[20] + 12.0
