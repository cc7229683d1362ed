"""Graph rewrites that make a model cheaper to run on the CPU, applied when it is loaded.

onnxruntime's x86 convolutions work on channels in blocks of 8 (AVX2) or 16 (AVX-512):
a convolution with ONE output channel (the last layer of a regression CNN such as the
bundled downscaler) computes a whole block and throws away all but one channel. On the
bundled model that last 3x3 convolution, 1/32 of the network's arithmetic, took 11 % of
the time of a step at 512x512 (onnxruntime's profiler, benchmarks/bench_inference.py).

:func:`split_single_output_convs` rewrites such a ``k x k`` convolution as a ``1 x 1``
convolution to ``k*k`` channels (one per kernel tap, ``k*k / 8`` of the blocked work of
the original) followed by the shifted sum of those channels: the same arithmetic,
summed in another order, so outputs agree to float32 rounding (about 1e-7 relative),
not bit for bit. The model file is never changed (its sha256 stays valid); the rewrite
lives in the bytes handed to the session.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np

REWRITE_VERSION = 1  # bump when a rewrite changes: cached results then start afresh
_END = np.iinfo(np.int64).max  # "to the end" for Slice


def _attr(node: Any, name: str, default: Any) -> Any:
    from onnx import helper

    for a in node.attribute:
        if a.name == name:
            return helper.get_attribute_value(a)
    return default


def _splittable(node: Any, inits: dict[str, Any]) -> bool:
    """A stride-1, undilated, ungrouped ``k x k`` (k odd > 1) convolution to one channel,
    padded to keep the size, with constant weights (and bias)."""
    if node.op_type != "Conv" or node.domain not in ("", "ai.onnx"):
        return False
    if len(node.input) < 2 or node.input[1] not in inits:
        return False
    if len(node.input) > 2 and node.input[2] and node.input[2] not in inits:
        return False
    dims = list(inits[node.input[1]].dims)
    if len(dims) != 4 or dims[0] != 1 or dims[2] != dims[3] or dims[2] % 2 == 0 or dims[2] < 3:
        return False
    r = dims[2] // 2
    return (_attr(node, "group", 1) == 1
            and list(_attr(node, "strides", [1, 1])) == [1, 1]
            and list(_attr(node, "dilations", [1, 1])) == [1, 1]
            and _attr(node, "auto_pad", b"NOTSET") in (b"NOTSET", "NOTSET")
            and list(_attr(node, "pads", [0, 0, 0, 0])) == [r, r, r, r])


def split_single_output_convs(model: Any) -> int:
    """Rewrite every splittable convolution of ``model`` (an ``onnx.ModelProto``, changed
    in place); return how many were rewritten."""
    from onnx import helper, numpy_helper

    graph = model.graph
    inits = {t.name: t for t in graph.initializer}
    graph_inputs = {i.name for i in graph.input}
    done = 0
    for node in list(graph.node):
        if not _splittable(node, inits) or node.input[1] in graph_inputs:
            continue
        w = numpy_helper.to_array(inits[node.input[1]])
        k = w.shape[2]
        r = k // 2
        p = f"{node.name or node.output[0]}__split{done}"
        taps = np.ascontiguousarray(w[0].transpose(1, 2, 0).reshape(k * k, w.shape[1], 1, 1))
        new_inits = [numpy_helper.from_array(taps, f"{p}_w"),
                     numpy_helper.from_array(np.array([0, 0, r, r, 0, 0, r, r], np.int64),
                                             f"{p}_pads"),
                     numpy_helper.from_array(np.array([1, 2, 3], np.int64), f"{p}_axes")]
        new = [helper.make_node("Conv", [node.input[0], f"{p}_w"], [f"{p}_taps"],
                                kernel_shape=[1, 1], name=f"{p}_conv"),
               helper.make_node("Pad", [f"{p}_taps", f"{p}_pads"], [f"{p}_padded"],
                                name=f"{p}_pad")]
        total = ""
        for tap in range(k * k):
            dy, dx = divmod(tap, k)
            # rows dy .. dy + R of the padded taps: ends counted from the far edge
            start = np.array([tap, dy, dx], np.int64)
            end = np.array([tap + 1, dy - 2 * r if dy < 2 * r else _END,
                            dx - 2 * r if dx < 2 * r else _END], np.int64)
            new_inits += [numpy_helper.from_array(start, f"{p}_s{tap}"),
                          numpy_helper.from_array(end, f"{p}_e{tap}")]
            new.append(helper.make_node("Slice", [f"{p}_padded", f"{p}_s{tap}", f"{p}_e{tap}",
                                                  f"{p}_axes"], [f"{p}_t{tap}"],
                                        name=f"{p}_slice{tap}"))
            if total:
                new.append(helper.make_node("Add", [total, f"{p}_t{tap}"], [f"{p}_sum{tap}"],
                                            name=f"{p}_add{tap}"))
                total = f"{p}_sum{tap}"
            else:
                total = f"{p}_t{tap}"
        if len(node.input) > 2 and node.input[2]:
            bias = numpy_helper.to_array(inits[node.input[2]]).reshape(1, 1, 1, 1)
            new_inits.append(numpy_helper.from_array(bias.astype(w.dtype), f"{p}_bias"))
            new.append(helper.make_node("Add", [total, f"{p}_bias"], [node.output[0]],
                                        name=f"{p}_addbias"))
        else:
            new.append(helper.make_node("Identity", [total], [node.output[0]],
                                        name=f"{p}_out"))
        at = list(graph.node).index(node)
        graph.node.remove(node)
        for offset, n in enumerate(new):
            graph.node.insert(at + offset, n)
        graph.initializer.extend(new_inits)
        done += 1
    used = {name for n in graph.node for name in n.input}
    for init in list(graph.initializer):  # the replaced kernels' weights
        if init.name not in used and init.name not in graph_inputs:
            graph.initializer.remove(init)
    return done


def cpu_model_bytes(data: bytes, cache: Path | None = None) -> bytes:
    """``data`` (a serialised ONNX model) with the CPU rewrites applied; unchanged bytes
    when nothing applies. With ``cache`` (a folder) the result is kept there under the
    model's sha256, so later sessions skip the rewrite and the ``onnx`` import (about
    1.5 s on a 2-core machine); a cache that cannot be read or written is skipped."""
    if cache is None:
        return _rewrite(data)
    key = hashlib.sha256(data).hexdigest()
    done = cache / f"{key}-cpu{REWRITE_VERSION}.onnx"
    same = cache / f"{key}-cpu{REWRITE_VERSION}.unchanged"
    try:
        if same.is_file():
            return data
        if done.is_file():
            return done.read_bytes()
    except OSError:
        return _rewrite(data)
    out = _rewrite(data)
    from desktop_app.errors import WriteError
    from desktop_app.fsutil import atomic_write_bytes

    try:
        cache.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(same if out is data else done, b"" if out is data else out)
    except (OSError, WriteError):
        pass  # a read-only or full cache only costs the rewrite next time
    return out


def _rewrite(data: bytes) -> bytes:
    import onnx

    model = onnx.load_from_string(data)
    if split_single_output_convs(model) == 0:
        return data
    out: bytes = model.SerializeToString()
    return out
