"""The QC kernels compiled ahead of time (packaging/build_qc_aot.py), as the installer
carries them instead of Numba: the same flags as the JIT from every entry point on real
inputs, the GIL released, and a clear failure when they cannot be compiled.

The modules are compiled once per session into ``build/qc-aot`` (about 25 s for both
builds on 2 cores), or reused from there: the bundle build (tests/packaging/test_bundle.py,
packaging/build.py) writes the same folder, keyed by a digest of its inputs.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

pytestmark = [pytest.mark.xdist_group("bundle")]  # shares build/qc-aot with the bundle

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "packaging" / "build_qc_aot.py"
OUT = ROOT / "build" / "qc-aot"
BUILDS = ("baseline", "v3")


@pytest.fixture(scope="session")
def compiled() -> dict[str, Path]:
    """build name -> its compiled module file."""
    proc = subprocess.run([sys.executable, str(SCRIPT), "--out", str(OUT)],
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    found = {b: next(OUT.glob(f"_aot_{b}.*")) for b in BUILDS}
    return found


@pytest.fixture(scope="module")
def jit_results() -> dict[str, np.ndarray]:
    from desktop_app.qc import _dispatch
    from tests.packaging.qc_aot_probe import results

    assert _dispatch.AOT is None, "this process must run the JIT: a compiled module sits " \
        f"in desktop_app/qc ({_dispatch.AOT})"
    return results()


@pytest.mark.parametrize("build", BUILDS)
def test_every_entry_point_gives_the_jit_results(build, compiled, jit_results, tmp_path):
    from desktop_app.qc import _dispatch

    alone = tmp_path / "aot"
    alone.mkdir()
    shutil.copy2(compiled[build], alone)  # only this build on the path
    target = tmp_path / "aot.npz"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("MICROCLIMATE_QC_JIT", None)
    proc = subprocess.run([sys.executable, str(ROOT / "tests" / "packaging" / "qc_aot_probe.py"),
                           str(alone), str(target)], capture_output=True, text=True,
                          timeout=600, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    with np.load(target) as got:
        assert str(got["__module__"]) == f"desktop_app.qc._aot_{build}"
        # the probe reached every entry point the kernel modules export
        assert sorted(got["__called__"]) == sorted(_dispatch.EXPORTS)
        assert sorted(k for k in got.files if not k.startswith("__")) == sorted(jit_results)
        for key, want in jit_results.items():
            assert got[key].dtype == want.dtype, key
            np.testing.assert_array_equal(got[key], want, err_msg=key)
    flags = jit_results["runner/temperature_qc"]
    assert {1, 3}.issubset(set(np.unique(flags)))  # real verdicts, not all "not evaluated"


def _load(path: Path) -> ModuleType:
    name = path.name.split(".")[0]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("build", BUILDS)
def test_compiled_entry_points_release_the_gil(build, compiled):
    """A thread inside a compiled kernel lets Python run: with the interpreter's switch
    interval at 100 s no thread is ever preempted, so the main thread gets the GIL back
    while the kernel runs only if the kernel released it (else only after the worker has
    finished and recorded that). The kernel: the neighbour scan on 12,000 stations that
    are all each other's neighbours (~10^8 pairs, no memory to speak of)."""
    if build == "v3" and not _cpu_level_v3():
        pytest.skip("this CPU cannot run the x86-64-v3 build")
    scan = _load(compiled[build]).neighbours___scan_rows
    n = 12_000
    xyz = np.random.default_rng(0).uniform(0.0, 1000.0, (3, n))
    args = (*(np.ascontiguousarray(c) for c in xyz), np.full(n, 1e6),
            np.zeros((n, 3), np.int64), np.zeros(n, np.int64), np.zeros(n + 1, np.int64),
            np.zeros(0, np.int32), False, 0, n)
    done: list[bool] = []

    def work() -> None:
        scan(*args)
        done.append(True)

    old = sys.getswitchinterval()
    sys.setswitchinterval(100.0)
    try:
        worker = threading.Thread(target=work)
        worker.start()  # returns once the worker let go of the GIL
        ran_meanwhile = not done
        worker.join()
    finally:
        sys.setswitchinterval(old)
    assert done and ran_meanwhile
    assert int(args[6][1:].min()) == n - 1  # the scan did its work: everyone's neighbour


