"""One trainer job, run by the service in its own process (so cancel is a clean stop).

    python -m desktop_app.training.job JOB_DIR

``JOB_DIR/config.json`` is the job's resolved config; the run goes to ``JOB_DIR/run``.
If a run is already there (the service restarted mid-job), it resumes from its last
checkpoint instead of starting again.
"""

from __future__ import annotations

import sys
from pathlib import Path

from desktop_app.errors import MicroclimateError


def main(argv: list[str]) -> int:
    from desktop_app.training.run import resume_and_export, train_and_export

    job_dir = Path(argv[0])
    out = job_dir / "run"
    try:
        if (out / "config.json").exists():
            print("resuming from the last checkpoint", flush=True)
            result, exported = resume_and_export(out)
        else:
            result, exported = train_and_export(job_dir / "config.json", out)
    except MicroclimateError as exc:
        print(f"error: {exc}", flush=True)
        return 1
    if exported is not None:
        print(f"exported {exported.onnx_path.name}; parity max abs error "
              f"{exported.parity_max_abs:.3g}", flush=True)
    return 0 if result.stopped != "cancelled" else 3


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
