"""What a long task is handed to report progress and to notice a cancel.

Fetches, region builds, forecasts, exports and trainings all take these two, so a GUI
worker, a CLI progress line or a test can drive any of them the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

# fraction done (0..1) and a line for the user
Progress = Callable[[float, str], None]


class CancelToken(Protocol):
    """Anything with ``is_set()``: a ``threading.Event`` in the GUI and the services."""

    def is_set(self) -> bool: ...
