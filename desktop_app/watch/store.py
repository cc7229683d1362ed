"""The verification store: one SQLite file in WAL mode, schema versioned with migrations.

Times are integer seconds since the Unix epoch (UTC). Observations are unique per
(station, variable, time): a repeated poll of the same value is ignored, a corrected
value replaces the old one. Writes run in one transaction each; a locked database is
retried with capped exponential backoff, a full disk rolls the transaction back (rows
stored before stay stored) and raises :class:`StoreError` so the caller keeps its
pending rows and tries again later.
"""

from __future__ import annotations

import sqlite3
import time as _time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import numpy as np

from desktop_app.errors import MicroclimateError

T = TypeVar("T")

SCHEMA_VERSION = 3

_V1 = """
CREATE TABLE stations (
    id TEXT PRIMARY KEY, name TEXT, latitude REAL, longitude REAL, elevation REAL);
CREATE TABLE observations (
    station TEXT NOT NULL, variable TEXT NOT NULL, time INTEGER NOT NULL, value REAL,
    PRIMARY KEY (station, variable, time)) WITHOUT ROWID;
"""
_V2 = """
CREATE TABLE qc_flags (
    station TEXT NOT NULL, variable TEXT NOT NULL, time INTEGER NOT NULL,
    flag INTEGER NOT NULL, tests TEXT,
    PRIMARY KEY (station, variable, time)) WITHOUT ROWID;
CREATE TABLE forecasts (
    model TEXT NOT NULL, model_version TEXT NOT NULL, station TEXT NOT NULL,
    variable TEXT NOT NULL, issue_time INTEGER NOT NULL, valid_time INTEGER NOT NULL,
    lead_s INTEGER NOT NULL, value REAL,
    PRIMARY KEY (model, model_version, station, variable, issue_time, valid_time))
    WITHOUT ROWID;
CREATE INDEX forecasts_valid ON forecasts (station, variable, valid_time);
CREATE TABLE pairs (
    model TEXT NOT NULL, model_version TEXT NOT NULL, station TEXT NOT NULL,
    variable TEXT NOT NULL, issue_time INTEGER NOT NULL, valid_time INTEGER NOT NULL,
    lead_s INTEGER NOT NULL, forecast REAL NOT NULL, observed REAL NOT NULL,
    error REAL NOT NULL,
    PRIMARY KEY (model, model_version, station, variable, issue_time, valid_time))
    WITHOUT ROWID;
CREATE INDEX pairs_valid ON pairs (valid_time);
CREATE TABLE features (
    station TEXT NOT NULL, variable TEXT NOT NULL, window_end INTEGER NOT NULL,
    n INTEGER NOT NULL, mean REAL, min REAL, max REAL, trend REAL,
    PRIMARY KEY (station, variable, window_end)) WITHOUT ROWID;
CREATE TABLE anomalies (
    id INTEGER PRIMARY KEY AUTOINCREMENT, station TEXT NOT NULL, variable TEXT NOT NULL,
    time INTEGER NOT NULL, detector TEXT NOT NULL, score REAL NOT NULL, detail TEXT,
    created INTEGER NOT NULL, acknowledged_at INTEGER, acknowledged_by TEXT,
    UNIQUE (station, variable, time, detector));
"""
_V3 = """
CREATE TABLE polls (
    time INTEGER NOT NULL, source TEXT NOT NULL, ok INTEGER NOT NULL,
    new_values INTEGER NOT NULL, latency_s REAL NOT NULL, error TEXT);
ALTER TABLE stations ADD COLUMN last_seen INTEGER;
"""
MIGRATIONS: dict[int, str] = {1: _V1, 2: _V2, 3: _V3}


class StoreError(MicroclimateError):
    """The verification store cannot be opened or written (locked, full, corrupt)."""


# Rows in and out of the store, read by name. They are tuples too, so sqlite3 binds them
# as they are, in the column order of their table.
class StationRow(NamedTuple):
    id: str
    name: str
    latitude: float
    longitude: float
    elevation: float
    last_seen: int | None = None  # time of the newest observation (None: none yet)


