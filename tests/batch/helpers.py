"""Chunk functions for fault tests; importable on the workers (tests is a package)."""

from __future__ import annotations

import errno


def disk_full(*_args: object) -> None:
    raise OSError(errno.ENOSPC, "No space left on device")
