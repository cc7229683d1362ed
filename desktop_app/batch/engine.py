"""Submit chunk tasks to a Dask cluster; progress, cancel, and faults as clear errors.

Each chunk task writes its region of the output store and then its completion marker
(:mod:`.store`). Chunks whose marker exists are not submitted again (resume). A worker
that dies mid-task has its task rerun elsewhere by the scheduler; the rerun writes the
same values into the same region, so the result is identical. A chunk that kills every
worker it runs on (the usual cause: memory) ends as :class:`ClusterError` suggesting
smaller chunks.
"""

from __future__ import annotations

import errno
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from desktop_app.batch.cluster import ClusterError, require
from desktop_app.batch.store import disk_full_message, mark_done
from desktop_app.errors import CancelledError, DataFileError

ChunkProgress = Callable[[int, int, str], None]  # done, total, message


@dataclass(frozen=True)
class Chunk:
    key: str  # unique within a job, a valid file name
    fn: Callable[..., Any]  # runs on a worker, writes its region
    args: tuple[Any, ...]


def _run_and_mark(fn: Callable[..., Any], args: tuple[Any, ...], done_dir: str,
                  key: str) -> str:
    fn(*args)
    mark_done(done_dir, key)
    return key


def run_chunks(client: Any, chunks: Sequence[Chunk], done_dir: str, *, already: set[str],
               progress: ChunkProgress | None = None, cancelled: Callable[[], bool] | None = None,
               label: str = "chunks", out_hint: str = "") -> int:
    """Run the chunks not in ``already``; return how many ran. Raises on the first
    failure (after cancelling the rest)."""
    distributed = require("distributed")
    todo = [c for c in chunks if c.key not in already]
    total, done = len(chunks), len(chunks) - len(todo)
    if progress is not None:
        progress(done, total, f"{label}: {done}/{total} (already done: {done})")
    if not todo:
        return 0
    futures = [client.submit(_run_and_mark, c.fn, c.args, done_dir, c.key,
                             key=f"{label}-{c.key}-{id(c)}", pure=False) for c in todo]
    pending = set(futures)
    try:
        while pending:
            if cancelled is not None and cancelled():
                raise CancelledError(f"{label} cancelled; finished chunks are kept for a "
                                     "resume")
            try:
                finished = distributed.wait(list(pending), timeout=0.25,
                                            return_when="FIRST_COMPLETED").done
            except TimeoutError:
                continue
            for fut in finished:
                pending.discard(fut)
                fut.result()  # raises the task's error
                done += 1
            if progress is not None and finished:
                progress(done, total, f"{label}: {done}/{total}")
    except BaseException as exc:
        client.cancel(list(pending))
        clear = _clear(exc, out_hint)
        if clear is exc:
            raise
        raise clear from exc
    return len(todo)


def _clear(exc: BaseException, out_hint: str) -> BaseException:
    """The task's error as one a user can act on (others unchanged)."""
    killed = require("distributed.scheduler").KilledWorker
    if isinstance(exc, killed):
        return ClusterError(
            "a chunk task killed every worker that ran it (most often a worker running out "
            "of memory on a too-large chunk); use smaller --chunks or give workers more "
            f"memory (--memory-limit); finished chunks are kept for a resume. ({exc})")
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return DataFileError(disk_full_message(out_hint or exc.filename or "the output", exc))
    return exc