class Observation(NamedTuple):
    station: str
    variable: str
    time: int
    value: float


class QCRow(NamedTuple):
    station: str
    variable: str
    time: int
    flag: int
    tests: str | None  # the tests that flagged it, comma-separated


class FeatureRow(NamedTuple):
    """Summary of one station's window ending at ``window_end``."""

    station: str
    variable: str
    window_end: int
    n: int
    mean: float
    min: float
    max: float
    trend: float


class AnomalyRow(NamedTuple):
    station: str
    variable: str
    time: int
    detector: str
    score: float
    detail: str  # JSON: the features that scored


class ForecastRow(NamedTuple):
    model: str
    model_version: str
    station: str
    variable: str
    issue_time: int
    valid_time: int
    value: float


class StoredForecast(NamedTuple):
    model: str
    model_version: str
    issue_time: int
    valid_time: int
    lead_s: int
    value: float


@dataclass(frozen=True)
class Skill:
    station: str
    model: str
    model_version: str
    lead_s: int
    n: int
    mae: float
    rmse: float
    bias: float


def _transient(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


class Store:
    """The watch database. ``sleep`` is injectable so tests never wait for real."""

    def __init__(self, path: Path | str, *, busy_timeout_ms: int = 2000, attempts: int = 5,
                 base_delay_s: float = 0.1, max_delay_s: float = 5.0,
                 sleep: Callable[[float], None] = _time.sleep,
                 migrate_to: int = SCHEMA_VERSION) -> None:
        self.path = Path(path)
        self.attempts, self.base_delay_s, self.max_delay_s = attempts, base_delay_s, max_delay_s
        self._sleep = sleep
        self.retries = 0  # locked-database retries so far (for /metrics)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.conn = sqlite3.connect(self.path, timeout=busy_timeout_ms / 1000,
                                        isolation_level=None, check_same_thread=False)
            self.conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            mode = self.conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            self.conn.execute("PRAGMA synchronous = NORMAL")
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"cannot open watch store {self.path}: {exc}") from exc
        if str(mode).lower() != "wal":
            raise StoreError(f"watch store {self.path}: WAL mode refused (got {mode})")
        self._migrate(migrate_to)

    # -- schema -----------------------------------------------------------------------
    def version(self) -> int:
        row = self.conn.execute(
            "SELECT name FROM sqlite_master WHERE name = 'schema_version'").fetchone()
        if row is None:
            return 0
        got = self.conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0]
        return int(got or 0)

    def _migrate(self, target: int) -> None:
        current = self.version()
        if current > SCHEMA_VERSION:
            raise StoreError(f"watch store {self.path} has schema v{current}, newer than this "
                             f"program (v{SCHEMA_VERSION}); update microclimate")
        for version in range(current + 1, target + 1):
            def step(conn: sqlite3.Connection, v: int = version) -> None:
                if v == 1:
                    conn.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, "
                                 "applied INTEGER NOT NULL)")
                for statement in MIGRATIONS[v].split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute("INSERT INTO schema_version VALUES (?, ?)", (v, int(_time.time())))
            self._write(step, f"migrate to schema v{version}")

    # -- transactions -----------------------------------------------------------------
    def _write(self, work: Callable[[sqlite3.Connection], T], what: str) -> T:
        """Run ``work`` in one IMMEDIATE transaction; retry while the db is locked."""
        for attempt in range(self.attempts):
            try:
                self.conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                if not _transient(exc):
                    raise StoreError(f"watch store {self.path}: {what}: {exc}") from exc
                if attempt + 1 == self.attempts:
                    raise StoreError(f"watch store {self.path} is locked by another program "
                                     f"({what}; gave up after {self.attempts} attempts)") from exc
                self.retries += 1
                self._sleep(min(self.max_delay_s, self.base_delay_s * 2**attempt))
                continue
            try:
                result = work(self.conn)
                self.conn.execute("COMMIT")
                return result
            except sqlite3.Error as exc:
                self._rollback()  # SQLite may already have rolled back (SQLITE_FULL)
                if "full" in str(exc).lower():
                    raise StoreError(f"watch store {self.path}: disk full ({what}); nothing "
                                     "stored before was lost, the new rows are kept to retry"
                                     ) from exc
                raise StoreError(f"watch store {self.path}: {what}: {exc}") from exc
            except BaseException:
                self._rollback()
                raise
        raise AssertionError("unreachable")

    def _rollback(self) -> None:
        if self.conn.in_transaction:
            self.conn.execute("ROLLBACK")

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writes -----------------------------------------------------------------------
    def upsert_stations(self, rows: Iterable[StationRow]) -> None:
        values = [r[:5] for r in rows]  # last_seen is the store's to keep
        self._write(lambda c: c.executemany(
            "INSERT INTO stations (id, name, latitude, longitude, elevation) VALUES (?,?,?,?,?) "
            "ON CONFLICT(id) DO UPDATE SET name=excluded.name, latitude=excluded.latitude, "
            "longitude=excluded.longitude, elevation=excluded.elevation", values), "stations")

    def add_observations(self, rows: Sequence[Observation], qc: Sequence[QCRow] = (),
                         features: Sequence[FeatureRow] = (),
                         anomalies: Sequence[AnomalyRow] = (),
                         now: int | None = None) -> int:
        """Store one poll's results in one transaction; return the number of new
        observation rows (an identical repeat is not new)."""
        stamp = int(_time.time()) if now is None else now

        def work(c: sqlite3.Connection) -> int:
            before = c.total_changes
            c.executemany(
                "INSERT INTO observations VALUES (?,?,?,?) ON CONFLICT DO UPDATE SET "
                "value=excluded.value WHERE value IS NOT excluded.value", rows)
            new = c.total_changes - before
            c.executemany("INSERT OR REPLACE INTO qc_flags VALUES (?,?,?,?,?)", qc)
            c.executemany("INSERT OR REPLACE INTO features VALUES (?,?,?,?,?,?,?,?)", features)
            c.executemany(
                "INSERT OR IGNORE INTO anomalies (station, variable, time, detector, score, "
                "detail, created) VALUES (?,?,?,?,?,?,?)", [(*a, stamp) for a in anomalies])
            last: dict[str, int] = {}
            for station, _, t, _ in rows:
                last[station] = max(t, last.get(station, t))
            c.executemany("UPDATE stations SET last_seen = MAX(COALESCE(last_seen, 0), ?) "
                          "WHERE id = ?", [(t, s) for s, t in last.items()])
            self._pair_observations(c, rows)
            return new

        return self._write(work, "add observations")

    def add_forecasts(self, rows: Sequence[ForecastRow]) -> None:
        full = [(m, v, s, var, it, vt, vt - it, x) for m, v, s, var, it, vt, x in rows]

        def work(c: sqlite3.Connection) -> None:
            c.executemany("INSERT OR REPLACE INTO forecasts VALUES (?,?,?,?,?,?,?,?)", full)
            c.executemany(
                "INSERT OR REPLACE INTO pairs SELECT f.model, f.model_version, f.station, "
                "f.variable, f.issue_time, f.valid_time, f.lead_s, f.value, o.value, "
                "f.value - o.value FROM forecasts f JOIN observations o ON o.station = "
                "f.station AND o.variable = f.variable AND o.time = f.valid_time "
                "WHERE f.model=? AND f.model_version=? AND f.station=? AND f.variable=? "
                "AND f.issue_time=? AND f.valid_time=? AND f.value IS NOT NULL "
                "AND o.value IS NOT NULL", [r[:6] for r in rows])

        self._write(work, "add forecasts")

    @staticmethod
    def _pair_observations(c: sqlite3.Connection, rows: Sequence[Observation]) -> None:
        c.executemany(
            "INSERT OR REPLACE INTO pairs SELECT f.model, f.model_version, f.station, "
            "f.variable, f.issue_time, f.valid_time, f.lead_s, f.value, ?4, f.value - ?4 "
            "FROM forecasts f WHERE f.station = ?1 AND f.variable = ?2 AND f.valid_time = ?3 "
            "AND f.value IS NOT NULL AND ?4 IS NOT NULL", rows)

    def log_poll(self, when: int, source: str, ok: bool, new_values: int, latency_s: float,
                 error: str | None = None) -> None:
        self._write(lambda c: c.execute("INSERT INTO polls VALUES (?,?,?,?,?,?)",
                                        (when, source, int(ok), new_values, latency_s, error)),
                    "log poll")

    def acknowledge(self, anomaly_id: int, who: str, when: int) -> bool:
        def work(c: sqlite3.Connection) -> bool:
            cur = c.execute("UPDATE anomalies SET acknowledged_at = ?, acknowledged_by = ? "
                            "WHERE id = ? AND acknowledged_at IS NULL", (when, who, anomaly_id))
            return cur.rowcount > 0
        return self._write(work, f"acknowledge anomaly {anomaly_id}")

    # -- reads ------------------------------------------------------------------------
    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            return list(self.conn.execute(sql, params).fetchall())
        except sqlite3.Error as exc:
            raise StoreError(f"watch store {self.path}: read failed: {exc}") from exc

    def stations(self) -> list[StationRow]:
        return [StationRow(*r) for r in self.query(
            "SELECT id, name, latitude, longitude, elevation, last_seen FROM stations "
            "ORDER BY id")]

    def last_times(self, variable: str) -> dict[str, int]:
        """The last stored observation time per station (where a restart resumes)."""
        return {s: int(t) for s, t in self.query(
            "SELECT station, MAX(time) FROM observations WHERE variable = ? GROUP BY station",
            (variable,))}

    def history(self, station: str, variable: str, since: int = 0, until: int | None = None
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(times s, values, qc flags) of one station, ascending time."""
        rows = self.query(
            "SELECT o.time, o.value, COALESCE(q.flag, 2) FROM observations o LEFT JOIN "
            "qc_flags q USING (station, variable, time) WHERE o.station = ? AND o.variable = ? "
            "AND o.time >= ? AND o.time <= ? ORDER BY o.time",
            (station, variable, since, 2**62 if until is None else until))
        arr = np.array(rows, dtype=np.float64).reshape(-1, 3)
        return arr[:, 0].astype(np.int64), arr[:, 1], arr[:, 2].astype(np.uint8)

    def anomalies(self, *, unacknowledged: bool = False, limit: int = 500
                  ) -> list[dict[str, Any]]:
        where = "WHERE acknowledged_at IS NULL" if unacknowledged else ""
        rows = self.query(
            "SELECT id, station, variable, time, detector, score, detail, created, "
            f"acknowledged_at, acknowledged_by FROM anomalies {where} ORDER BY id DESC LIMIT ?",
            (limit,))
        keys = ("id", "station", "variable", "time", "detector", "score", "detail", "created",
                "acknowledged_at", "acknowledged_by")
        return [dict(zip(keys, r, strict=True)) for r in rows]

    def forecasts(self, station: str, variable: str, since: int = 0) -> list[StoredForecast]:
        return [StoredForecast(*r) for r in self.query(
            "SELECT model, model_version, issue_time, valid_time, lead_s, value FROM forecasts "
            "WHERE station = ? AND variable = ? AND valid_time >= ? ORDER BY valid_time, model",
            (station, variable, since))]

    def skill(self, variable: str, since: int = 0) -> list[Skill]:
        """Rolling MAE / RMSE / bias (forecast - observed) per station, model and lead."""
        rows = self.query(
            "SELECT station, model, model_version, lead_s, COUNT(*), AVG(ABS(error)), "
            "AVG(error * error), AVG(error) FROM pairs WHERE variable = ? AND valid_time >= ? "
            "GROUP BY station, model, model_version, lead_s "
            "ORDER BY station, model, model_version, lead_s", (variable, since))
        return [Skill(s, m, v, int(lead), int(n), float(mae), float(np.sqrt(mse)), float(b))
                for s, m, v, lead, n, mae, mse, b in rows]

    def counts(self) -> dict[str, int]:
        names = ("observations", "qc_flags", "forecasts", "pairs", "features", "anomalies",
                 "polls")
        return {n: int(self.query(f"SELECT COUNT(*) FROM {n}")[0][0]) for n in names}
