"""QARTOD quality flags and their CF encoding."""

from __future__ import annotations

from enum import IntEnum

import numpy as np


class QCFlag(IntEnum):
    PASS = 1
    NOT_EVALUATED = 2
    SUSPECT = 3
    FAIL = 4
    MISSING = 9


FLAG_VALUES = np.array([int(f) for f in QCFlag], dtype=np.uint8)
FLAG_MEANINGS = "pass not_evaluated suspect fail missing"


def test_flag_attrs(variable_name: str, test: str,
                    standard_name: str = "quality_flag") -> dict[str, object]:
    """CF attributes for the ``<var>_qc_<test>`` flags of one test (its CF standard name
    comes from the QC test registry: the QARTOD tests have their own)."""
    return {
        "long_name": f"QC flag of the {test.replace('_', ' ')} test for {variable_name}",
        "standard_name": standard_name,
        "flag_values": FLAG_VALUES,
        "flag_meanings": FLAG_MEANINGS,
        "references": "https://ioos.noaa.gov/project/qartod/",
    }


def flag_attrs(variable_name: str) -> dict[str, object]:
    """CF attributes for the ``<var>_qc`` ancillary variable of ``variable_name``."""
    return {
        "long_name": f"QARTOD aggregate quality flag for {variable_name}",
        "standard_name": "aggregate_quality_flag",
        "flag_values": FLAG_VALUES,
        "flag_meanings": FLAG_MEANINGS,
        "references": "https://ioos.noaa.gov/project/qartod/",
    }


def worst(*flags: np.ndarray) -> np.ndarray:
    """Aggregate flags the QARTOD way: the most severe wins, missing beats everything.

    Severity order: pass < not_evaluated < suspect < fail < missing; ``not_evaluated``
    ranks above pass only if no test evaluated the value at all.
    """
    if not flags:
        raise ValueError("worst() needs at least one flag array")
    stacked = np.stack([np.asarray(f, dtype=np.uint8) for f in flags])
    evaluated = stacked != QCFlag.NOT_EVALUATED
    # Rank: treat not-evaluated as 0 so that any real verdict wins over it.
    ranked = np.where(evaluated, stacked, 0)
    out = ranked.max(axis=0).astype(np.uint8)
    out[out == 0] = QCFlag.NOT_EVALUATED
    return out
