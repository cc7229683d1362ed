"""The training loop: seeds, AMP on CUDA, clipping, early stopping, exact resume.

A run folder holds ``config.json`` (the resolved config), ``last.pt`` (the latest
checkpoint, written atomically every ``checkpoint_every`` steps), ``best.pt`` (the
weights with the best validation RMSE), ``metrics.csv``/``metrics.jsonl`` and
``progress.json``. The batch of step ``s`` is drawn from a generator seeded with
``(seed, s, rank)``, so a resumed run takes exactly the steps an uninterrupted one would.
``split.json`` records the held-out days and stations (drawn from the seed). Validation
RMSE (early stopping) is on the gridded target when the run has one, else on the
validation stations' QC-passed observations on the validation days.
Launched by ``torchrun`` (``WORLD_SIZE`` > 1) it trains with DistributedDataParallel;
only rank 0 writes files.
"""

from __future__ import annotations

import copy
import csv
import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist

from desktop_app.core.progress import CancelToken, Progress
from desktop_app.errors import TrainingError, WriteError
from desktop_app.fsutil import atomic_path, atomic_write_bytes
from desktop_app.tracking import Tracker
from desktop_app.training.config import Config, parse_config
from desktop_app.training.dataset import Split, TrainingData, build_dataset
from desktop_app.training.loss import compute_loss
from desktop_app.training.model import model_from_config
from desktop_app.training.runlog import open_tracker

LAST, BEST, CONFIG, PROGRESS = "last.pt", "best.pt", "config.json", "progress.json"
METRICS_CSV, METRICS_JSONL = "metrics.csv", "metrics.jsonl"
COLUMNS = ["step", "loss", "data", "station", "smoothness", "conservation", "range",
           "boundary", "val_rmse", "val_rmse_baseline", "val_station_rmse",
           "val_station_rmse_baseline", "lr", "samples_per_s", "elapsed_s"]
SPLIT = "split.json"


@dataclass
class RunResult:
    out_dir: Path
    step: int
    stopped: str  # "finished", "early_stopping" or "cancelled"
    best_val_rmse: float
    best_step: int


def save_torch(obj: Any, path: Path) -> None:
    """Atomic torch.save: a failed write (disk full) leaves the old file as it was."""
    try:
        with atomic_path(path) as tmp:
            torch.save(obj, tmp)
    except WriteError as exc:  # the atomic writer's one line (disk full, read-only...)
        raise TrainingError(f"{exc}; the previous file is kept") from exc
    except OSError as exc:
        raise TrainingError(f"cannot save {path}: {exc}; the previous file is kept") from exc


def _write_json(path: Path, data: dict[str, Any]) -> None:
    atomic_write_bytes(path, (json.dumps(data, indent=2) + "\n").encode("utf-8"))


