"""Peak memory of worker processes, sampled on the workers (for the benchmark and for
reports): ``client.run(start_sampler)`` then ``client.run(peak_mib)``."""

from __future__ import annotations

import threading
import time

_PEAK = [0]


def _sample(interval: float) -> None:
    import psutil  # type: ignore[import-untyped]

    process = psutil.Process()
    while True:
        _PEAK[0] = max(_PEAK[0], process.memory_info().rss)
        time.sleep(interval)


def start_sampler(interval: float = 0.02) -> bool:
    """Start sampling this process's RSS in a daemon thread (once per process)."""
    if any(t.name == "microclimate-rss" for t in threading.enumerate()):
        return False
    threading.Thread(target=_sample, args=(interval,), name="microclimate-rss",
                     daemon=True).start()
    return True


def peak_mib() -> float:
    return _PEAK[0] / 2**20
