"""Training throughput: samples/s of the trainer's step on the CPU (and CUDA if any).

    python benchmarks/bench_train.py [--steps 30] [--threads N]

A sample is one 32x48 field (one hour; the trainer's batches are pairs of consecutive
hours). The data are the REAL ERA5 UK files of ``tests/data/inference`` (10 days), used
here only for timing. Printed side by side in one run:
- our full step (batch gather, physics loss with smoothness/conservation/range terms,
  clipping, AdamW) with the bundled model's shape (7 features, 32 channels, 5 layers);
- a bare PyTorch step (same network, plain MSE, tensors already in place): what a
  hand-written loop would cost, so the ratio is our overhead;
- on CUDA (when present): the same with and without AMP;
- station targets: the bundled sample region (REAL 150 m terrain, 111x257 cells; its
  weather and station values are GENERATED, fine for timing only), trained against the
  QC-passed observations of its training stations (the trainer runs the app's QC first):
  our step vs a bare PyTorch step with a plain masked MSE at the station cells.
Timings are the best of 5 interleaved repeats (the machine may be shared) and never pass/fail.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from desktop_app.training.config import parse_config  # noqa: E402
from desktop_app.training.trainer import Trainer  # noqa: E402

DATA = ROOT / "tests" / "data" / "inference"
FEATURES = ["temperature_interp", "elevation", "coarse_elevation", "elevation_difference",
            "solar_elevation", "hour_sin", "hour_cos"]


def best_rates(fns: list[Callable[[], None]], steps: int, samples_per_step: int,
               sync: Callable[[], None], repeats: int = 5) -> list[float]:
    """Best-of-``repeats`` samples/s of each function, measured interleaved (so a busy
    neighbour on a shared machine slows all of them alike)."""
    for fn in fns:
        for _ in range(3):
            fn()
    sync()
    best = [float("inf")] * len(fns)
    for _ in range(repeats):
        for k, fn in enumerate(fns):
            t0 = time.perf_counter()
            for _ in range(steps):
                fn()
            sync()
            best[k] = min(best[k], time.perf_counter() - t0)
    return [steps * samples_per_step / b for b in best]


def bench(device: str, amp: bool, steps: int, out: Path) -> tuple[float, float]:
    cfg = parse_config({
        "data": {"coarse": str(DATA / "era5_uk_coarse.nc"),
                 "fine": str(DATA / "era5_uk_fine.nc"), "features": FEATURES,
                 "val_days": ["2019-03-30"], "test_days": ["2019-03-31"]},
        "model": {"channels": 32, "layers": 5},
        "loss": {"smoothness": 0.05, "conservation": 0.1},
        "train": {"batch_size": 8, "device": device, "amp": amp}})
    trainer = Trainer(cfg, out)
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    x, y, _, _ = trainer.batch(0)
    assert x is not None and y is not None
    model = trainer.model
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)

    def bare() -> None:
        with torch.autocast(device, dtype=trainer.amp_dtype, enabled=trainer.amp):
            loss = torch.mean((model.physical(x).float() - y) ** 2)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    ours, plain = best_rates([trainer.train_step, bare], steps, 16, sync)
    return ours, plain


def bench_stations(steps: int, out: Path) -> tuple[float, float, int]:
    region = ROOT / "resources" / "sample_region"
    cfg = parse_config({
        "data": {"coarse": str(region / "coarse.nc"), "fine": str(region / "terrain.nc"),
                 "stations": str(region / "stations.nc"),
                 "features": FEATURES, "val_days": ["2024-07-16"],
                 "test_days": ["2024-07-17"]},
        "model": {"channels": 32, "layers": 5},
        "loss": {"smoothness": 0.05},
        "train": {"batch_size": 2, "device": "cpu"}})
    trainer = Trainer(cfg, out)
    x, _, _, obs = trainer.batch(0)
    assert x is not None and obs is not None and trainer.st_cells is not None
    rows, cols = trainer.st_cells
    mask = torch.isfinite(obs)
    model = trainer.model
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)

    def bare() -> None:
        at = model.physical(x)[:, 0, rows, cols]
        loss = torch.mean((at[mask] - obs[mask]) ** 2)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    ours, plain = best_rates([trainer.train_step, bare], steps, 4, lambda: None)
    return ours, plain, len(trainer.data.station_set.split["train"])  # type: ignore[union-attr]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--threads", type=int, default=0)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, CPU threads {torch.get_num_threads()}")
    with tempfile.TemporaryDirectory() as tmp:
        ours, bare = bench("cpu", False, args.steps, Path(tmp))
        print(f"CPU  fp32: trainer step {ours:8.1f} samples/s | bare PyTorch step "
              f"{bare:8.1f} samples/s | ours/bare {ours / bare:.2f}")
        if torch.cuda.is_available():
            for amp in (False, True):
                ours, bare = bench("cuda", amp, args.steps * 5, Path(tmp))
                print(f"CUDA {'AMP ' if amp else 'fp32'}: trainer step {ours:8.1f} samples/s"
                      f" | bare PyTorch step {bare:8.1f} samples/s | ours/bare "
                      f"{ours / bare:.2f}")
        else:
            print("CUDA: no GPU on this machine; no CUDA or AMP numbers")
        ours, bare, n = bench_stations(max(1, args.steps // 3), Path(tmp) / "stations")
        print(f"CPU  fp32, station targets (sample region 111x257, {n} training stations):"
              f" trainer step {ours:6.1f} samples/s | bare PyTorch step {bare:6.1f} "
              f"samples/s | ours/bare {ours / bare:.2f}")


if __name__ == "__main__":
    main()
