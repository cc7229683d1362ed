"""Compile the QC kernels ahead of time, so the installer needs no Numba and no llvmlite.

    python packaging/build_qc_aot.py [--out DIR] [--builds baseline,v3] [--force]

``packaging/build.py`` runs this before PyInstaller; it also runs alone. It compiles
every entry point the kernel modules declare with ``@export`` (``desktop_app.qc._dispatch``)
into CPython extension modules that need only NumPy at run time (``numba.pycc``):

- ``_aot_baseline``: generic x86-64, runs on any 64-bit x86 machine;
- ``_aot_v3``: x86-64-v3 (AVX2, FMA, BMI2: Intel since 2013, AMD since 2015), which the
  app picks when NumPy reports that CPU level (the kernels vectorise wider).

written to ``build/qc-aot/`` (or ``--out``), where ``microclimate.spec`` takes them into
the bundle's ``desktop_app/qc``: never next to the sources, where a stale build would
shadow an edited kernel. A build whose inputs (``desktop_app/qc``, this script, the
Python/NumPy/Numba versions) have not changed since is reused. Every entry
point is compiled as Numba's JIT compiles it for the app, with two settings pycc
does not take per function: NumPy's error model (a division by zero gives inf or NaN,
as every kernel is written for) and the GIL released for the whole call (the drivers
run in a thread pool, :mod:`desktop_app.qc._threads`: holding it would serialise them).
When something cannot be compiled (no C compiler, a kernel Numba cannot type, no
Numba) it says so in one line and exits non-zero; nothing half-written is left.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import importlib
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows (untested): no lock, one build at a time is up to the user
    fcntl = None  # type: ignore[assignment]

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "build" / "qc-aot"
# the modules that declare entry points (their import fills _dispatch.EXPORTS)
KERNEL_MODULES = ("_kernels", "_select", "_stations", "_buddy", "neighbours")
# build name -> LLVM target CPU ("" is pycc's default: generic x86-64)
BUILDS = {"baseline": "", "v3": "x86-64-v3"}


class BuildError(RuntimeError):
    """The kernels could not be compiled ahead of time (the message says why)."""


@contextlib.contextmanager
def _aot_flags() -> Iterator[None]:
    """pycc compiles every export with one ``numba.core.compiler.Flags()`` that it makes
    itself (``numba.pycc.compiler._ModuleCompiler._cull_exports``): for as long as this
    build runs, it gets a subclass that also sets NumPy's error model and releases the
    GIL in the CPython wrapper (``numba.core.callwrapper`` honours ``release_gil``)."""
    from numba.core.compiler import Flags
    from numba.pycc import compiler

    class AotFlags(Flags):  # type: ignore[misc]
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)
            self.error_model = "numpy"
            self.release_gil = True

    saved = compiler.Flags
    compiler.Flags = AotFlags
    try:
        yield
    finally:
        compiler.Flags = saved


def _exports() -> dict[str, object]:
    """The entry points, with Numba's JIT in charge (so the helpers they call are Numba
    functions pycc can compile into them)."""
    os.environ["MICROCLIMATE_QC_JIT"] = "1"
    sys.path.insert(0, str(ROOT))
    dispatch = importlib.import_module("desktop_app.qc._dispatch")
    if dispatch.AOT is not None:
        raise BuildError("desktop_app.qc was imported with its compiled kernels already: "
                         "run this build in a fresh process")
    for name in KERNEL_MODULES:
        importlib.import_module(f"desktop_app.qc.{name}")
    for name, entry in dispatch.EXPORTS.items():
        if entry.options.get("error_model") != "numpy":
            raise BuildError(f"{name}: the ahead-of-time build compiles with NumPy's error "
                             "model; declare error_model='numpy' on the JIT path too")
    return dict(dispatch.EXPORTS)


def inputs_digest(builds: list[str]) -> str:
    """What a build depends on: the QC package's sources, this script, the versions."""
    import numba
    import numpy

    digest = hashlib.sha256()
    for path in [*sorted((ROOT / "desktop_app" / "qc").glob("*.py")), Path(__file__)]:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    digest.update(f"{sys.version}|{numpy.__version__}|{numba.__version__}|{builds}".encode())
    return digest.hexdigest()


def build(out: Path, builds: list[str], force: bool = False) -> list[Path]:
    """Compile ``builds`` (keys of :data:`BUILDS`) into ``out``, or reuse what an earlier
    build of the same inputs left there; returns the module files. One build at a time
    per folder (a lock): a second caller waits, then finds the first one's modules."""
    try:
        from numba.pycc import CC
    except ImportError as exc:  # numba >= 0.70 may drop pycc
        raise BuildError(f"numba.pycc is not available ({exc})") from exc
    out.mkdir(parents=True, exist_ok=True)
    with (out / ".lock").open("w") as lock:
        if fcntl is not None:
            fcntl.flock(lock, fcntl.LOCK_EX)
        stamp = out / "inputs.sha256"
        digest = inputs_digest(builds)
        found = sorted(out.glob("_aot_*"))
        if not force and stamp.is_file() and stamp.read_text() == digest \
                and len(found) == len(builds):
            return found
        stamp.unlink(missing_ok=True)
        for old in found:
            old.unlink()
        written = _compile(CC, out, builds)
        stamp.write_text(digest)
        return written


def _compile(CC: type, out: Path, builds: list[str]) -> list[Path]:
    exports = _exports()
    written = []
    for key in builds:
        name = f"_aot_{key}"
        with tempfile.TemporaryDirectory(prefix=f"qc-aot-{key}-") as tmp:
            try:
                cc = CC(name, source_module="desktop_app.qc._dispatch")  # finds a C compiler
                cc.output_dir = tmp
                cc.target_cpu = BUILDS[key]
                for symbol, entry in sorted(exports.items()):
                    cc.export(symbol, f"{entry.returns}({entry.args})")(entry.function)
                with _aot_flags():
                    cc.compile()
            except Exception as exc:  # pycc raises whatever its toolchain/typing raised
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
                raise BuildError(f"cannot compile {name}: {type(exc).__name__}: {first}") \
                    from exc
            built = Path(tmp) / cc.output_file
            target = out / cc.output_file
            staged = target.with_name(target.name + ".part")
            shutil.copyfile(built, staged)
            os.replace(staged, target)  # atomic: never half a module in the folder
            written.append(target)
    return written


def default_builds() -> list[str]:
    """Both builds on x86-64; elsewhere the generic one only (untested there)."""
    return ["baseline", "v3"] if platform.machine().lower() in ("x86_64", "amd64") \
        else ["baseline"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help="output folder (default: build/qc-aot)")
    parser.add_argument("--builds", default=",".join(default_builds()),
                        help="comma-separated: " + ", ".join(BUILDS))
    parser.add_argument("--force", action="store_true", help="compile even if up to date")
    args = parser.parse_args(argv)
    builds = [b.strip() for b in args.builds.split(",") if b.strip()]
    unknown = sorted(set(builds) - set(BUILDS))
    if unknown:
        parser.error(f"unknown build(s) {', '.join(unknown)}; choose from {', '.join(BUILDS)}")
    started = time.perf_counter()
    try:
        files = build(args.out.resolve(), builds, args.force)
    except BuildError as exc:
        print(f"build_qc_aot: {exc}", file=sys.stderr)
        return 1
    for f in files:
        print(f"QC kernels compiled ahead of time: {f} ({f.stat().st_size / 2**10:.0f} KiB)")
    print(f"done in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
