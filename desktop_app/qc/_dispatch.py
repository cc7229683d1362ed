"""Where the QC kernels come from: Numba's JIT, or a module compiled ahead of time.

The kernel modules (``_kernels``, ``_select``, ``_stations``, ``_buddy``, ``neighbours``)
decorate their functions with :func:`njit` (helpers, only ever called from other
kernels) or :func:`export` (the entry points Python calls, with their one signature).

- In a source checkout or a pip install, Numba compiles them on first use (``cache=True``).
- The desktop installer carries no Numba and no llvmlite (160 MiB): its build compiles
  the entry points ahead of time (``packaging/build_qc_aot.py``) into extension modules
  next to this file, ``_aot_baseline`` (any x86-64) and ``_aot_v3`` (x86-64-v3: AVX2,
  FMA, BMI2), and :func:`export` hands out the compiled functions, picking the build by
  the CPU NumPy reports. The helpers then stay plain Python functions that nothing calls.

``MICROCLIMATE_QC_JIT=1`` ignores compiled modules (the tests compare both paths).

Numba's disk cache checks only the file of the function it compiled: a kernel whose
helper in another file changed (``_select``'s median under ``_kernels``' robust-outlier
check) would load its old machine code and give the old results. So the JIT path keeps
its cache in a folder named by a digest of every source file of this package
(``__pycache__/numba-<digest>``, :func:`jit_cache_dir`): any change to any of them
compiles afresh. ``NUMBA_CACHE_DIR``, when set, is left to decide.

An entry point compiled ahead of time accepts exactly its signature: Numba would read an
array of another dtype or layout as if it had the declared one, so every array argument
is checked first and a mismatch is a ``TypeError`` naming the kernel and the argument.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any, NamedTuple, TypeVar

import numpy as np

F = TypeVar("F", bound=Callable[..., Any])

FORCE_JIT_ENV = "MICROCLIMATE_QC_JIT"
AOT_BUILDS = ("_aot_v3", "_aot_baseline")  # best first


class Export(NamedTuple):
    """An entry point as the ahead-of-time build needs it."""

    function: Callable[..., Any]  # the plain Python function
    args: str  # Numba types of the arguments, e.g. "f8[::1], i8"
    returns: str  # Numba type of the result ("void": none)
    options: dict[str, Any]  # the njit options of the JIT path


EXPORTS: dict[str, Export] = {}


def _cpu_runs(build: str) -> bool:
    if build != "_aot_v3":
        return True
    try:  # NumPy's own CPU dispatch table (the levels its SIMD kernels pick from)
        features = importlib.import_module("numpy._core._multiarray_umath").__cpu_features__
    except (ImportError, AttributeError):  # an older NumPy: take the build for any CPU
        return False
    return bool(features.get("X86_V3"))


def _load_aot() -> ModuleType | None:
    if os.environ.get(FORCE_JIT_ENV, "") not in ("", "0"):
        return None
    for build in AOT_BUILDS:
        if not _cpu_runs(build):
            continue
        try:
            return importlib.import_module(f"{__package__}.{build}")
        except ImportError:
            continue
    return None


AOT: ModuleType | None = _load_aot()


def backend() -> str:
    """``"jit"``, or the compiled module in use (``"_aot_v3"``, ``"_aot_baseline"``)."""
    return "jit" if AOT is None else AOT.__name__.rsplit(".", 1)[-1]


def export_name(func: Callable[..., Any]) -> str:
    """The compiled module's name for ``func``: its module and its name (``_stations``'s
    ``per_series`` is ``stations__per_series``)."""
    return f"{func.__module__.rsplit('.', 1)[-1].strip('_')}__{func.__name__}"


def split_args(args: str) -> list[str]:
    """``"f8[:, ::1], i8"`` -> ``["f8[:, ::1]", "i8"]`` (commas inside brackets stay)."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(args):
        depth += ch in "[("
        depth -= ch in "])"
        if ch == "," and depth == 0:
            parts.append(args[start:i].strip())
            start = i + 1
    parts.append(args[start:].strip())
    return [p for p in parts if p]


