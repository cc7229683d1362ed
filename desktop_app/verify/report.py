"""A verification report: a table for the terminal, CSV and JSON files for the record."""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from desktop_app.fsutil import atomic_paths

COLUMNS = ("forecast", "n", "mae", "rmse", "bias", "skill_vs_baseline", "skill_vs_bilinear")


@dataclass
class VerificationReport:
    variable: str
    units: str
    rows: list[dict[str, Any]]
    n_stations: int
    excluded_by_qc: int = 0
    notes: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    def table(self) -> str:
        def fmt(value: Any) -> str:
            if isinstance(value, float):
                return "-" if math.isnan(value) else f"{value:.3f}"
            return str(value)

        head = [f"verification of {self.variable} ({self.units}) at {self.n_stations} "
                f"stations; {self.excluded_by_qc} observations excluded by QC flags"]
        lines = [[c for c in COLUMNS]] + [[fmt(r.get(c, math.nan)) for c in COLUMNS]
                                          for r in self.rows]
        widths = [max(len(line[k]) for line in lines) for k in range(len(COLUMNS))]
        body = ["  ".join(cell.rjust(w) for cell, w in zip(line, widths, strict=True))
                for line in lines]
        # notes first: "GENERATED observations" must be read before any number
        return "\n".join([f"note: {n}" for n in self.notes] + head + body)

    def as_dict(self) -> dict[str, Any]:
        def clean(v: Any) -> Any:
            return None if isinstance(v, float) and math.isnan(v) else v

        return {"variable": self.variable, "units": self.units,
                "n_stations": self.n_stations, "excluded_by_qc": self.excluded_by_qc,
                "notes": self.notes, "meta": self.meta,
                "rows": [{k: clean(v) for k, v in r.items()} for r in self.rows]}

    def csv_text(self) -> str:
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(COLUMNS), extrasaction="ignore")
        writer.writeheader()
        for row in self.rows:
            writer.writerow({c: row.get(c, "") for c in COLUMNS})
        return out.getvalue()

    def write(self, stem: Path) -> tuple[Path, Path]:
        """Write ``stem.csv`` and ``stem.json`` atomically: both or neither."""
        stem = Path(stem)
        csv_path = stem.with_name(stem.name + ".csv")
        json_path = stem.with_name(stem.name + ".json")
        text = json.dumps(self.as_dict(), indent=2) + "\n"
        with atomic_paths(csv_path, json_path) as (tmp_csv, tmp_json):
            tmp_csv.write_bytes(self.csv_text().encode("utf-8"))
            tmp_json.write_bytes(text.encode("utf-8"))
        return csv_path, json_path
