"""Run a GIL-releasing kernel (Numba's ``nogil``, or compiled ahead of time with the GIL
released: :mod:`._dispatch`) over chunks of a range in threads.

The QC drivers are plain ``nogil`` kernels that take a ``[lo, hi)`` range of stations
(or time blocks) as their last two arguments. Numba's ``parallel=True`` would split the
loop the same way, but compiling its parallel loops around the inlined kernels took tens
of seconds on first use; threads cost a few tens of microseconds per call.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from typing import Any

import numpy as np

_CHUNKS_PER_WORKER = 16


def usable_cpus() -> int:
    """The CPUs this process may run on: its affinity mask where the system has one. A
    container or a batch job limited to 2 of a host's 64 CPUs gets 2 (``os.cpu_count()``
    counts the host's, and a thread per host CPU only queues for the 2)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # (no affinity masks: macOS, Windows)
        return os.cpu_count() or 1


@lru_cache(maxsize=1)
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=usable_cpus(), thread_name_prefix="qc-kernels")


def in_threads(kernel: Callable[..., Any], n: int, *args: Any, threads: bool = True) -> None:
    """``kernel(*args, lo, hi)`` over chunks ``[lo, hi)`` of ``range(n)`` in threads.
    Many small chunks per core (each a few milliseconds of a whole QC run, for tens of
    microseconds of overhead): on a machine shared with other processes a thread that
    loses its core for a while leaves at most one small chunk for the end, not a quarter
    of its share. ``threads=False``: one call, this thread (small problems, where
    starting threads costs more than it saves)."""
    workers = usable_cpus()
    if not threads or workers == 1 or n < 2:
        kernel(*args, 0, n)
        return
    bounds = np.linspace(0, n, min(n, _CHUNKS_PER_WORKER * workers) + 1).astype(np.int64)
    futures = [_pool().submit(kernel, *args, int(a), int(b))
               for a, b in zip(bounds[:-1], bounds[1:], strict=True) if b > a]
    for f in futures:
        f.result()  # re-raises a kernel's exception here
