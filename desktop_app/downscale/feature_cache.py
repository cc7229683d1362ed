"""The last grid's static (terrain) features, kept between forecast runs.

A forecast run builds its static feature channels (elevation, interpolated coarse
orography, slope, ...) once and copies them into every step; a second run over the
same region computed them all again: ~16 ms of float64 passes at 512x512, more with
slope and the topographic position index. The key is a digest of everything they are
made from (the fine and coarse elevation values, both grids' coordinates, the feature
names, the normalisation, the TPI radius), so any change to the region or the terrain
is a miss; hashing costs ~1 ms per million cells. One entry only, and none over
:data:`MAX_BYTES`: the cache must not hold a large grid's arrays after its run.
Cached arrays are read-only, so a caller cannot change what the next run sees.
"""

from __future__ import annotations

import hashlib
import threading
from typing import Any

import numpy as np

MAX_BYTES = 256 * 2**20

Statics = tuple[dict[str, np.ndarray], dict[str, np.ndarray]]  # (physical, normalised)

_lock = threading.Lock()
_entry: tuple[bytes, Statics] | None = None


def static_key(arrays: list[np.ndarray], extra: Any) -> bytes:
    """A digest of ``arrays`` (values, dtypes and shapes) and ``repr(extra)``."""
    h = hashlib.blake2b(digest_size=20)
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(a.data)
    h.update(repr(extra).encode())
    return h.digest()


def get(key: bytes) -> Statics | None:
    with _lock:
        return _entry[1] if _entry is not None and _entry[0] == key else None


def put(key: bytes, statics: Statics) -> None:
    """Keep ``statics`` (made read-only) as the one entry, unless too large."""
    global _entry
    size = sum(a.nbytes for part in statics for a in part.values())
    for part in statics:
        for a in part.values():
            a.flags.writeable = False
    with _lock:
        _entry = (key, statics) if size <= MAX_BYTES else None


def clear() -> None:
    global _entry
    with _lock:
        _entry = None
