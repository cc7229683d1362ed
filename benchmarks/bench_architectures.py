"""What a downscaler's shape costs on the CPU: 512x512 steps of candidate networks, interleaved.

    python benchmarks/bench_architectures.py [32:gelu 24:silu 24:relu ...] [--layers 5]
        [--rounds 7] [--steps 8]

Each candidate is the trainer's residual CNN (``training.model``, the bundled model's
input features, read off its card) with CHANNELS hidden channels and ACTIVATION between
the convolutions, given random weights (the time of a convolution does not depend on its
values), exported as the trainer exports it and opened as the app opens a model on the CPU
(``create_session``: the CPU graph rewrite, optimisation level ``all``). All candidates
run the same random 8-step input, round after round in alternating order, so they share
the machine's load; printed are the medians and bests in ms per step and each one's
ratio to the first candidate. What a network is worth as a forecast is measured by
training it (``models/train_era5_uk.py``), not here. Needs the ``[train]`` extra.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SIZE = 512


def bundled_features() -> list[str]:
    """The input features of the bundled model (what every candidate is fed)."""
    from desktop_app.inference.registry import ModelRegistry

    entry = ModelRegistry().resolve(None)
    return [f.name for f in entry.card.features]


def session_for(channels: int, activation: str, layers: int, features: list[str]) -> Any:
    import torch

    from desktop_app.inference.runtime import create_session
    from desktop_app.training.export import to_onnx
    from desktop_app.training.model import build_model

    n = len(features)
    model = build_model({"kind": "residual_cnn", "channels": channels, "layers": layers,
                         "activation": activation}, features, [0.0] * n, [1.0] * n, 0.0,
                        1.0, "temperature")
    torch.manual_seed(0)
    for p in model.net.parameters():
        torch.nn.init.normal_(p, std=0.05)
    proto = to_onnx(model, n, "temperature", 17, features, "degC")
    return create_session(proto.SerializeToString(), "cpu")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("candidates", nargs="*", default=["32:gelu", "24:silu", "24:relu"],
                        help="CHANNELS:ACTIVATION; the first is the reference")
    parser.add_argument("--layers", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--steps", type=int, default=8)
    args = parser.parse_args()
    cands = [(int(c.split(":")[0]), c.split(":")[1]) for c in args.candidates]
    features = bundled_features()
    x = np.random.default_rng(1).standard_normal(
        (args.steps, len(features), SIZE, SIZE)).astype(np.float32)
    sessions = {c: session_for(*c, args.layers, features) for c in cands}
    for s in sessions.values():
        s.run(x)  # warm-up
    print(f"load average at start: {os.getloadavg()}")
    times: dict[tuple[int, str], list[float]] = {c: [] for c in cands}
    for r in range(args.rounds):
        for c in (cands if r % 2 == 0 else cands[::-1]):
            start = time.perf_counter()
            sessions[c].run(x)
            times[c].append(1000 * (time.perf_counter() - start) / args.steps)
    print(f"load average at end: {os.getloadavg()}")
    print(f"== {SIZE}x{SIZE}, {args.layers} layers, {args.steps} steps per call, "
          f"{args.rounds} rounds interleaved, bare session.run, ms/step")
    ref = statistics.median(times[cands[0]])
    for c, v in times.items():
        med = statistics.median(v)
        print(f"{c[0]:3d} channels {c[1]:5s}: median {med:7.1f}  best {min(v):7.1f}  "
              f"x{med / ref:.2f} of {cands[0][0]}:{cands[0][1]}")


if __name__ == "__main__":
    main()
