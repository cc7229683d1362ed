"""A tiny base model trained on the sample region, for the fine-tuning tests.

The sample region's terrain is real; its coarse weather and its station values are
GENERATED (the files say so). Models trained and tuned here test the code: their scores
are never skill.
"""

from __future__ import annotations

from pathlib import Path

REGION = Path(__file__).resolve().parents[2] / "resources" / "sample_region"

# The [data] lines of every training config on the sample region with station targets:
# its files, six features, one validation and one held-out test day.
SAMPLE_DATA = """
[data]
coarse = "{region}/coarse.nc"
fine = "{region}/terrain.nc"
stations = "{stations}"
features = ["temperature_interp", "elevation", "elevation_difference",
            "topographic_position", "hour_sin", "hour_cos"]
val_days = ["2024-07-16"]
test_days = ["2024-07-17"]
"""

# Three steps, one checkpoint and one evaluation, on one CPU thread: runs that test code.
TINY_TRAIN = """
[train]
seed = {seed}
steps = 3
batch_size = 1
checkpoint_every = 3
eval_every = 3
threads = 1
"""

BASE_CONFIG = SAMPLE_DATA + """
[model]
channels = 4
layers = 3
""" + TINY_TRAIN + """
[export]
name = "tiny-base"
version = "1.0.0"

[track]
uri = "{track}"
"""

FINETUNE_CONFIG = """
[data]
coarse = "{region}/coarse.nc"
fine = "{region}/terrain.nc"
val_days = ["2024-07-16"]
test_days = ["2024-07-17"]

[train]
seed = 5
steps = {steps}
batch_size = 1
lr = 0.05
checkpoint_every = {checkpoint_every}
eval_every = 2
patience = 100
threads = 1

[finetune]
trainable = "{trainable}"
layers = 1

[track]
uri = "{track}"
"""


def write_base_config(folder: Path, track: Path, stations: Path | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "base.toml"
    path.write_text(BASE_CONFIG.format(region=REGION, track=track, seed=3,
                                       stations=stations or REGION / "stations.nc"),
                    encoding="utf-8")
    return path


def write_finetune_config(folder: Path, track: Path, steps: int = 4,
                          checkpoint_every: int = 2, trainable: str = "last_layers") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"finetune-{trainable}-{steps}.toml"
    path.write_text(FINETUNE_CONFIG.format(region=REGION, track=track, steps=steps,
                                           checkpoint_every=checkpoint_every,
                                           trainable=trainable), encoding="utf-8")
    return path
