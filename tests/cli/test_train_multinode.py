"""The trainer across two "nodes": two torchrun launches meeting at a c10d rendezvous.

Each launch is what an operator starts on one machine (``--nnodes 2 --nproc-per-node 1``
with its ``--node-rank``); here both run on this machine on the CPU with the gloo
backend, standing in for two nodes. See docs/cluster.md.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.slow
def test_two_node_rendezvous_trains_one_model(tmp_path: Path) -> None:
    pytest.importorskip("torch", reason="the trainer needs torch (the [train] extra)")
    from tests.training.conftest import write_config

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfg = write_config(tmp_path / "data", steps=2, checkpoint_every=2)
    out = tmp_path / "run"

    def launch(node_rank: int) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "torch.distributed.run", "--nnodes", "2",
             "--nproc-per-node", "1", "--node-rank", str(node_rank), "--rdzv-backend", "c10d",
             "--rdzv-endpoint", f"127.0.0.1:{port}", "--rdzv-id", "microclimate-test",
             "-m", "desktop_app", "train", "--config", str(cfg), "--out", str(out)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    nodes = [launch(0), launch(1)]
    results = [p.communicate(timeout=300) for p in nodes]
    for proc, (_, err) in zip(nodes, results, strict=True):
        assert proc.returncode == 0, err[-2000:]
    stdout = "".join(o for o, _ in results)
    assert "x2 processes" in stdout  # one DDP job of world size 2, not two of size 1
    assert stdout.count("exported ") == 1  # only global rank 0 exports
    assert (out / "model" / "tiny-test-0.0.1.onnx").exists()
