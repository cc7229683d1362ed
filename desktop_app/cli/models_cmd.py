"""``microclimate models``: list, install, select, roll back and inspect ONNX models."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from desktop_app.cli._common import print_result
from desktop_app.core.variables import VARIABLES
from desktop_app.errors import MicroclimateError
from desktop_app.inference.registry import ModelRegistry, validate_model
from desktop_app.inference.runtime import runtime_status
from desktop_app.settings import load_settings
from desktop_app.tracking import runs_for


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("models", help="list, install, select and roll back ONNX models")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="installed and bundled models, the active ones "
                                              "marked")
    listing.add_argument("--json", action="store_true",
                         help="print the list as one JSON object on stdout")
    install = actions.add_parser("install", help="validate and install MODEL.onnx + card")
    install.add_argument("path", type=Path)
    install.add_argument("--use", action="store_true", help="also make it active")
    install.add_argument("--force", action="store_true",
                         help="install a fine-tuned model even though it did worse than "
                              "its base at the held-out stations (the card records it)")
    use = actions.add_parser("use", help="make NAME[@VERSION] the active model")
    use.add_argument("spec", metavar="NAME[@VERSION]")
    back = actions.add_parser("rollback", help="go back to the previously active model")
    back.add_argument("--variable", default="temperature", choices=sorted(VARIABLES))
    info = actions.add_parser("info", help="a model's card, its checks and the runtime")
    info.add_argument("spec", nargs="?", default=None, metavar="NAME[@VERSION]")
    info.add_argument("--json", action="store_true", help="print the card as JSON")
    parser.set_defaults(func=run)


def _print_gate(gate: Any) -> None:
    """A fine-tuned model's comparison with its base, side by side."""
    if not isinstance(gate, dict):
        return
    state = "passed" if gate.get("passed") else (
        "FORCED past a refusal" if gate.get("forced") else "refused")
    print(f"  gate:       {state} against base {gate.get('base')} ({gate.get('where', '')})")
    rmse, mae = gate.get("rmse") or {}, gate.get("mae") or {}
    for label in rmse:
        print(f"    {label:10s} RMSE {rmse[label]}  MAE {mae.get(label)} "
              f"{gate.get('units', '')}")


def run(args: argparse.Namespace) -> int:
    registry = ModelRegistry()
    if args.action == "list":
        entries = registry.entries()
        active = {v: registry.active(v) for v in VARIABLES}
        lines, models = [], []
        for e in entries:
            marks = [v for v, a in active.items() if a is not None and a.spec == e.spec]
            flag = f"  [active: {', '.join(marks)}]" if marks else ""
            trained = "" if e.card.trained else "  (NOT trained)"
            lines.append(f"{e.spec:32s} {e.origin:8s} {','.join(e.card.variables)}"
                         f"{trained}{flag}")
            models.append({"spec": e.spec, "origin": e.origin, "path": str(e.onnx_path),
                           "variables": list(e.card.variables), "trained": e.card.trained,
                           "active_for": marks})
        lines += [f"broken: {problem}" for problem in registry.problems]
        if not entries:
            lines.append("no models installed")
        print_result(args, "\n".join(lines),
                     {"models": models, "broken": [str(p) for p in registry.problems]})
        return 0
    if args.action == "install":
        entry = registry.install(args.path, force=args.force)
        print(f"installed {entry.spec} -> {entry.onnx_path}")
        _print_gate(entry.card.metrics.get("gate"))
        if args.use:
            registry.use(entry.spec)
            print(f"active for {', '.join(entry.card.variables)}: {entry.spec}")
        return 0
    if args.action == "use":
        entry = registry.use(args.spec)
        print(f"active for {', '.join(entry.card.variables)}: {entry.spec}")
        return 0
    if args.action == "rollback":
        entry = registry.rollback(args.variable)
        print(f"active for {args.variable}: {entry.spec}")
        return 0
    entry = registry.resolve(args.spec)
    if args.json:
        print(json.dumps(entry.card.raw, indent=2))
        return 0
    card = entry.card
    try:
        validate_model(entry.onnx_path, card)
        check = "ok (sha256 and graph match the card)"
    except MicroclimateError as exc:
        check = f"FAILED: {exc}"
    print(f"{card.spec}  ({entry.origin}: {entry.onnx_path})")
    print(f"  trained:    {'yes' if card.trained else 'NO - ' + card.description}")
    print(f"  outputs:    {', '.join(f'{o.variable} [{o.units}]' for o in card.outputs)}")
    print(f"  features:   {', '.join(f.name for f in card.features)}")
    print(f"  training:   {card.training_data}")
    print(f"  limits:     {card.limitations}")
    for row in card.metrics.get("rows", []):
        print(f"  holdout:    {row}")
    _print_gate(card.metrics.get("gate"))
    for run in runs_for(card.raw):
        print(f"  run:        {run.run_id} {run.status} {run.start} {run.name} "
              f"({run.folder})")
    print(f"  check:      {check}")
    print(f"  runtime:    {runtime_status(load_settings().provider).summary()}")
    return 0
