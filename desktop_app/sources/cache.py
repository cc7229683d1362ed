"""The on-disk request cache.

Keys are the sha256 of the normalised request (a JSON document with sorted keys), so the
same question asked twice maps to one entry however its parameters were ordered. An
entry is a payload file plus a small JSON sidecar holding the payload's sha256 and size;
both are written atomically, payload first, so a crash leaves at worst a payload without
sidecar, which reads as corrupt. Reads verify the checksum: a corrupt or half-written
entry is deleted and reported as a miss (the caller refetches), never returned.
Total size is capped; the least recently used entries (by access time stamp, refreshed
on every hit) are evicted first.

Entries expire: each records when it was really fetched (``fetched_at``) and the
server's ``Cache-Control: max-age`` when one came with it; the caller names the
endpoint's own lifetime for the rest (a forecast an hour, the archive never). Online, an
expired entry is refetched; offline it is still served, marked stale, so the caller
can say so. ``refresh`` skips the cache and stores the new answer.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from desktop_app import paths
from desktop_app.errors import CacheError, MicroclimateError, OfflineError
from desktop_app.fsutil import atomic_write_bytes, sha256_file

PAYLOAD_SUFFIX = ".bin"
META_SUFFIX = ".json"
T = TypeVar("T")


def normalise_request(request: Mapping[str, Any]) -> str:
    """Canonical JSON text of a request: sorted keys, no whitespace, floats as repr."""
    return json.dumps(request, sort_keys=True, separators=(",", ":"), default=str)


def request_key(request: Mapping[str, Any]) -> str:
    return hashlib.sha256(normalise_request(request).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class CacheEntry:
    key: str
    path: Path
    meta: dict[str, Any]

    @property
    def fetched_at(self) -> float:
        """When the payload was really fetched (older entries: when it was stored)."""
        return float(self.meta.get("fetched_at", self.meta.get("created", 0.0)))

    def expires_at(self, lifetime_s: float | None) -> float | None:
        """The server's max-age wins; else ``lifetime_s``; None means never."""
        max_age = self.meta.get("max_age")
        life = float(max_age) if isinstance(max_age, int | float) else lifetime_s
        return None if life is None else self.fetched_at + life


@dataclass(frozen=True)
class Fetched:
    """A fetched body and the lifetime its server gave it (None: the server said none)."""

    data: bytes
    max_age: float | None = None


@dataclass(frozen=True)
class CacheStatus:
    """Where an answer came from: the cache or the network, when it was really fetched
    (epoch seconds), and whether it was served past its expiry (offline only)."""

    from_cache: bool
    fetched_at: float
    stale: bool = False
    expires_at: float | None = None