def _cpu_level_v3() -> bool:
    from desktop_app.qc import _dispatch

    return _dispatch._cpu_runs("_aot_v3")


def test_build_fails_with_one_clear_line_without_a_compiler(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CC": str(tmp_path / "no-such-cc")}
    proc = subprocess.run([sys.executable, str(SCRIPT), "--out", str(tmp_path / "out"),
                           "--builds", "baseline"], capture_output=True, text=True,
                          timeout=300, env=env)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("build_qc_aot: cannot compile _aot_baseline")
    assert "compiler" in lines[0]
    assert not list((tmp_path / "out").glob("_aot_*"))  # nothing half-written


def test_a_compiled_kernel_refuses_arrays_it_was_not_compiled_for(compiled):
    """Numba's compiled wrapper would read an int32 or strided array as the declared
    float64 C-contiguous one: the dispatch checks first and names the argument."""
    from desktop_app.qc import _dispatch

    gross = _dispatch._checked("kernels__gross_range_into",
                               _load(compiled["baseline"]).kernels__gross_range_into,
                               _dispatch.EXPORTS["kernels__gross_range_into"].args)
    out = np.empty(4, np.uint8)
    gross(np.array([1.0, 5.0, np.nan, -3.0]), 0.0, 4.0, 0.0, 4.0, False, out)
    assert out.tolist() == [1, 4, 9, 4]
    with pytest.raises(TypeError, match="argument 1 must be a C-contiguous 1-D float64"):
        gross(np.arange(4, dtype=np.int32), 0.0, 4.0, 0.0, 4.0, False, out)
    with pytest.raises(TypeError, match="argument 7 .* got a strided 1-D uint8 array"):
        gross(np.ones(4), 0.0, 4.0, 0.0, 4.0, False, np.empty(8, np.uint8)[::2])


def test_each_cpu_level_gets_its_build(compiled, monkeypatch):
    """The dispatch takes the x86-64-v3 build only where NumPy reports that level, the
    generic one elsewhere, and none when the JIT is forced."""
    import importlib

    import desktop_app.qc
    from desktop_app.qc import _dispatch

    both = compiled["baseline"].parent
    monkeypatch.setattr(desktop_app.qc, "__path__", [*desktop_app.qc.__path__, str(both)])
    features = importlib.import_module("numpy._core._multiarray_umath").__cpu_features__
    try:
        for has_v3, want in ((True, "_aot_v3"), (False, "_aot_baseline")):
            monkeypatch.setitem(features, "X86_V3", has_v3)
            module = _dispatch._load_aot()
            assert module is not None and module.__name__ == f"desktop_app.qc.{want}"
        monkeypatch.setenv("MICROCLIMATE_QC_JIT", "1")
        assert _dispatch._load_aot() is None
    finally:
        for build in _dispatch.AOT_BUILDS:  # this process keeps running the JIT
            sys.modules.pop(f"desktop_app.qc.{build}", None)


@pytest.mark.skipif(shutil.which("objdump") is None, reason="no objdump (binutils)")
def test_builds_hold_only_their_cpu_level_instructions(compiled):
    """The generic build must run on any x86-64: no AVX (VEX-encoded) instruction at all,
    although the build machine has AVX2 and Numba's JIT targets it; the v3 build uses
    AVX2 but no AVX-512 (zmm registers)."""
    def mnemonics(path: Path) -> list[str]:
        text = subprocess.run(["objdump", "-d", "--no-show-raw-insn", str(path)],
                              capture_output=True, text=True, check=True).stdout
        return [line.split("\t")[1] for line in text.splitlines() if line.count("\t") >= 1
                and line.split("\t")[0].strip().endswith(":")]

    generic = mnemonics(compiled["baseline"])
    assert len(generic) > 10_000
    vex = sorted({m.split()[0] for m in generic if m.startswith("v") or "ymm" in m})
    assert not vex, vex[:20]
    wide = mnemonics(compiled["v3"])
    assert any("ymm" in m for m in wide)
    assert not any("zmm" in m for m in wide)
