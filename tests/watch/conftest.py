from __future__ import annotations

import numpy as np
import pytest

from desktop_app.sources.http import HttpClient, RetryPolicy
from desktop_app.watch.config import parse_config
from desktop_app.watch.sources import OpenMeteoCurrent
from desktop_app.watch.store import Store
from desktop_app.watch.watcher import Watcher
from tests.watch.replay import Replay


class FakeClock:
    def __init__(self, start: float) -> None:
        self.now = start
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


BERLIN = {"id": "berlin", "latitude": 52.52, "longitude": 13.41, "name": "Berlin"}


def berlin_start() -> float:
    # the first replayed hour (local Berlin time, UTC+1 in November) plus a minute
    return float(np.datetime64("2021-11-24T00:00", "s").astype(np.int64) - 3600 + 60)


@pytest.fixture
def make_watcher(tmp_path):
    made = []

    def make(replay: Replay, db=None, config=None, **kw):
        cfg = parse_config({"interval_minutes": 1, "stations": [BERLIN],
                            "database": str(db or tmp_path / "w.sqlite"), **(config or {})})
        clock = FakeClock(berlin_start())
        http = HttpClient(transport=replay.transport(), sleep=clock.sleep,
                          retry=RetryPolicy(attempts=2, base_delay_s=0.5))
        source = OpenMeteoCurrent(cfg.stations, http=http, base_url="http://replay.test")
        store = Store(cfg.database_path, sleep=clock.sleep)
        w = Watcher(cfg, store, [source], clock=clock, sleep=clock.sleep, **kw)
        made.append(store)
        return w, clock

    yield make
    for s in made:
        s.close()