class Trainer:
    def __init__(self, cfg: Config, out_dir: Path, *, progress: Progress | None = None,
                 cancel: CancelToken | None = None, data: TrainingData | None = None) -> None:
        self.cfg, self.out_dir = cfg, Path(out_dir)
        self.progress, self.cancel = progress, cancel
        t = cfg.train
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        use_cuda = t.device == "cuda" or (t.device == "auto" and torch.cuda.is_available())
        if t.device == "cuda" and not torch.cuda.is_available():
            raise TrainingError("train.device is 'cuda' but no CUDA GPU is available")
        if self.world > 1 and not dist.is_initialized():
            dist.init_process_group("nccl" if use_cuda else "gloo")
        self.rank = dist.get_rank() if self.world > 1 else 0
        local = int(os.environ.get("LOCAL_RANK", "0"))
        self.device = torch.device(f"cuda:{local}" if use_cuda else "cpu")
        if t.threads > 0:
            torch.set_num_threads(t.threads)
        torch.manual_seed(t.seed)
        np.random.seed(t.seed)
        self.base: Any = None  # the base model when fine-tuning (finetune.BaseModel)
        self.trainable: list[str] = []
        if cfg.finetune.base:
            from desktop_app.training.finetune import freeze, load_base

            self.base = load_base(Path(cfg.finetune.base))
        self.data = data if data is not None else build_dataset(
            cfg.data, t.seed, self.base.norm if self.base is not None else None)
        d = self.data
        if self.base is not None:
            self.model = copy.deepcopy(self.base.model).to(self.device)
            self.trainable = freeze(self.model, cfg.finetune)
        else:
            self.model = model_from_config(cfg.model, d.names, d.mean.tolist(), d.std.tolist(),
                                           d.out_mean, d.out_std, d.target).to(self.device)
        self.net: torch.nn.Module = self.model
        if self.world > 1:
            from torch.nn.parallel import DistributedDataParallel

            self.net = DistributedDataParallel(
                self.model, device_ids=[local] if use_cuda else None)
        # frozen parameters stay out of the optimiser: weight decay never touches them
        self.opt = torch.optim.AdamW([p for p in self.model.parameters() if p.requires_grad],
                                     lr=t.lr, weight_decay=t.weight_decay)
        self.amp = bool(t.amp and use_cuda)
        self.amp_dtype = (torch.bfloat16 if use_cuda and torch.cuda.is_bf16_supported()
                          else torch.float16)
        self.scaler = torch.amp.GradScaler(
            "cuda", enabled=self.amp and self.amp_dtype == torch.float16)
        self.block_ids = torch.from_numpy(d.block_ids).to(self.device)
        self.counts = torch.bincount(self.block_ids, minlength=d.n_blocks).float()
        st = d.train.stations
        self.st_cells = (None if st is None else
                         (torch.from_numpy(st.rows).to(self.device),
                          torch.from_numpy(st.cols).to(self.device)))
        self.step, self.best_val, self.best_step, self.bad_evals = 0, math.inf, 0, 0
        self.tracker: Tracker | None = None

    # -- checkpoints ----------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        return {"model": self.model.state_dict(), "optimizer": self.opt.state_dict(),
                "scaler": self.scaler.state_dict(), "step": self.step,
                "best_val": self.best_val, "best_step": self.best_step,
                "bad_evals": self.bad_evals, "config": self.cfg.to_dict()}

    def save_checkpoint(self) -> None:
        if self.rank == 0:
            save_torch(self.state(), self.out_dir / LAST)
        if self.world > 1:
            dist.barrier()

    def load_checkpoint(self, path: Path) -> None:
        try:
            state = torch.load(path, map_location=self.device, weights_only=True)
        except (OSError, RuntimeError, EOFError) as exc:
            raise TrainingError(f"cannot read checkpoint {path}: {exc}") from exc
        self.model.load_state_dict(state["model"])
        self.opt.load_state_dict(state["optimizer"])
        self.scaler.load_state_dict(state["scaler"])
        self.step, self.best_val = int(state["step"]), float(state["best_val"])
        self.best_step, self.bad_evals = int(state["best_step"]), int(state["bad_evals"])

    # -- one step -------------------------------------------------------------------------
    def batch(self, step: int) -> tuple[torch.Tensor | None, ...]:
        """(features, grid target or None, coarse target, station obs or None)."""
        tr = self.data.train
        rng = np.random.default_rng([self.cfg.train.seed, step, self.rank])
        chosen = tr.pairs[rng.integers(0, tr.n_samples, self.cfg.train.batch_size)].ravel()
        st_obs = tr.stations.obs if tr.stations is not None else None
        return tuple(None if a is None else
                     torch.from_numpy(np.ascontiguousarray(a[chosen])).to(self.device)
                     for a in (tr.x, tr.y, tr.coarse, st_obs))

    def train_step(self) -> dict[str, float]:
        self.net.train()
        x, y, coarse, st_obs = self.batch(self.step)
        assert x is not None and coarse is not None
        with torch.autocast(self.device.type, dtype=self.amp_dtype, enabled=self.amp):
            pred = self.net(x) * self.model.out_std + self.model.out_mean
        base = self.model.baseline(x)
        stations = (None if self.st_cells is None or st_obs is None
                    else (*self.st_cells, st_obs))
        parts = compute_loss(pred.float(), base, y, coarse, self.block_ids,
                             self.counts.to(self.device), self.cfg.loss, self.data.target,
                             stations)
        if not torch.isfinite(parts.total):
            raise TrainingError(
                f"loss became NaN/inf at step {self.step + 1} ({parts.terms}); training "
                f"stopped. The last good checkpoint is kept: {self.out_dir / LAST}")
        self.opt.zero_grad(set_to_none=True)
        self.scaler.scale(parts.total).backward()
        self.scaler.unscale_(self.opt)
        torch.nn.utils.clip_grad_norm_([p for p in self.model.parameters() if p.requires_grad],
                                       self.cfg.train.grad_clip)
        self.scaler.step(self.opt)
        self.scaler.update()
        self.step += 1
        return {"loss": float(parts.total.detach()), **parts.terms}

    @torch.no_grad()
    def evaluate(self, split: Split) -> tuple[float, float]:
        """(model RMSE, baseline RMSE) in physical units over every step of ``split``:
        against the gridded target if there is one, else at the split's stations."""
        if split.y is None:
            return self.evaluate_stations(split)
        self.model.eval()
        sq_model = sq_base = 0.0
        n = 0
        for i in range(0, split.x.shape[0], 32):
            x = torch.from_numpy(split.x[i:i + 32]).to(self.device)
            y = torch.from_numpy(split.y[i:i + 32]).to(self.device)
            sq_model += float(((self.model.physical(x) - y) ** 2).sum())
            sq_base += float(((self.model.baseline(x) - y) ** 2).sum())
            n += y.numel()
        return math.sqrt(sq_model / n), math.sqrt(sq_base / n)

    @torch.no_grad()
    def evaluate_stations(self, split: Split) -> tuple[float, float]:
        """(model RMSE, baseline RMSE) at the split's stations (QC-passed values only)."""
        st = split.stations
        if st is None or st.n_obs == 0:
            return math.nan, math.nan
        self.model.eval()
        rows = torch.from_numpy(st.rows).to(self.device)
        cols = torch.from_numpy(st.cols).to(self.device)
        sq_model = sq_base = 0.0
        for i in range(0, split.x.shape[0], 32):
            x = torch.from_numpy(split.x[i:i + 32]).to(self.device)
            obs = torch.from_numpy(st.obs[i:i + 32]).to(self.device)
            for fn, acc in ((self.model.physical, "model"), (self.model.baseline, "base")):
                at = fn(x)[:, 0, rows, cols]
                sq = float(torch.nansum((at - obs) ** 2))
                if acc == "model":
                    sq_model += sq
                else:
                    sq_base += sq
        return math.sqrt(sq_model / st.n_obs), math.sqrt(sq_base / st.n_obs)

    # -- the loop -------------------------------------------------------------------------
    def cancel_requested(self) -> bool:
        """Whether to stop before the next step; under torchrun all ranks agree (a rank
        that stopped alone would leave the others waiting in an all-reduce)."""
        flag = self.cancel is not None and self.cancel.is_set()
        if self.world > 1:
            votes = torch.tensor([1.0 if flag else 0.0], device=self.device)
            dist.all_reduce(votes, op=dist.ReduceOp.MAX)
            flag = bool(votes.item() > 0)
        return flag

    def log_row(self, row: dict[str, Any]) -> None:
        if self.rank != 0:
            return
        row = {k: None if isinstance(v, float) and math.isnan(v) else v
               for k, v in row.items()}  # NaN is not JSON: an unscored column is null
        path = self.out_dir / METRICS_CSV
        new = not path.exists()
        with open(path, "a", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, COLUMNS)
            if new:
                writer.writeheader()
            writer.writerow(row)
        with open(self.out_dir / METRICS_JSONL, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(row) + "\n")
        if self.tracker is not None:
            self.tracker.log_metrics(row, int(row["step"]))

    def report(self, state: str, message: str) -> None:
        total = self.cfg.train.steps
        if self.rank == 0:
            _write_json(self.out_dir / PROGRESS, {
                "state": state, "step": self.step, "steps": total, "message": message,
                "best_val_rmse": None if math.isinf(self.best_val) else self.best_val,
                "best_step": self.best_step})
            print(message, flush=True)
        if self.progress is not None:
            self.progress(self.step / total, message)

    def open_tracker(self) -> None:
        """Start (or, resumed, reopen) this run's record in the run store (rank 0)."""
        if self.rank == 0 and self.cfg.track.enabled and self.tracker is None:
            self.tracker = open_tracker(self)

    def run(self) -> RunResult:
        self.open_tracker()
        try:
            result = self._run()
        except BaseException:
            if self.tracker is not None:
                self.tracker.status("FAILED")
            raise
        if self.tracker is not None and result.stopped == "cancelled":
            self.tracker.status("KILLED")  # a resume sets it RUNNING again
        return result

    def _run(self) -> RunResult:
        t = self.cfg.train
        started, stopped = time.perf_counter(), "finished"
        last_t, last_step = started, self.step
        trained = sum(p.numel() for p in self.model.parameters() if p.requires_grad)
        total = sum(p.numel() for p in self.model.parameters())
        what = (f"fine-tuning {trained} of {total} parameters ({', '.join(self.trainable)})"
                f" of {self.base.card.spec}" if self.base is not None else "training")
        self.report("running", f"{what} from step {self.step} to {t.steps} on "
                    f"{self.device.type.upper()}{' with AMP' if self.amp else ''}"
                    f"{f' x{self.world} processes' if self.world > 1 else ''}")
        while self.step < t.steps:
            if self.cancel_requested():
                stopped = "cancelled"
                break
            terms = self.train_step()
            if self.step % t.eval_every == 0 or self.step == t.steps:
                val, val_base = self.evaluate(self.data.val)
                st_val, st_base = (
                    (val, val_base) if self.data.val.y is None  # already at stations
                    else self.evaluate_stations(self.data.val))
                now = time.perf_counter()
                rate = ((self.step - last_step) * t.batch_size * 2 * self.world
                        / max(now - last_t, 1e-9))
                last_t, last_step = now, self.step
                self.log_row({"step": self.step, **terms, "val_rmse": val,
                              "val_rmse_baseline": val_base,
                              "val_station_rmse": st_val,
                              "val_station_rmse_baseline": st_base,
                              "lr": self.opt.param_groups[0]["lr"],
                              "samples_per_s": round(rate, 1),
                              "elapsed_s": round(now - started, 2)})
                if val < self.best_val - 1e-7:
                    self.best_val, self.best_step, self.bad_evals = val, self.step, 0
                    if self.rank == 0:
                        save_torch(self.model.state_dict(), self.out_dir / BEST)
                else:
                    self.bad_evals += 1
                self.report("running", f"step {self.step}/{t.steps} loss {terms['loss']:.4g}"
                            f" val_rmse {val:.4f} (baseline {val_base:.4f}) "
                            f"{rate:.0f} samples/s")
                if self.bad_evals >= t.patience:
                    stopped = "early_stopping"
            if self.step % t.checkpoint_every == 0 or stopped != "finished":
                self.save_checkpoint()
            if stopped != "finished":
                break
        self.save_checkpoint()
        self.report(stopped, f"{stopped} at step {self.step}; best val_rmse "
                    f"{self.best_val:.4f} at step {self.best_step}")
        return RunResult(self.out_dir, self.step, stopped, self.best_val, self.best_step)


