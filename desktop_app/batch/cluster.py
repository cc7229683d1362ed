"""Where the chunks run: a LocalCluster, an existing scheduler, or Slurm/PBS.

``dask`` and ``distributed`` are imported here, inside functions, so that the desktop app
without the ``[cluster]`` extra imports fine.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from desktop_app.errors import ConfigError, MicroclimateError, require_extra

CLUSTER_PACKAGES = ("dask", "distributed", "dask_jobqueue", "zarr")
JOBQUEUE_CLASSES = {"slurm": "SLURMCluster", "pbs": "PBSCluster"}


class ClusterError(MicroclimateError):
    """The cluster cannot be started or reached, or it lost work it cannot redo."""


def require(module: str) -> Any:
    """Import a ``[cluster]`` package, or raise one clear error naming the extra."""
    return require_extra(module, "cluster", "a cluster run", CLUSTER_PACKAGES)


def require_dask() -> None:
    for name in ("dask", "distributed", "zarr"):
        require(name)


@dataclass
class ClusterSpec:
    """What ``--cluster`` and its options say."""

    target: str = "local"  # local | tcp://HOST:PORT | slurm | pbs
    workers: int = 2
    threads_per_worker: int = 1
    memory_limit: str | None = None  # per worker, e.g. "2GiB" (local and jobqueue)
    connect_timeout_s: float = 10.0
    jobqueue: dict[str, Any] = field(default_factory=dict)  # queue, account, walltime...

    def describe(self) -> str:
        if self.target == "local":
            return f"LocalCluster with {self.workers} worker processes"
        return self.target


@contextlib.contextmanager
def _workers_ignore_sigint() -> Iterator[None]:
    """Start local worker processes with Ctrl-C ignored: a terminal sends SIGINT to the
    whole foreground group, and the workers would each die printing a traceback while
    this process cancels the job cleanly and closes them. An ignored signal stays ignored
    in a child process (and Python keeps it so), so they inherit it from here."""
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread can change handlers; it also gets no Ctrl-C here
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def parse_target(target: str) -> str:
    if target in ("local", *JOBQUEUE_CLASSES):
        return target
    if "://" in target:
        scheme, _, rest = target.partition("://")
        if scheme in ("tcp", "tls", "ws", "wss", "inproc") and rest:
            return target
    raise ConfigError(f"--cluster must be local, slurm, pbs or a scheduler address "
                      f"such as tcp://HOST:8786, got {target!r}")


def jobqueue_cluster(spec: ClusterSpec) -> Any:
    """A dask-jobqueue cluster object for ``slurm``/``pbs`` (not started here: jobs are
    submitted by :meth:`scale`). Options left out come from dask's jobqueue config."""
    module = require("dask_jobqueue")
    cls = getattr(module, JOBQUEUE_CLASSES[spec.target])
    options: dict[str, Any] = {"processes": 1, "cores": spec.threads_per_worker}
    if spec.memory_limit:
        options["memory"] = spec.memory_limit
    options.update(spec.jobqueue)
    try:
        return cls(**options)
    except (ValueError, TypeError, OSError, RuntimeError) as exc:
        raise ClusterError(f"cannot set up the {spec.target} cluster: {exc}") from exc


@contextlib.contextmanager
def open_client(spec: ClusterSpec) -> Iterator[Any]:
    """A connected ``distributed.Client``; the cluster it started (if any) is closed on
    exit, also on error or Ctrl-C."""
    require_dask()
    distributed = require("distributed")
    target = parse_target(spec.target)
    cluster: Any = None
    client: Any = None
    try:
        if target == "local":
            try:
                with _workers_ignore_sigint():
                    cluster = distributed.LocalCluster(
                        n_workers=spec.workers, threads_per_worker=spec.threads_per_worker,
                        processes=True, memory_limit=spec.memory_limit or "auto",
                        dashboard_address="127.0.0.1:0", host="127.0.0.1",
                    )
            except (OSError, RuntimeError, ValueError) as exc:
                raise ClusterError(f"cannot start a local cluster: {exc}") from exc
            client = distributed.Client(cluster)
        elif target in JOBQUEUE_CLASSES:
            cluster = jobqueue_cluster(spec)
            cluster.scale(jobs=spec.workers)
            client = distributed.Client(cluster)
        else:
            try:
                client = distributed.Client(target, timeout=spec.connect_timeout_s)
            except (OSError, TimeoutError) as exc:
                why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                raise ClusterError(
                    f"cannot reach the Dask scheduler at {target} within "
                    f"{spec.connect_timeout_s:g} s: {why}") from exc
        yield client
    finally:
        if client is not None:
            with contextlib.suppress(Exception):
                client.close(timeout=10)
        if cluster is not None:
            with contextlib.suppress(Exception):
                cluster.close(timeout=10)


def dashboard_link(client: Any) -> str | None:
    with contextlib.suppress(Exception):
        link = client.dashboard_link
        return str(link) if link else None
    return None
