"""The poll loop: fetch, deduplicate, QC, features, anomaly scoring, store.

Every station keeps a rolling window (``history_hours``) in memory, loaded from the
store at start, so a restart resumes from the last stored time and QC/anomaly scoring
see the same history as before. Rules for what comes in:

- a value already stored for (station, time) is a duplicate and dropped (a changed
  value for a stored time is a correction: stored, re-QC'd);
- an out-of-order value inside the window is inserted in time order and QC'd with its
  neighbours; one older than the window is dropped and counted (``too_old``);
- a time more than ``max_future_s`` ahead of the clock (a station clock jump) is
  rejected and reported, never stored;
- a station that stops answering is reported as ``stale`` once it has no value for
  three intervals; the others keep going.

Provider errors never stop the loop: the next poll waits interval * 2**failures,
capped at ``max_backoff_minutes`` (the HTTP client has already honoured Retry-After
within the poll). A store that is locked or full keeps the poll's rows pending in
memory and writes them with the next poll. ``clock`` and ``sleep`` are injectable.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time as _time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from desktop_app.errors import MicroclimateError
from desktop_app.watch.anomaly import FEATURES, Forest, RobustZ, features
from desktop_app.watch.config import WatchConfig
from desktop_app.watch.features import (
    WINDOW_S,
    qc_rows,
    qc_tests,
    window_ends,
    window_features,
)
from desktop_app.watch.sources import Batch
from desktop_app.watch.store import (
    AnomalyRow,
    FeatureRow,
    ForecastRow,
    Observation,
    QCRow,
    StationRow,
    Store,
    StoreError,
)

MIN_HISTORY = 24  # values before a station's normal is estimated
MIN_FOREST_ROWS = 100  # pooled history rows before the IsolationForest is fitted


class Source(Protocol):
    name: str

    def fetch(self, cancel: threading.Event | None = None) -> Batch: ...


@dataclass
class Counters:
    polls: int = 0
    poll_failures: int = 0
    store_failures: int = 0
    new_values: int = 0
    duplicates: int = 0
    too_old: int = 0
    clock_jumps: int = 0
    anomalies: int = 0
    qc_flags: dict[int, int] = field(default_factory=dict)
    last_latency_s: float = 0.0
    latency_sum_s: float = 0.0


@dataclass
class PollResult:
    ok: bool
    new_values: int
    anomalies: int
    errors: list[str]
    next_delay_s: float


@dataclass
class _Series:
    times: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    values: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float64))


class Watcher:
    def __init__(self, config: WatchConfig, store: Store, sources: Sequence[Source], *,
                 clock: Callable[[], float] = _time.time,
                 sleep: Callable[[float], None] = _time.sleep,
                 max_future_s: int = 3600, use_forest: bool = True,
                 on_report: Callable[[str], None] | None = None) -> None:
        self.config, self.store, self.sources = config, store, list(sources)
        self.clock, self.sleep = clock, sleep
        self.max_future_s = max_future_s
        self.variable = config.variable
        self.tests = qc_tests(self.variable)
        self.window_s = int(config.history_hours * 3600)
        self.counters = Counters()
        self.failures = 0
        self.pending: list[Batch] = []
        self.reports: list[str] = []
        self._report = on_report or (lambda _m: None)
        self.series: dict[str, _Series] = {}
        self.robust: dict[str, RobustZ] = {}
        self.usual_step: dict[str, float] = {}  # a station's usual time step (gap feature)
        self.forest: Forest | None = None
        self._use_forest = use_forest
        self._polls_since_fit = 0
        self.stale: set[str] = set()
        self.forecast_stations = {r[0] for r in store.query(
            "SELECT DISTINCT station FROM forecasts WHERE variable = ?", (config.variable,))}
        self.store.upsert_stations(StationRow(s.id, s.name or s.id, s.latitude, s.longitude,
                                              s.elevation) for s in config.stations)
        self.resume()

    # -- state ------------------------------------------------------------------------
    def resume(self) -> None:
        """Load each station's rolling window from the store (after a restart)."""
        last = self.store.last_times(self.variable)
        for spec in self.config.stations:
            end = last.get(spec.id)
            if end is None:
                self.series[spec.id] = _Series()
                continue
            t, v, _ = self.store.history(spec.id, self.variable, since=end - self.window_s)
            self.series[spec.id] = _Series(t, v)
        self._fit()

    def _note(self, message: str) -> None:
        self.reports.append(message)
        del self.reports[:-200]
        self._report(message)

    def _fit(self) -> None:
        pooled = []
        for sid, s in self.series.items():
            if s.times.size >= MIN_HISTORY:
                feats = self._features(sid, s.times, s.values)
                self.robust[sid] = RobustZ().fit(feats)
                self.usual_step[sid] = float(np.median(np.diff(s.times)))
                pooled.append(feats)
        if self._use_forest and pooled and sum(len(p) for p in pooled) >= MIN_FOREST_ROWS:
            try:
                self.forest = Forest().fit(np.concatenate(pooled))
            except MicroclimateError as exc:  # no scikit-learn: robust z-scores only
                self._use_forest = False
                self._note(f"learned detector off: {exc}")
        self._polls_since_fit = 0

    def _features(self, station: str, t: np.ndarray, v: np.ndarray,
                  usual_step_s: float | None = None) -> np.ndarray:
        fc = np.full(t.size, np.nan)
        if station not in self.forecast_stations:
            return features(t, v, fc, usual_step_s=usual_step_s)
        rows = self.store.query(
            "SELECT valid_time, value FROM forecasts WHERE station = ? AND variable = ? "
            "AND valid_time >= ? ORDER BY valid_time, issue_time",
            (station, self.variable, int(t[0]) if t.size else 0))
        if rows:
            vt = np.array([r[0] for r in rows], np.int64)
            fv = np.array([r[1] for r in rows], np.float64)
            # the latest issued forecast for each valid time (rows sorted by issue time)
            idx = np.searchsorted(vt, t, side="right") - 1
            hit = (idx >= 0) & (vt[np.clip(idx, 0, None)] == t)
            fc[hit] = fv[idx[hit]]
        return features(t, v, fc, usual_step_s=usual_step_s)

    # -- one poll ---------------------------------------------------------------------
    def poll_once(self, cancel: threading.Event | None = None) -> PollResult:
        started = _time.perf_counter()
        now = int(self.clock())
        errors: list[str] = []
        for source in self.sources:
            try:
                self.pending.append(source.fetch(cancel))
            except MicroclimateError as exc:
                errors.append(f"{source.name}: {exc}")
        self.counters.polls += 1
        if errors:
            self.counters.poll_failures += 1
            self.failures += 1
            for e in errors:
                self._note(f"poll failed: {e}")
        else:
            self.failures = 0
        new = found = 0
        try:
            new, found = self._ingest(now)
        except StoreError as exc:
            self.counters.store_failures += 1
            errors.append(str(exc))
            self._note(f"store: {exc}")
        latency = _time.perf_counter() - started
        self.counters.last_latency_s = latency
        self.counters.latency_sum_s += latency
        for source in self.sources:
            with contextlib.suppress(StoreError):  # already counted and reported above
                self.store.log_poll(now, source.name, not errors, new, latency,
                                    "; ".join(errors) or None)
        self._check_stale(now)
        self._polls_since_fit += 1
        if self._polls_since_fit >= 60:
            self._fit()
        return PollResult(not errors, new, found, errors, self.next_delay())

    def next_delay(self) -> float:
        interval = self.config.interval_minutes * 60.0
        if self.failures == 0:
            return interval
        return float(min(self.config.max_backoff_minutes * 60.0,
                         interval * 2 ** min(self.failures, 16)))

    def _check_stale(self, now: int) -> None:
        limit = 3 * self.config.interval_minutes * 60
        for sid, s in self.series.items():
            is_stale = s.times.size > 0 and now - int(s.times[-1]) > max(limit, 7200)
            if is_stale and sid not in self.stale:
                self._note(f"station {sid}: no new value since {int(s.times[-1])}")
            (self.stale.add if is_stale else self.stale.discard)(sid)

    def _ingest(self, now: int) -> tuple[int, int]:
        """Turn pending batches into store rows; pending is cleared only once stored."""
        obs_rows: list[Observation] = []
        qc_all: list[QCRow] = []
        feat_all: list[FeatureRow] = []
        anom_all: list[AnomalyRow] = []
        forecasts = [ForecastRow(m, v, s, self.variable, it, vt, x)
                     for b in self.pending for m, v, s, it, vt, x in b.forecasts]
        if forecasts:
            self.store.add_forecasts(forecasts)
            self.forecast_stations.update(f.station for f in forecasts)
        by_station: dict[str, list[tuple[int, float]]] = {}
        for b in self.pending:
            for sid, when, val in b.observations:
                by_station.setdefault(sid, []).append((when, val))
        staged: dict[str, _Series] = {}
        scored: list[tuple[str, np.ndarray, np.ndarray]] = []
        for sid, items in by_station.items():
            if sid not in self.series:
                continue  # a station no longer in the config
            s = self.series[sid]
            t_new, v_new, keep_old = self._accept(sid, s, items, now)
            if t_new.size == 0:
                continue
            t = np.concatenate([s.times[keep_old], t_new])
            v = np.concatenate([s.values[keep_old], v_new])
            order = np.argsort(t, kind="stable")
            t, v = t[order], v[order]
            keep = t >= t[-1] - self.window_s
            t, v = t[keep], v[keep]
            first = int(np.searchsorted(t, t_new.min()))
            obs_rows.extend(Observation(sid, self.variable, int(a), float(b))
                            for a, b in zip(t_new, v_new, strict=True))
            qc_all.extend(qc_rows(sid, self.variable, t, v, first, self.tests))
            ends = window_ends(int(t_new.min()), int(t[-1]))
            if ends.size:
                lo = int(np.searchsorted(t, ends[0] - WINDOW_S, side="right"))
                wf = window_features(t[lo:], v[lo:], ends)
                feat_all.extend(FeatureRow(sid, self.variable, int(e), int(r[0]), float(r[1]),
                                           float(r[2]), float(r[3]), float(r[4]))
                                for e, r in zip(ends, wf, strict=True) if r[0] > 0)
            f_new = self._station_features(sid, t, v, t_new)
            if f_new is not None:
                scored.append((sid, t_new, f_new))
            staged[sid] = _Series(t, v)
        anom_all.extend(self._score(scored))
        stored = self.store.add_observations(obs_rows, qc_all, feat_all, anom_all, now=now)
        self.pending.clear()
        self.series.update(staged)
        self.counters.new_values += len(obs_rows)
        self.counters.anomalies += len(anom_all)
        for row in qc_all:
            self.counters.qc_flags[row.flag] = self.counters.qc_flags.get(row.flag, 0) + 1
        for a in anom_all:
            self._note(f"anomaly at {a.station} t={a.time} ({a.detector}, score {a.score:.1f})")
        return stored, len(anom_all)

    def _accept(self, sid: str, s: _Series, items: list[tuple[int, float]], now: int
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        arr_t = np.array([i[0] for i in items], np.int64)
        arr_v = np.array([i[1] for i in items], np.float64)
        arr_t, idx = np.unique(arr_t[::-1], return_index=True)  # last answer for a time wins
        arr_v = arr_v[::-1][idx]
        future = arr_t > now + self.max_future_s
        if future.any():
            self.counters.clock_jumps += int(future.sum())
            self._note(f"station {sid}: {int(future.sum())} value(s) dated in the future "
                       f"(clock jump?), first {int(arr_t[future][0])}, clock {now}: rejected")
        latest = int(s.times[-1]) if s.times.size else None
        old = np.zeros(arr_t.size, bool) if latest is None else arr_t < latest - self.window_s
        self.counters.too_old += int(old.sum())
        if s.times.size:
            pos = np.minimum(np.searchsorted(s.times, arr_t), s.times.size - 1)
            same = s.times[pos] == arr_t
            old_val = s.values[pos]
        else:
            same, old_val = np.zeros(arr_t.size, bool), arr_v
        unchanged = same & ((old_val == arr_v) | (np.isnan(old_val) & np.isnan(arr_v)))
        self.counters.duplicates += int(unchanged.sum())
        take = ~future & ~old & ~unchanged
        # corrections replace the stored value: the window drops the old one (applied
        # only once the store has the new rows)
        keep = ~np.isin(s.times, arr_t[same & take])
        return arr_t[take], arr_v[take], keep

    def _station_features(self, sid: str, t: np.ndarray, v: np.ndarray,
                          t_new: np.ndarray) -> np.ndarray | None:
        """Detector features of the new values (None while the history is too short)."""
        rows = np.searchsorted(t, t_new)
        if sid not in self.robust:
            before = int(rows.min())
            if before < MIN_HISTORY:
                return None  # too little history to know what is normal here
            self.robust[sid] = RobustZ().fit(self._features(sid, t[:before], v[:before]))
        usual = self.usual_step.get(sid)
        if usual is None and t.size > 1:
            usual = self.usual_step[sid] = float(np.median(np.diff(t)))
        start = max(0, int(rows.min()) - 8)  # the features need the k values before
        feats = self._features(sid, t[start:], v[start:], usual)
        return feats[rows - start]

    def _score(self, scored: list[tuple[str, np.ndarray, np.ndarray]]) -> list[AnomalyRow]:
        """Robust z per station; the forest once over all stations' new rows."""
        if not scored:
            return []
        feats = np.concatenate([f for _, _, f in scored])
        who = [(sid, int(t)) for sid, times, _ in scored for t in times]
        scores = {"robust_z": np.concatenate([self.robust[sid].score(f)
                                              for sid, _, f in scored])}
        if self.forest is not None:
            scores["isolation_forest"] = self.forest.score(feats)
        out = []
        for name, sc in scores.items():
            for i in np.flatnonzero(sc >= 1.0):
                detail = json.dumps({k: None if not np.isfinite(x) else round(float(x), 3)
                                     for k, x in zip(FEATURES, feats[i], strict=True)})
                out.append(AnomalyRow(who[i][0], self.variable, who[i][1], name,
                                      float(sc[i]), detail))
        return out

    # -- the loop ---------------------------------------------------------------------
    def run(self, stop: threading.Event, max_polls: int | None = None) -> None:
        """Poll until ``stop`` is set (Ctrl-C in the CLI sets it) or ``max_polls``."""
        count = 0
        while not stop.is_set():
            result = self.poll_once(stop)
            count += 1
            if max_polls is not None and count >= max_polls:
                return
            remaining = result.next_delay_s
            while remaining > 0 and not stop.is_set():  # wake at least every second
                step = min(1.0, remaining)
                self.sleep(step)
                remaining -= step