class RequestCache:
    """Request-keyed byte cache with LRU eviction and checksums."""

    def __init__(self, root: Path | None = None, *, max_bytes: int = 2048 * 1024 * 1024,
                 clock: Callable[[], float] = time.time) -> None:
        self.root = Path(root) if root is not None else paths.cache_dir() / "sources"
        self.max_bytes = max_bytes
        self.clock = clock  # tests move time forward instead of sleeping

    # -- paths ------------------------------------------------------------------
    def _payload(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}{PAYLOAD_SUFFIX}"

    def _meta(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}{META_SUFFIX}"

    # -- read -------------------------------------------------------------------
    def lookup(self, request: Mapping[str, Any]) -> CacheEntry | None:
        """The verified entry for ``request``, or None (corrupt entries are dropped)."""
        key = request_key(request)
        payload, meta_path = self._payload(key), self._meta(key)
        if not payload.exists() and not meta_path.exists():
            return None
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            digest = sha256_file(payload)
            ok = (
                isinstance(meta, dict)
                and meta.get("sha256") == digest
                and meta.get("size") == payload.stat().st_size
            )
        except (OSError, ValueError):
            ok = False
        if not ok:
            self.drop(key)
            return None
        now = time.time()
        with contextlib.suppress(OSError):  # LRU stamp; a read-only cache still serves
            os.utime(meta_path, (now, now))
        return CacheEntry(key, payload, meta)

    def get_bytes(self, request: Mapping[str, Any]) -> bytes | None:
        entry = self.lookup(request)
        if entry is None:
            return None
        try:
            return entry.path.read_bytes()
        except OSError:
            self.drop(entry.key)
            return None

    # -- write ------------------------------------------------------------------
    def put_bytes(self, request: Mapping[str, Any], data: bytes, **info: Any) -> CacheEntry:
        """Store ``data``; ``info`` may carry ``fetched_at`` and the server's ``max_age``."""
        key = request_key(request)
        now = self.clock()
        meta = {
            "sha256": hashlib.sha256(data).hexdigest(),
            "size": len(data),
            "created": now,
            "fetched_at": now,
            "request": json.loads(normalise_request(request)),
            **info,
        }
        try:
            atomic_write_bytes(self._payload(key), data)
            atomic_write_bytes(self._meta(key), json.dumps(meta).encode("utf-8"))
        except OSError as exc:
            self.drop(key)
            raise CacheError(f"cannot write cache entry in {self.root}: {exc}") from exc
        self.evict()
        return CacheEntry(key, self._payload(key), meta)

    def put_file(self, request: Mapping[str, Any], source: Path, **info: Any) -> CacheEntry:
        """Store a finished file (e.g. a download) by moving it into the cache."""
        key = request_key(request)
        payload = self._payload(key)
        payload.parent.mkdir(parents=True, exist_ok=True)
        try:
            meta = {
                "sha256": sha256_file(source),
                "size": source.stat().st_size,
                "created": self.clock(),
                "fetched_at": self.clock(),
                "request": json.loads(normalise_request(request)),
                **info,
            }
            os.replace(source, payload)
            atomic_write_bytes(self._meta(key), json.dumps(meta).encode("utf-8"))
        except OSError as exc:
            self.drop(key)
            raise CacheError(f"cannot store {source} in cache {self.root}: {exc}") from exc
        self.evict()
        return CacheEntry(key, payload, meta)

    # -- housekeeping -----------------------------------------------------------
    def drop(self, key: str) -> None:
        for path in (self._payload(key), self._meta(key)):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()

    def _entries(self) -> Iterator[tuple[str, float, int]]:
        if not self.root.exists():
            return
        for meta_path in self.root.glob(f"*/*{META_SUFFIX}"):
            key = meta_path.name[: -len(META_SUFFIX)]
            try:
                used = meta_path.stat().st_mtime
                size = self._payload(key).stat().st_size + meta_path.stat().st_size
            except OSError:
                continue
            yield key, used, size

    def total_bytes(self) -> int:
        return sum(size for _, _, size in self._entries())

    def evict(self) -> list[str]:
        """Drop least recently used entries until the cache fits ``max_bytes``."""
        entries = sorted(self._entries(), key=lambda e: e[1])
        total = sum(size for _, _, size in entries)
        dropped: list[str] = []
        for key, _, size in entries:
            if total <= self.max_bytes:
                break
            self.drop(key)
            total -= size
            dropped.append(key)
        return dropped


def cached_fetch(
    cache: RequestCache | None,
    request: Mapping[str, Any],
    fetch: Callable[[], bytes | Fetched],
    parse: Callable[[bytes], T],
    *,
    offline: bool,
    what: str,
    encode: Callable[[T], bytes] | None = None,
    decode: Callable[[bytes], T] | None = None,
    lifetime_s: float | None = None,
    refresh: bool = False,
) -> tuple[T, CacheStatus]:
    """Serve ``request`` from cache or fetch it; return (parsed payload, where from).

    A fresh entry is served; an expired one (its server's max-age, else ``lifetime_s``;
    None: never expires) is refetched online and served marked stale offline. With
    ``refresh`` the cache is not read. A fetched payload is stored only after ``parse``
    accepted it, so a bad body never enters the cache. With ``encode``/``decode`` the
    cache keeps the parsed result in a compact form instead of the raw body (a hit then
    skips re-parsing). A cached entry that no longer decodes is dropped and refetched.
    Offline, a miss (or a refresh) is an :class:`OfflineError`.
    """
    clock = cache.clock if cache is not None else time.time
    if cache is not None and not refresh:
        entry = cache.lookup(request)
        if entry is not None:
            expires = entry.expires_at(lifetime_s)
            fresh = expires is None or clock() < expires
            if fresh or offline:
                try:
                    value = (decode or parse)(entry.path.read_bytes())
                except (MicroclimateError, OSError):
                    cache.drop(entry.key)
                else:
                    return value, CacheStatus(True, entry.fetched_at, not fresh, expires)
    if offline:
        if refresh:
            raise OfflineError(f"offline mode: cannot refresh {what}; go online to refresh")
        raise OfflineError(f"offline mode: {what} is not in the cache; go online to fetch it")
    fetched_at = clock()
    got = fetch()
    data, max_age = (got.data, got.max_age) if isinstance(got, Fetched) else (got, None)
    parsed = parse(data)
    if cache is not None:
        cache.put_bytes(request, encode(parsed) if encode else data, what=what,
                        fetched_at=fetched_at, max_age=max_age)
    life = max_age if max_age is not None else lifetime_s
    return parsed, CacheStatus(False, fetched_at, False,
                               None if life is None else fetched_at + life)

