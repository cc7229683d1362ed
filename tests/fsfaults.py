"""Real file-system faults for tests: a folder on a full disk and a read-only folder.

Both are real kernel answers (ENOSPC from a tiny tmpfs, EROFS from a read-only mount, or
EACCES from a mode-0555 folder for a user who is not root), never a patched function.
Where the machine allows neither (no mount rights as root), the test is skipped.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


def _mount(folder: Path, options: str) -> bool:
    folder.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)],
                            capture_output=True, check=False)
    return result.returncode == 0


def mount_allowed() -> bool:
    """Whether this process may mount a tmpfs (root with CAP_SYS_ADMIN)."""
    if os.geteuid() != 0:
        return False
    probe = Path(tempfile.mkdtemp(prefix="mount-probe-"))
    try:
        if not _mount(probe, "size=4k"):
            return False
        subprocess.run(["umount", "-l", str(probe)], check=False)
        return True
    finally:
        probe.rmdir()


@contextlib.contextmanager
def full_folder(base: Path, size_kb: int = 64) -> Iterator[Path]:
    """A folder on a file system of ``size_kb`` KiB: writing more is ENOSPC."""
    folder = base / "full"
    if os.geteuid() != 0 or not _mount(folder, f"size={size_kb}k"):
        pytest.skip("a full disk needs a tmpfs mount (root with mount rights)")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


@contextlib.contextmanager
def readonly_folder(base: Path) -> Iterator[Path]:
    """A folder this process cannot write into."""
    folder = base / "readonly"
    if os.geteuid() != 0:
        folder.mkdir(parents=True)
        folder.chmod(0o555)
        try:
            yield folder
        finally:
            folder.chmod(0o755)
        return
    if not _mount(folder, "size=64k,ro"):
        pytest.skip("a read-only folder for root needs a read-only tmpfs mount")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def leave_free(folder: Path, pages: int) -> None:
    """Fill ``folder`` (on a :func:`full_folder`) so that exactly ``pages`` 4 KiB pages
    stay free: a first small file fits, the next one does not."""
    fillers = []
    for k in range(100_000):
        path = folder / f".filler{k}"
        try:
            path.write_bytes(b"\0" * 4096)
        except OSError:
            path.unlink(missing_ok=True)
            break
        fillers.append(path)
    for path in fillers[:pages]:
        path.unlink()
