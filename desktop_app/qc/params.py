"""Parameters of the built-in QC tests: one frozen dataclass per test, with the names and
units of ``ioos_qc.qartod`` and ``titanlib.buddy_check``. A config table is read into
these (:mod:`.config`), and :mod:`.registry` says which class belongs to which test."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GrossRange:
    fail_span: tuple[float, float]
    suspect_span: tuple[float, float] | None = None


@dataclass(frozen=True)
class RateOfChange:
    threshold: float
    fail_threshold: float | None = None


@dataclass(frozen=True)
class Spike:
    suspect_threshold: float | None = None
    fail_threshold: float | None = None
    method: str = "average"


@dataclass(frozen=True)
class FlatLine:
    suspect_threshold: float
    fail_threshold: float
    tolerance: float = 0.0


@dataclass(frozen=True)
class BuddyCheck:
    radius: float = 50000.0
    num_min: int = 5
    threshold: float = 3.0
    max_elev_diff: float = 200.0
    elev_gradient: float = -0.0065
    min_std: float = 1.0
    num_iterations: int = 2


@dataclass(frozen=True)
class RobustOutlier:
    suspect_z: float = 4.0
    fail_z: float = 6.0
    min_count: int = 24


@dataclass(frozen=True)
class Climatology:
    monthly_min: tuple[float, ...]
    monthly_max: tuple[float, ...]
