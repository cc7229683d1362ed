"""Trainer job state in SQLite, so a service restart loses nothing.

States: ``queued`` -> ``running`` -> ``done`` | ``failed`` | ``cancelled``. A job that
was ``running`` when the service stopped is queued again on start (:meth:`recover`) and
resumes from its last checkpoint.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import threading
import uuid
from pathlib import Path
from typing import Any

TERMINAL = ("done", "failed", "cancelled")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY, state TEXT NOT NULL, created TEXT NOT NULL, updated TEXT NOT NULL,
    config TEXT NOT NULL, dataset TEXT NOT NULL, error TEXT, cancel INTEGER NOT NULL DEFAULT 0
)"""


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class JobStore:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # the jobs hold configs and server paths: this user's only (SQLite gives its -wal
        # and -shm files the database's mode)
        os.close(os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600))
        os.chmod(self.path, 0o600)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _one(self, sql: str, args: tuple[Any, ...] = ()) -> sqlite3.Row | None:
        with self._lock:
            cur = self._db.execute(sql, args)
            cur.row_factory = sqlite3.Row
            row: sqlite3.Row | None = cur.fetchone()
            return row

    def _exec(self, sql: str, args: tuple[Any, ...] = ()) -> int:
        with self._lock:
            return self._db.execute(sql, args).rowcount

    @staticmethod
    def _as_dict(row: sqlite3.Row) -> dict[str, Any]:
        d = dict(row)
        d["config"] = json.loads(d["config"])
        d["dataset"] = json.loads(d["dataset"])
        d["cancel"] = bool(d["cancel"])
        return d

    def create(self, config: dict[str, Any], dataset: dict[str, Any]) -> str:
        job_id = uuid.uuid4().hex
        now = _now()
        self._exec("INSERT INTO jobs (id, state, created, updated, config, dataset) "
                   "VALUES (?, 'queued', ?, ?, ?, ?)",
                   (job_id, now, now, json.dumps(config), json.dumps(dataset)))
        return job_id

    def get(self, job_id: str) -> dict[str, Any] | None:
        row = self._one("SELECT * FROM jobs WHERE id = ?", (job_id,))
        return self._as_dict(row) if row is not None else None

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            cur = self._db.execute("SELECT * FROM jobs ORDER BY created, rowid")
            cur.row_factory = sqlite3.Row
            return [self._as_dict(r) for r in cur.fetchall()]

    def set_state(self, job_id: str, state: str, error: str | None = None) -> None:
        self._exec("UPDATE jobs SET state = ?, error = ?, updated = ? WHERE id = ?",
                   (state, error, _now(), job_id))

    def request_cancel(self, job_id: str) -> None:
        """Queued jobs are cancelled at once; a running one when its process stops."""
        self._exec("UPDATE jobs SET cancel = 1, updated = ? WHERE id = ?", (_now(), job_id))
        self._exec("UPDATE jobs SET state = 'cancelled' WHERE id = ? AND state = 'queued'",
                   (job_id,))

    def next_queued(self) -> str | None:
        """Claim the oldest queued job (marks it running)."""
        with self._lock:
            row = self._db.execute("SELECT id FROM jobs WHERE state = 'queued' "
                                   "ORDER BY created, rowid LIMIT 1").fetchone()
            if row is None:
                return None
            self._db.execute("UPDATE jobs SET state = 'running', updated = ? WHERE id = ?",
                             (_now(), row[0]))
            return str(row[0])

    def recover(self) -> int:
        """Jobs left running by a stopped service go back to the queue."""
        return self._exec("UPDATE jobs SET state = 'queued', updated = ? "
                          "WHERE state = 'running'", (_now(),))
