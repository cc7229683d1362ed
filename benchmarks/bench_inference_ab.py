"""512x512 CPU downscaling, before and after a change, in ONE process, alternating.

    git archive main | tar -x -C /tmp/inf_before
    python benchmarks/bench_inference_ab.py --before /tmp/inf_before [--steps 8 --rounds 7]

On a shared machine absolute times move with the load; measured interleaved, the two
trees see the same load, so their ratio is what a change is worth. Both trees' packages
are imported side by side (each call runs with its own ``desktop_app`` modules in
``sys.modules``). Printed: per-step wall time of the pipeline (``Predictor.predict``,
features -> session -> physical units, all steps in one session.run) for each tree and of
a bare ``session.run`` on the same tensors (this tree), medians and bests, the ratios;
then what bounds a step: onnxruntime's profiler per operator (best of runs) and the
convolutions' arithmetic against the machine's measured float32 GEMM rate.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SIZE = 512


def _load(tree: Path) -> dict[str, ModuleType]:
    """Import ``desktop_app`` (the modules this benchmark uses) from ``tree``; return its
    modules and leave ``sys.modules`` without any ``desktop_app``."""
    for name in [m for m in sys.modules if m.split(".")[0] == "desktop_app"]:
        del sys.modules[name]
    sys.path.insert(0, str(tree))
    try:
        import desktop_app.inference.predictor  # noqa: F401
        import desktop_app.inference.registry  # noqa: F401
        import desktop_app.sources.region  # noqa: F401
    finally:
        sys.path.remove(str(tree))
    mods = {m: sys.modules.pop(m) for m in list(sys.modules) if m.split(".")[0] == "desktop_app"}
    assert str(mods["desktop_app"].__file__).startswith(str(tree)), "imported the wrong tree"
    return mods


@contextlib.contextmanager
def _side(mods: dict[str, ModuleType]) -> Iterator[None]:
    """Run with one tree's modules installed (lazy imports inside find the same tree)."""
    sys.modules.update(mods)
    try:
        yield
    finally:
        for name in [m for m in sys.modules if m.split(".")[0] == "desktop_app"]:
            mods[name] = sys.modules.pop(name)


def _grid(mods: dict[str, ModuleType], steps: int) -> tuple[Any, Any]:
    """The sample region's real terrain resampled to 512x512, its generated weather
    (timing only; as benchmarks/bench_inference.py)."""
    import xarray as xr

    region = mods["desktop_app.sources.region"].load_region()
    t = region.terrain
    lat = np.linspace(float(t.latitude[0]), float(t.latitude[-1]), SIZE)
    lon = np.linspace(float(t.longitude[0]), float(t.longitude[-1]), SIZE)
    bilinear = mods["desktop_app.downscale.baseline"].bilinear
    elev = bilinear(t["elevation"].values, t.latitude.values, t.longitude.values, lat, lon
                    ).astype(np.float32)
    terrain = xr.Dataset({"elevation": (("latitude", "longitude"), elev,
                                        t["elevation"].attrs)},
                         coords={"latitude": lat, "longitude": lon})
    return region.coarse.isel(time=slice(0, steps)), terrain


def _gemm_gflops(repeats: int = 7) -> float:
    """The machine's float32 GEMM rate (numpy's BLAS, all its threads), best of runs."""
    a = np.random.default_rng(0).random((2048, 2048), np.float32)
    a @ a
    best = min(_timed(lambda: a @ a) for _ in range(repeats))
    return 2 * 2048 ** 3 / best / 1e9


