"""onnxruntime sessions: provider choice (auto | cuda | cpu), one clean status.

Getting CUDA from pip alone (Linux x86_64 / Windows, NVIDIA driver installed)::

    pip install "onnxruntime-gpu[cuda,cudnn]"

The extras bring the CUDA and cuDNN libraries as NVIDIA wheels. They are not on the
system library path, so :func:`create_session` calls ``onnxruntime.preload_dlls()``
before making a CUDA session; that loads them from the installed NVIDIA packages. Check
with ``microclimate models info`` (it prints the runtime status).

Without a GPU the GPU wheel still runs on the CPU, but trying the CUDA provider makes
onnxruntime print a red error and a warning to the process's stderr. We try CUDA once per
process with stderr captured, keep the reason as one line, and never try again:
(The capture redirects the process's stdout/stderr descriptors for the moment of the
probe, so another thread's output in that instant is swallowed; call
:func:`runtime_status` once at start-up to get it over with.)
``provider="auto"`` then runs on the CPU and says why; ``provider="cuda"`` raises
:class:`ModelError` with that reason rather than silently running somewhere else.
onnxruntime is imported lazily, inside functions.
"""

from __future__ import annotations

import contextlib
import ctypes.util
import io
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from desktop_app.errors import ConfigError, ModelError

PROVIDERS = ("auto", "cuda", "cpu")
_CUDA = "CUDAExecutionProvider"
_CPU = "CPUExecutionProvider"
# INT8 was an option until it was measured (benchmarks/results/bench_inference_cpu.txt):
# dynamic quantisation ran 9.4x slower than FP32 on the bundled model, static QDQ
# per-channel (calibrated on real ERA5 fields, Conv only) 1.25-1.45x slower, each costing
# accuracy.
# The ``int8`` parameter stays only to fail with this reason.
INT8_REMOVED = ("INT8 was removed: on the CPU it ran slower than FP32 for the bundled model "
                "(measured, see docs/inference.md), so it was a trap, not an option")
CUDA_HELP = ('for CUDA from pip: pip install "onnxruntime-gpu[cuda,cudnn]" '
             "(needs an NVIDIA GPU and driver)")


@dataclass(frozen=True)
class RuntimeStatus:
    """Which provider runs and why; plain data for the CLI and the GUI."""

    requested: str
    provider: str  # "cuda" or "cpu"
    reason: str  # why this provider (for CPU under auto: why not CUDA)
    onnxruntime_version: str
    available_providers: tuple[str, ...]

    def summary(self) -> str:
        return f"{self.provider.upper()} (requested {self.requested}): {self.reason}"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@contextlib.contextmanager
def _captured_output() -> Iterator[io.StringIO]:
    """Capture what native code writes to fd 1/2 and Python writes to sys.std*."""
    text = io.StringIO()
    try:
        saved = [os.dup(1), os.dup(2)]
    except OSError:
        # no usable stdout/stderr descriptors (a windowed app without a console):
        # native output goes nowhere anyway; capture only what Python prints
        with contextlib.redirect_stdout(text), contextlib.redirect_stderr(text):
            yield text
        return
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)
        try:
            with contextlib.redirect_stdout(text), contextlib.redirect_stderr(text):
                yield text
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)
            sink.seek(0)
            text.write(sink.read().decode("utf-8", "replace"))


def _ort() -> Any:
    try:
        import onnxruntime
    except ImportError as exc:  # pragma: no cover - a broken install
        raise ModelError(f"onnxruntime is not installed: {exc}") from exc
    return onnxruntime


# The CUDA probe's model: y = Relu(x), float[1], opset 17, IR version 9, serialised once
# (tests/inference/test_runtime.py rebuilds it with onnx.helper and compares): building it
# at run time imported onnx (and ml_dtypes), about a second of the window's start-up.
_PROBE_MODEL = bytes.fromhex(
    "08093a370a0c0a0178120179220452656c75120570726f62655a0f0a0178120a0a08080112040a0208"
    "01620f0a0179120a0a08080112040a02080142040a001011")


def _probe_model() -> bytes:
    return _PROBE_MODEL


def _why_no_cuda(log: str) -> str:
    missing = re.search(r"(lib[\w.+-]+\.so[\w.]*): cannot open shared object", log)
    driver = ctypes.util.find_library("cuda") is not None or ctypes.util.find_library(
        "nvcuda") is not None
    if not driver:
        base = "no NVIDIA driver found (libcuda is not loadable)"
    elif missing:
        base = f"CUDA/cuDNN libraries not found ({missing.group(1)} missing)"
    else:
        first = next((line.strip() for line in log.splitlines() if line.strip()), "")
        base = "the CUDA provider did not load" + (f": {first[:160]}" if first else "")
    return f"{base}; {CUDA_HELP}"


@lru_cache(maxsize=1)
def cuda_probe() -> tuple[bool, str]:
    """Try the CUDA provider once per process (output captured): (usable, reason)."""
    ort = _ort()
    if _CUDA not in ort.get_available_providers():
        return False, f"this onnxruntime build has no CUDA provider; {CUDA_HELP}"
    with _captured_output() as log:
        try:
            if hasattr(ort, "preload_dlls"):
                ort.preload_dlls()
            options = ort.SessionOptions()
            options.log_severity_level = 3
            session = ort.InferenceSession(_probe_model(), options, providers=[_CUDA, _CPU])
            ok = session.get_providers()[0] == _CUDA
        except Exception as exc:  # noqa: BLE001 - any provider failure means "no CUDA"
            ok = False
            print(f"{type(exc).__name__}: {exc}")
    return (True, "CUDA provider loaded") if ok else (False, _why_no_cuda(log.getvalue()))