def _truncate_logs(out_dir: Path, step: int) -> None:
    """Drop log rows written after the checkpoint a run resumes from."""
    jsonl = out_dir / METRICS_JSONL
    if not jsonl.exists():
        return
    rows = [json.loads(line) for line in jsonl.read_text(encoding="utf-8").splitlines()
            if line.strip()]
    rows = [r for r in rows if r["step"] <= step]
    atomic_write_bytes(jsonl, "".join(json.dumps(r) + "\n" for r in rows).encode("utf-8"))
    with atomic_path(out_dir / METRICS_CSV) as tmp, open(tmp, "w", newline="") as handle:
        writer = csv.DictWriter(handle, COLUMNS)
        writer.writeheader()
        writer.writerows(rows)


def _check_same_split(out_dir: Path, record: dict[str, Any]) -> None:
    """A resumed run must hold out exactly what it held out before (else a held-out
    station or day could have been trained on): the data files must not have changed."""
    try:
        saved = json.loads((out_dir / SPLIT).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return  # a run from before split.json existed
    except (OSError, ValueError) as exc:
        raise TrainingError(f"cannot read {out_dir / SPLIT}: {exc}") from exc
    if saved != json.loads(json.dumps(record)):
        changed = sorted(k for k in set(saved) | set(record) if saved.get(k) != record.get(k))
        raise TrainingError(f"the data of {out_dir} changed since the run started "
                            f"({', '.join(changed)} differ from {SPLIT}); resuming would "
                            "mix splits. Start a new run instead.")


def start(cfg: Config, out_dir: Path, **kwargs: Any) -> Trainer:
    """A fresh run in ``out_dir`` (refused if it already holds one: resume it instead)."""
    out_dir = Path(out_dir)
    if (out_dir / LAST).exists() or (out_dir / CONFIG).exists():
        raise TrainingError(f"{out_dir} already holds a training run; continue it with "
                            f"'microclimate train resume {out_dir}' or choose another --out")
    trainer = Trainer(cfg, out_dir, **kwargs)
    if trainer.rank == 0:
        out_dir.mkdir(parents=True, exist_ok=True)
        _write_json(out_dir / SPLIT, trainer.data.split_record())
        _write_json(out_dir / CONFIG, cfg.to_dict())
    return trainer


def resume(out_dir: Path, **kwargs: Any) -> Trainer:
    """The run in ``out_dir`` at its last checkpoint, ready to :meth:`Trainer.run` on."""
    out_dir = Path(out_dir)
    try:
        data = json.loads((out_dir / CONFIG).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise TrainingError(f"{out_dir} is not a training run (no readable {CONFIG})") from exc
    trainer = Trainer(parse_config(data), out_dir, **kwargs)
    _check_same_split(out_dir, trainer.data.split_record())
    if (out_dir / LAST).exists():
        trainer.load_checkpoint(out_dir / LAST)
    if trainer.rank == 0:
        _truncate_logs(out_dir, trainer.step)
    return trainer
