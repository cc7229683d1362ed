"""The model registry: bundled and user models, the active one per variable, rollback.

Layout: every ``X.onnx`` has its card ``X.json`` beside it. Bundled models live in the
read-only ``models/`` folder; installed ones in ``<user models>/installed/NAME/VERSION/``.
Which model is active for each variable, and the versions used before it, is kept in
``<user models>/registry.json`` (written atomically). With no choice made, the newest
bundled model for a variable is active. Installing never overwrites: a name@version
that exists with different bytes is an error.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from desktop_app import paths
from desktop_app.errors import ModelError
from desktop_app.fsutil import atomic_paths, atomic_write_bytes, inside
from desktop_app.inference.card import (
    ModelCard,
    check_against_graph,
    check_sha256,
    load_card,
)

STATE_FILE = "registry.json"
_SPEC = re.compile(r"^(?P<name>[\w.-]+)(@(?P<version>[\w.+-]+))?$")


@dataclass(frozen=True)
class ModelEntry:
    card: ModelCard
    onnx_path: Path
    card_path: Path
    origin: str  # "bundled" or "user"

    @property
    def spec(self) -> str:
        return self.card.spec


def version_key(version: str) -> tuple[Any, ...]:
    """Order versions numerically where they are numbers ("1.10" after "1.9")."""
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p)
                 for p in re.split(r"[.+-]", version))


def validate_model(onnx_path: Path, card: ModelCard) -> None:
    """Full check: sha256 of the file, then the card against the loaded graph."""
    from desktop_app.inference.runtime import create_session

    check_sha256(card, onnx_path)
    session = create_session(onnx_path, "cpu")
    check_against_graph(card, session.session)


class ModelRegistry:
    def __init__(self, bundled_dir: Path | None = None, user_dir: Path | None = None) -> None:
        self.bundled_dir = Path(bundled_dir) if bundled_dir else paths.bundled_models_dir()
        self.user_dir = Path(user_dir) if user_dir else paths.user_models_dir()
        self.problems: list[str] = []

    # -- discovery ----------------------------------------------------------------------
    def _scan(self, root: Path, origin: str) -> list[ModelEntry]:
        found: list[ModelEntry] = []
        if not root.is_dir():
            return found
        for onnx_path in sorted(root.rglob("*.onnx")):
            if onnx_path.name.endswith(".int8.onnx"):
                continue
            card_path = onnx_path.with_suffix(".json")
            try:
                card = load_card(card_path)
            except ModelError as exc:
                self.problems.append(f"{onnx_path}: {exc}")
                continue
            found.append(ModelEntry(card, onnx_path, card_path, origin))
        return found

    def entries(self) -> list[ModelEntry]:
        """All models with a readable card, user ones first for equal name@version."""
        self.problems = []
        seen: dict[str, ModelEntry] = {}
        for entry in self._scan(self.user_dir / "installed", "user") + self._scan(
                self.bundled_dir, "bundled"):
            seen.setdefault(entry.spec, entry)
        return sorted(seen.values(),
                      key=lambda e: (e.card.name, version_key(e.card.version)))

    def find(self, spec: str) -> ModelEntry:
        """``NAME`` (newest version) or ``NAME@VERSION``."""
        match = _SPEC.match(spec.strip())
        if not match:
            raise ModelError(f"model must be NAME or NAME@VERSION, got {spec!r}")
        name, version = match["name"], match["version"]
        candidates = [e for e in self.entries() if e.card.name == name
                      and (version is None or e.card.version == version)]
        if not candidates:
            known = ", ".join(sorted({e.spec for e in self.entries()})) or "none"
            raise ModelError(f"no model {spec!r}; installed: {known}")
        return max(candidates, key=lambda e: version_key(e.card.version))

    # -- state --------------------------------------------------------------------------
    @property
    def state_path(self) -> Path:
        return self.user_dir / STATE_FILE

    def _load_state(self) -> dict[str, dict[str, Any]]:
        if not self.state_path.exists():
            return {"active": {}, "history": {}}
        try:
            state = json.loads(self.state_path.read_text(encoding="utf-8"))
            if not isinstance(state, dict) or set(state) != {"active", "history"}:
                raise ValueError("expected keys 'active' and 'history'")
        except (OSError, ValueError) as exc:
            raise ModelError(f"cannot read model registry state {self.state_path}: "
                             f"{exc}") from exc
        return state

    def _save_state(self, state: dict[str, dict[str, Any]]) -> None:
        text = json.dumps(state, indent=2, sort_keys=True) + "\n"
        atomic_write_bytes(self.state_path, text.encode("utf-8"))

    def active(self, variable: str) -> ModelEntry | None:
        """The chosen model for ``variable``, else the newest bundled one, else None."""
        chosen = self._load_state()["active"].get(variable)
        missing = None
        if chosen:
            try:
                return self.find(chosen)
            except ModelError:
                # the chosen model was removed by hand: say so, fall back to the default
                missing = (f"active model {chosen!r} for {variable!r} is missing; "
                           "using the bundled default")
        bundled = [e for e in self.entries()
                   if e.origin == "bundled" and variable in e.card.variables]
        if missing:
            self.problems.append(missing)
        return max(bundled, key=lambda e: version_key(e.card.version)) if bundled else None

    def resolve(self, spec: str | None, variable: str = "temperature") -> ModelEntry:
        entry = self.find(spec) if spec else self.active(variable)
        if entry is None:
            raise ModelError(f"no model for {variable!r}; install one with "
                             "'microclimate models install PATH'")
        return entry

    def history(self, variable: str) -> list[str]:
        return list(self._load_state()["history"].get(variable, []))

    # -- changes ------------------------------------------------------------------------
    def use(self, spec: str) -> ModelEntry:
        """Make a model active for each variable it predicts; remember the previous."""
        entry = self.find(spec)
        validate_model(entry.onnx_path, entry.card)
        state = self._load_state()
        for variable in entry.card.variables:
            previous = self.active(variable)
            if previous is not None and previous.spec != entry.spec:
                state["history"].setdefault(variable, []).append(previous.spec)
            state["active"][variable] = entry.spec
        self._save_state(state)
        return entry

    def rollback(self, variable: str = "temperature") -> ModelEntry:
        """Go back to the model used before the current one for ``variable``."""
        state = self._load_state()
        stack = state["history"].get(variable, [])
        if not stack:
            raise ModelError(f"nothing to roll back to for {variable!r}")
        previous = stack.pop()
        entry = self.find(previous)
        state["active"][variable] = entry.spec
        self._save_state(state)
        return entry

    def install(self, path: Path) -> ModelEntry:
        """Copy a validated model (``.onnx`` with its ``.json`` card, or the card) in."""
        path = Path(path)
        if path.suffix == ".json":
            card = load_card(path)
            onnx_path = path.parent / card.onnx_file
        else:
            onnx_path = path
            if onnx_path.suffix != ".onnx" or not onnx_path.exists():
                raise ModelError(f"not an ONNX model file: {onnx_path}")
            card = load_card(onnx_path.with_suffix(".json"))
        if onnx_path.suffix != ".onnx" or not onnx_path.exists():
            raise ModelError(f"not an ONNX model file: {onnx_path}")
        validate_model(onnx_path, card)
        dest = self.user_dir / "installed" / card.name / card.version
        dest_onnx = dest / f"{card.name}-{card.version}.onnx"
        existing = [e for e in self.entries() if e.spec == card.spec]
        if existing:
            if existing[0].card.sha256 == card.sha256:
                return existing[0]
            raise ModelError(f"{card.spec} is already installed with different contents; "
                             "give the new model a new version")
        inside(self.user_dir / "installed", dest_onnx, "model file")
        card_text = json.dumps({**card.raw, "onnx_file": dest_onnx.name}, indent=2) + "\n"
        # the model and its card land together or not at all (a full disk leaves neither)
        with atomic_paths(dest_onnx, dest_onnx.with_suffix(".json")) as (tmp_onnx, tmp_card):
            shutil.copyfile(onnx_path, tmp_onnx)
            tmp_card.write_bytes(card_text.encode("utf-8"))
        return ModelEntry(load_card(dest_onnx.with_suffix(".json")), dest_onnx,
                          dest_onnx.with_suffix(".json"), "user")