def resolve_provider(requested: str = "auto") -> RuntimeStatus:
    """Decide the provider without a model; raises :class:`ModelError` if CUDA was
    requested explicitly and cannot run."""
    if requested not in PROVIDERS:
        raise ConfigError(f"provider must be one of {', '.join(PROVIDERS)}, got {requested!r}")
    ort = _ort()
    available = tuple(ort.get_available_providers())
    version = str(ort.__version__)
    if requested == "cpu":
        return RuntimeStatus("cpu", "cpu", "CPU requested", version, available)
    usable, reason = cuda_probe()
    if usable:
        return RuntimeStatus(requested, "cuda", reason, version, available)
    if requested == "cuda":
        raise ModelError(f"CUDA requested but unavailable: {reason}; "
                         "use --provider auto or cpu to run on the CPU")
    return RuntimeStatus(requested, "cpu", f"CUDA not used: {reason}", version, available)


def runtime_status(requested: str = "auto") -> RuntimeStatus:
    """The status the GUI shows; never raises for an unavailable CUDA."""
    try:
        return resolve_provider(requested)
    except ModelError as exc:
        ort = _ort()
        return RuntimeStatus(requested, "none", str(exc), str(ort.__version__),
                             tuple(ort.get_available_providers()))


class ModelSession:
    """An onnxruntime session plus its status; runs with IO binding on CUDA."""

    def __init__(self, session: Any, status: RuntimeStatus) -> None:
        self.session = session
        self.status = status
        self.input_name: str = session.get_inputs()[0].name
        self.output_names: list[str] = [o.name for o in session.get_outputs()]

    def run(self, x: np.ndarray, outputs: list[np.ndarray] | None = None
            ) -> list[np.ndarray]:
        """Run on ``x``; with ``outputs`` (C-contiguous float32 arrays of the output
        shapes) the results are written straight into them, saving a copy and a fresh
        allocation per step."""
        x = np.ascontiguousarray(x, np.float32)
        try:
            return self._run(x, outputs)
        except Exception as exc:  # noqa: BLE001 - onnxruntime raises untyped errors
            first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
            raise ModelError(f"the model failed on input {x.shape}: "
                             f"{type(exc).__name__}: {first}") from exc

    @property
    def max_batch(self) -> int | None:
        """The graph's fixed batch size, if it has one (None: any)."""
        batch = self.session.get_inputs()[0].shape[0]
        return batch if isinstance(batch, int) else None

    def _run(self, x: np.ndarray, outputs: list[np.ndarray] | None) -> list[np.ndarray]:
        if self.status.provider != "cuda" and outputs is None:
            result: list[np.ndarray] = self.session.run(self.output_names, {self.input_name: x})
            return result
        ort = _ort()
        binding = self.session.io_binding()
        if self.status.provider == "cuda":
            # bind the input on the device once, avoiding the staging copies of run()
            binding.bind_ortvalue_input(self.input_name,
                                        ort.OrtValue.ortvalue_from_numpy(x, "cuda", 0))
        else:
            binding.bind_cpu_input(self.input_name, x)
        if outputs is None:
            for name in self.output_names:
                binding.bind_output(name, "cpu")
            self.session.run_with_iobinding(binding)
            copied: list[np.ndarray] = binding.copy_outputs_to_cpu()
            return copied
        for name, buf in zip(self.output_names, outputs, strict=True):
            if buf.dtype != np.float32 or not buf.flags.c_contiguous:
                raise ModelError("output buffers must be C-contiguous float32")
            binding.bind_output(name, "cpu", 0, np.float32, list(buf.shape),
                                buf.ctypes.data)
        self.session.run_with_iobinding(binding)
        return outputs

    def warm_up(self, channels: int, size: int = 16) -> None:
        """One tiny run so the first real step does not pay for kernel setup."""
        self.run(np.zeros((1, channels, size, size), np.float32))


def create_session(model: Path | bytes, provider: str = "auto", *, threads: int | None = None,
                   optimization: str = "all", int8: bool = False) -> ModelSession:
    """Open an ONNX model on the chosen provider. Errors are :class:`ModelError`."""
    levels = {"none": "ORT_DISABLE_ALL", "basic": "ORT_ENABLE_BASIC",
              "extended": "ORT_ENABLE_EXTENDED", "all": "ORT_ENABLE_ALL"}
    if optimization not in levels:
        raise ConfigError(f"optimization must be one of {', '.join(levels)}")
    if int8:
        raise ConfigError(INT8_REMOVED)
    status = resolve_provider(provider)
    ort = _ort()
    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.graph_optimization_level = getattr(ort.GraphOptimizationLevel, levels[optimization])
    if threads:
        options.intra_op_num_threads = int(threads)
    providers = [_CUDA, _CPU] if status.provider == "cuda" else [_CPU]
    source: str | bytes = str(model) if isinstance(model, Path) else model
    try:
        if status.provider == "cpu" and optimization == "all":
            from desktop_app.inference.graph import cpu_model_bytes
            from desktop_app.paths import cache_dir

            data = model.read_bytes() if isinstance(model, Path) else model
            source = cpu_model_bytes(data, cache_dir() / "onnx-cpu")
        session = ort.InferenceSession(source, options, providers=providers)
    except Exception as exc:  # noqa: BLE001 - onnxruntime raises several untyped errors
        where = model if isinstance(model, Path) else "model bytes"
        raise ModelError(f"cannot load ONNX model {where}: "
                         f"{str(exc).strip().splitlines()[0][:300]}") from exc
    return ModelSession(session, status)
