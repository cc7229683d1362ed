"""The request cache: keys, integrity, LRU eviction, offline mode."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from desktop_app.errors import DataSourceError, OfflineError
from desktop_app.sources.cache import RequestCache, cached_fetch, request_key
from desktop_app.sources.http import parse_json_bytes
from tests.sources.helpers import recorded

BODY = recorded("frenck_historical_weather.json")


def _parse(data: bytes) -> object:
    return parse_json_bytes(data, url="http://om.test", provider="Open-Meteo")


def test_key_ignores_parameter_order() -> None:
    a = {"endpoint": "x", "params": {"latitude": "1", "longitude": "2"}}
    b = {"params": {"longitude": "2", "latitude": "1"}, "endpoint": "x"}
    assert request_key(a) == request_key(b)
    assert request_key(a) != request_key({**a, "endpoint": "y"})
    assert len(request_key(a)) == 64


def test_round_trip_and_offline_hit(tmp_path: Path) -> None:
    cache = RequestCache(tmp_path)
    calls: list[int] = []

    def fetch() -> bytes:
        calls.append(1)
        return BODY

    first, hit1 = cached_fetch(cache, {"q": 1}, fetch, _parse, offline=False, what="q")
    again, hit2 = cached_fetch(cache, {"q": 1}, fetch, _parse, offline=True, what="q")
    assert (hit1.from_cache, hit2.from_cache) == (False, True)
    assert first == again and len(calls) == 1


def test_offline_miss_is_clear(tmp_path: Path) -> None:
    with pytest.raises(OfflineError, match="offline mode: region q is not in the cache"):
        cached_fetch(RequestCache(tmp_path), {"q": 2}, lambda: BODY, _parse, offline=True,
                     what="region q")


def test_corrupt_entry_is_dropped_and_refetched(tmp_path: Path) -> None:
    cache = RequestCache(tmp_path)
    entry = cache.put_bytes({"q": 3}, BODY)
    data = bytearray(entry.path.read_bytes())
    data[10] ^= 0xFF
    entry.path.write_bytes(bytes(data))
    assert cache.get_bytes({"q": 3}) is None
    assert not entry.path.exists()
    value, hit = cached_fetch(cache, {"q": 3}, lambda: BODY, _parse, offline=False, what="q")
    assert not hit.from_cache and cache.get_bytes({"q": 3}) == BODY


def test_truncated_entry_and_missing_sidecar_read_as_misses(tmp_path: Path) -> None:
    cache = RequestCache(tmp_path)
    entry = cache.put_bytes({"q": 4}, BODY)
    entry.path.write_bytes(BODY[:100])
    assert cache.get_bytes({"q": 4}) is None
    entry = cache.put_bytes({"q": 5}, BODY)
    entry.path.with_suffix(".json").unlink()
    assert cache.get_bytes({"q": 5}) is None and not entry.path.exists()


def test_bad_body_never_enters_the_cache(tmp_path: Path) -> None:
    cache = RequestCache(tmp_path)
    with pytest.raises(DataSourceError):
        cached_fetch(cache, {"q": 6}, lambda: b"nan", _parse, offline=False, what="q")
    assert cache.total_bytes() == 0
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]


def test_lru_eviction_keeps_recently_used(tmp_path: Path) -> None:
    cache = RequestCache(tmp_path)
    entries = [cache.put_bytes({"q": i}, BODY) for i in range(2)]
    cache.max_bytes = int(1.25 * cache.total_bytes())  # room for two entries, not three
    for i, entry in enumerate(entries):  # deterministic access times
        os.utime(entry.path.with_suffix(".json"), (1000 + i, 1000 + i))
    assert cache.get_bytes({"q": 0}) is not None  # touch 0: now 1 is least recent
    cache.put_bytes({"q": 2}, BODY)  # over the cap: the least recently used goes
    assert cache.get_bytes({"q": 1}) is None
    assert cache.get_bytes({"q": 0}) is not None and cache.get_bytes({"q": 2}) is not None
    assert cache.total_bytes() <= cache.max_bytes