def _array_args(args: str) -> list[tuple[int, np.dtype[Any], int]]:
    """(position, dtype, ndim) of each C-contiguous array in a signature."""
    out = []
    for pos, arg in enumerate(split_args(args)):
        if "[" in arg:
            name, _, dims = arg.partition("[")
            if not dims.rstrip("]").strip().endswith("::1"):
                raise ValueError(f"{arg}: exported arrays are C-contiguous ('::1' last)")
            out.append((pos, np.dtype(name.strip()), dims.count(":") - 1))
    return out


def _describe(value: object) -> str:
    if isinstance(value, np.ndarray):
        layout = "C-contiguous" if value.flags.c_contiguous else "strided"
        return f"a {layout} {value.ndim}-D {value.dtype} array"
    return type(value).__name__


def _checked(name: str, compiled: Callable[..., Any], args: str) -> Callable[..., Any]:
    arrays = _array_args(args)

    def call(*values: Any) -> Any:
        for pos, dtype, ndim in arrays:
            a = values[pos] if pos < len(values) else None
            if not (isinstance(a, np.ndarray) and a.dtype == dtype and a.ndim == ndim
                    and a.flags.c_contiguous):
                raise TypeError(f"QC kernel {name}: argument {pos + 1} must be a "
                                f"C-contiguous {ndim}-D {dtype} array, got {_describe(a)}")
        return compiled(*values)

    call.__name__ = call.__qualname__ = name
    return call


def export(args: str, returns: str = "void", **options: Any) -> Callable[[F], F]:
    """An entry point called from Python: ``args``/``returns`` are its Numba types for the
    ahead-of-time build, ``options`` its ``numba.njit`` options for the JIT path."""

    def decorate(func: F) -> F:
        name = export_name(func)
        EXPORTS[name] = Export(func, args, returns, options)
        if AOT is not None:
            compiled = getattr(AOT, name, None)
            if compiled is None:
                raise ImportError(f"{AOT.__name__} has no {name}: rebuild it "
                                  f"(python packaging/build_qc_aot.py)")
            return _checked(name, compiled, args)  # type: ignore[return-value]
        return njit(**options)(func)

    return decorate


def njit(**options: Any) -> Callable[[F], F]:
    """``numba.njit(**options)`` on the JIT path; with a compiled module, the function
    as it is (compiled into the entry points that call it; Numba is not imported)."""
    if AOT is not None:
        return lambda func: func
    import numba

    global _CACHE_SET
    if not _CACHE_SET and not os.environ.get("NUMBA_CACHE_DIR"):
        numba.config.CACHE_DIR = str(jit_cache_dir(Path(__file__).parent))  # type: ignore[attr-defined]
        _CACHE_SET = True
    return numba.njit(**options)


_CACHE_SET = False
KEEP_CACHES = 3  # other source versions' caches kept (switching branches back and forth)


def jit_cache_dir(package: Path) -> Path:
    """``package/__pycache__/numba-<digest of its .py files>``; the oldest caches of
    other versions beyond :data:`KEEP_CACHES` are removed (best effort)."""
    digest = hashlib.sha256()
    for source in sorted(package.glob("*.py")):
        digest.update(source.name.encode() + b"\0" + source.read_bytes() + b"\0")
    folder = package / "__pycache__" / f"numba-{digest.hexdigest()[:16]}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        os.utime(folder)  # in use: the newest
        others = sorted((p for p in folder.parent.glob("numba-*") if p != folder),
                        key=lambda p: p.stat().st_mtime, reverse=True)
        for old in others[KEEP_CACHES:]:
            shutil.rmtree(old, ignore_errors=True)
    except OSError:
        pass  # a read-only install: Numba then finds a writable place of its own
    return folder
