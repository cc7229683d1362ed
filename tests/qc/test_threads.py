"""The QC kernels' thread pool sizes itself to the CPUs the process may use."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from desktop_app.qc._threads import in_threads, usable_cpus


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="no CPU affinity masks")
def test_a_process_pinned_to_one_cpu_runs_the_kernel_once_in_its_own_thread():
    code = """
import os, threading
os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
from desktop_app.qc import _threads
calls = []
_threads.in_threads(lambda lo, hi: calls.append((lo, hi, threading.current_thread().name)),
                    1000)
print(_threads.usable_cpus(), calls, _threads._pool.cache_info().currsize)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={**os.environ, "PYTHONPATH": os.getcwd()}).stdout
    assert out.split() == ["1", "[(0,", "1000,", "'MainThread')]", "0"]


def test_chunks_cover_the_range_once_on_every_usable_cpu():
    seen: list[tuple[int, int]] = []
    in_threads(lambda lo, hi: seen.append((lo, hi)), 1000)
    seen.sort()
    assert seen[0][0] == 0 and seen[-1][1] == 1000
    assert all(a[1] == b[0] for a, b in zip(seen[:-1], seen[1:], strict=True))  # no gap or overlap
    assert len(seen) == (1 if usable_cpus() == 1 else min(1000, 16 * usable_cpus()))