def _timed(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _profile(session_bytes: bytes, x: np.ndarray, runs: int = 5) -> dict[str, float]:
    """onnxruntime's per-operator times (ms, best of ``runs``) for one input."""
    import onnxruntime as ort

    with tempfile.TemporaryDirectory() as tmp:
        options = ort.SessionOptions()
        options.log_severity_level = 3
        options.enable_profiling = True
        options.profile_file_prefix = os.path.join(tmp, "prof")
        s = ort.InferenceSession(session_bytes, options, providers=["CPUExecutionProvider"])
        for _ in range(runs + 1):
            s.run(None, {s.get_inputs()[0].name: x})
        events = json.loads(Path(s.end_profiling()).read_text())
    per: dict[str, list[float]] = collections.defaultdict(list)
    for e in events:
        if e.get("cat") == "Node" and e["name"].endswith("_kernel_time"):
            per[f"{e['args']['op_name']} {e['name'][:-12]}"].append(e["dur"] / 1000)
    return {k: min(v[1:] or v) for k, v in per.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, required=True, help="the old tree")
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--threads", type=int, default=None,
                        help="onnxruntime intra-op threads (default: its own, the cores); "
                        "with 1, the CPU time column is the work itself, whatever the load")
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()}")
    sides = {"before": _load(args.before.resolve()), "after": _load(ROOT)}
    preds, inputs = {}, {}
    for label, mods in sides.items():
        with _side(mods):
            entry = mods["desktop_app.inference.registry"].ModelRegistry().resolve(None)
            preds[label] = mods["desktop_app.inference.predictor"].Predictor(
                entry, "cpu", threads=args.threads)
            inputs[label] = _grid(mods, args.steps)
    pred = preds["after"]
    with _side(sides["after"]):
        x = pred.feature_builder(*inputs["after"]).build(0, args.steps)
    calls: dict[str, Callable[[], object]] = {
        f"pipeline {k}": (lambda k=k: preds[k].predict(*inputs[k])) for k in sides}
    calls["bare session.run"] = lambda: pred.session.run(x)
    times: dict[str, list[float]] = {k: [] for k in calls}
    cpu: dict[str, list[float]] = {k: [] for k in calls}
    for k, fn in calls.items():  # warm-up
        with _side(sides["before" if k.endswith("before") else "after"]):
            fn()
    for _ in range(args.rounds):
        for k, fn in calls.items():
            with _side(sides["before" if k.endswith("before") else "after"]):
                c0 = time.process_time()
                times[k].append(1000 * _timed(fn) / args.steps)
                cpu[k].append(1000 * (time.process_time() - c0) / args.steps)
    print(f"load average at end: {os.getloadavg()}")
    print(f"== {SIZE}x{SIZE}, {args.steps} steps per call, {args.rounds} rounds "
          f"interleaved, model {pred.entry.spec}, onnxruntime threads "
          f"{args.threads or 'default'}, ms/step")
    for k, v in times.items():
        print(f"{k:18s}: wall median {np.median(v):7.1f}  best {min(v):7.1f};  "
              f"CPU (all threads) median {np.median(cpu[k]):7.1f}  best {min(cpu[k]):7.1f}")
    med = {k: float(np.median(v)) for k, v in times.items()}
    best = {k: min(v) for k, v in times.items()}
    cpu_med = {k: float(np.median(v)) for k, v in cpu.items()}
    for what, d in (("wall median", med), ("wall best", best), ("CPU median", cpu_med)):
        print(f"after/before ({what}) = {d['pipeline after'] / d['pipeline before']:.3f};  "
              f"pipeline/bare: before {d['pipeline before'] / d['bare session.run']:.3f}, "
              f"after {d['pipeline after'] / d['bare session.run']:.3f}")
    bound(pred, x[:1])


def bound(pred: Any, x: np.ndarray) -> None:
    """Where a bare step goes, and the floor the convolutions alone set."""
    import onnx
    from onnx import numpy_helper

    from desktop_app.inference.graph import cpu_model_bytes

    data = pred.entry.onnx_path.read_bytes()
    ops = _profile(cpu_model_bytes(data), x)
    by_type: dict[str, float] = collections.defaultdict(float)
    for k, v in ops.items():
        by_type[k.split()[0]] += v
    total = sum(ops.values())
    print(f"onnxruntime profiler, one {SIZE}x{SIZE} step, best of 5 per operator: "
          f"sum {total:.1f} ms")
    for op, ms in sorted(by_type.items(), key=lambda kv: -kv[1])[:6]:
        print(f"  {op:14s} {ms:7.1f} ms  ({100 * ms / total:.0f} %)")
    macs = sum(int(np.prod(numpy_helper.to_array(i).shape)) for i in onnx.load_from_string(
        data).graph.initializer if i.name.endswith("weight")) * SIZE * SIZE
    conv_ms = sum(v for k, v in ops.items() if k.startswith("Conv"))
    gemm = _gemm_gflops()
    print(f"convolutions: {2 * macs / 1e9:.2f} GFLOP per step in {conv_ms:.1f} ms = "
          f"{2 * macs / conv_ms / 1e6:.0f} GFLOP/s; numpy float32 GEMM on this machine: "
          f"{gemm:.0f} GFLOP/s -> the convolutions alone need >= "
          f"{2 * macs / gemm / 1e6:.1f} ms per step at the GEMM rate")


if __name__ == "__main__":
    main()
