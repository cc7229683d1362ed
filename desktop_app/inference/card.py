"""Model cards: the JSON file beside each ``.onnx`` that says what the model is.

The card is the contract between the trainer and the app: which features go in (names,
units, normalisation), which variables come out (units, normalisation), the grid it was
made for, what it was trained on, how it scored against the baseline, and the sha256 of
the ONNX file it describes. It is checked strictly (unknown keys are errors) and against
the ONNX graph itself (:func:`check_against_graph`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from desktop_app.core.variables import VARIABLES, Variable
from desktop_app.downscale.features import FEATURES, Feature
from desktop_app.errors import ModelError
from desktop_app.fsutil import safe_name, sha256_file
from desktop_app.inference.guard import TrainingDomain, parse_domain
from desktop_app.strict_config import check_table

FORMAT_VERSION = 1
_TOP_KEYS = {"format_version", "name", "version", "created", "description", "trained",
             "onnx_file", "sha256", "input", "outputs", "grid", "training_data",
             "metrics", "limitations", "training_domain", "architecture", "training_runs"}
# architecture: how the trainer rebuilds the network from the graph's weights (to
# fine-tune it); training_runs: the tracked runs behind the model (desktop_app.tracking)
_OPTIONAL = {"metrics", "limitations", "description", "training_domain", "architecture",
             "training_runs"}
T = TypeVar("T")
META_FEATURES = "microclimate.features"
META_UNITS = "microclimate.output_units"


@dataclass(frozen=True)
class FeatureStat:
    name: str
    units: str
    mean: float
    std: float


@dataclass(frozen=True)
class OutputSpec:
    name: str  # graph output name
    variable: str
    units: str
    mean: float
    std: float
    shape: list[int | str]


@dataclass
class ModelCard:
    name: str
    version: str
    created: str
    trained: bool
    onnx_file: str
    sha256: str
    input_name: str
    input_shape: list[int | str]
    features: list[FeatureStat]
    outputs: list[OutputSpec]
    grid: dict[str, Any]
    training_data: str
    description: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)
    limitations: str = ""
    raw: dict[str, Any] = field(default_factory=dict)
    domain: TrainingDomain | None = None  # what the guard checks inputs against

    @property
    def spec(self) -> str:
        return f"{self.name}@{self.version}"

    @property
    def variables(self) -> list[str]:
        return [o.variable for o in self.outputs]

    @property
    def halo(self) -> int:
        return int(self.grid.get("halo_cells", 0))


def _need(d: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if key not in d:
        raise ModelError(f"{where}: missing key {key!r}")
    value = d[key]
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise ModelError(f"{where}: {key!r} has the wrong type ({type(value).__name__})")
    return value


def _entry(cls: type[T], value: object, where: str, what: str,
           registry: Mapping[str, Feature | Variable]) -> T:
    """A feature or an output of the card: exactly the fields of ``cls``, typed, naming
    a ``what`` of the ``registry`` in the registry's units."""
    values = check_table(value, cls, source=where, error=ModelError)
    if not values["std"] > 0:
        raise ModelError(f"{where}: normalisation needs a finite mean and std > 0")
    name, units = values["variable" if what == "variable" else "name"], values["units"]
    if name not in registry:
        raise ModelError(f"{where}: unknown {what} {name!r}")
    if units != registry[name].units:
        raise ModelError(f"{where}: {what} {name!r} must be in {registry[name].units!r}, "
                         f"card says {units!r}")
    return cls(**values)


def _shape(value: Any, where: str) -> list[int | str]:
    if not isinstance(value, list) or len(value) != 4 or not all(
            isinstance(v, int | str) and not isinstance(v, bool) for v in value):
        raise ModelError(f"{where}: shape must be a list of 4 ints or names "
                         "(batch, channels, rows, cols)")
    return list(value)


def parse_card(data: Any, source: str = "model card") -> ModelCard:
    """Strictly parse a card dict; :class:`ModelError` names the first problem."""
    if not isinstance(data, dict):
        raise ModelError(f"{source}: expected a JSON object")
    unknown = set(data) - _TOP_KEYS
    if unknown:
        raise ModelError(f"{source}: unknown key {sorted(unknown)[0]!r}")
    missing = _TOP_KEYS - _OPTIONAL - set(data)
    if missing:
        raise ModelError(f"{source}: missing key {sorted(missing)[0]!r}")
    if data["format_version"] != FORMAT_VERSION:
        raise ModelError(f"{source}: unsupported format_version {data['format_version']!r}")
    inp = _need(data, "input", dict, source)
    features = []
    for k, f in enumerate(_need(inp, "features", list, f"{source} input")):
        features.append(_entry(FeatureStat, f, f"{source} input feature {k}", "feature",
                               FEATURES))
    if not features:
        raise ModelError(f"{source}: the input lists no features")
    outputs = []
    for k, o in enumerate(_need(data, "outputs", list, source)):
        where = f"{source} output {k}"
        output = _entry(OutputSpec, o, where, "variable", VARIABLES)
        _shape(output.shape, where)
        outputs.append(output)
    if not outputs:
        raise ModelError(f"{source}: the card lists no outputs")
    grid = _need(data, "grid", dict, source)
    halo = grid.get("halo_cells", 0)
    if not isinstance(halo, int) or isinstance(halo, bool) or halo < 0:
        raise ModelError(f"{source}: grid 'halo_cells' must be a whole number >= 0")
    if "architecture" in data and not isinstance(data["architecture"], dict):
        raise ModelError(f"{source}: 'architecture' must be an object")
    runs = data.get("training_runs", [])
    if not isinstance(runs, list) or not all(isinstance(r, dict) for r in runs):
        raise ModelError(f"{source}: 'training_runs' must be a list of objects")
    domain = (parse_domain(data["training_domain"], f"{source} training_domain")
              if "training_domain" in data else None)
    names = {f.name for f in features}
    stray = sorted(set(domain.inputs) - names) if domain is not None else []
    if stray:
        raise ModelError(f"{source} training_domain: input {stray[0]!r} is not a feature "
                         "of this model")
    sha = _need(data, "sha256", str, source)
    if len(sha) != 64:
        raise ModelError(f"{source}: sha256 must be 64 hex digits")
    return ModelCard(
        # name and version become folder and file names when the model is installed
        name=safe_name(_need(data, "name", str, source), f"{source}: name", ModelError),
        version=safe_name(_need(data, "version", str, source), f"{source}: version",
                          ModelError),
        created=_need(data, "created", str, source),
        trained=_need(data, "trained", bool, source),
        onnx_file=_need(data, "onnx_file", str, source), sha256=sha.lower(),
        input_name=_need(inp, "name", str, f"{source} input"),
        input_shape=_shape(inp.get("shape"), f"{source} input"),
        features=features, outputs=outputs, grid=grid,
        training_data=_need(data, "training_data", str, source),
        description=str(data.get("description", "")),
        metrics=dict(data.get("metrics") or {}), limitations=str(data.get("limitations", "")),
        raw=data,
        domain=domain,
    )


def load_card(path: Path) -> ModelCard:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"model card missing: {path}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"cannot read model card {path}: {exc}") from exc
    return parse_card(data, str(path))



def check_sha256(card: ModelCard, onnx_path: Path) -> None:
    try:
        actual = sha256_file(onnx_path)
    except OSError as exc:
        raise ModelError(f"cannot read ONNX file {onnx_path}: {exc}") from exc
    if actual != card.sha256:
        raise ModelError(f"{onnx_path.name}: sha256 {actual[:12]}... does not match the card "
                         f"({card.sha256[:12]}...): the file was changed or is damaged")


def _dims_agree(card_shape: list[int | str], graph_shape: list[Any]) -> bool:
    if len(card_shape) != len(graph_shape):
        return False
    for c, g in zip(card_shape, graph_shape, strict=True):
        if isinstance(c, int) and isinstance(g, int) and c != g:
            return False
        if isinstance(c, int) != isinstance(g, int):
            return False
    return True


def check_against_graph(card: ModelCard, session: Any) -> None:
    """Compare the card with an onnxruntime session's graph: names, dtypes, shapes, the
    feature count and, where the graph carries them, feature names and output units."""
    inputs = session.get_inputs()
    if len(inputs) != 1 or inputs[0].name != card.input_name:
        names = [i.name for i in inputs]
        raise ModelError(f"card input {card.input_name!r} does not match the graph inputs "
                         f"{names}")
    inp = inputs[0]
    if inp.type != "tensor(float)":
        raise ModelError(f"graph input {inp.name!r} is {inp.type}, expected tensor(float)")
    if any(isinstance(d, int) for d in list(inp.shape)[2:]):
        raise ModelError(f"graph input {inp.name!r} has a fixed grid size {list(inp.shape)}; "
                         "the predictor tiles grids freely and needs free rows/cols")
    if not _dims_agree(card.input_shape, list(inp.shape)):
        raise ModelError(f"card input shape {card.input_shape} does not match the graph "
                         f"{list(inp.shape)}")
    channels = inp.shape[1]
    if isinstance(channels, int) and channels != len(card.features):
        raise ModelError(f"graph takes {channels} feature channels, the card lists "
                         f"{len(card.features)}")
    graph_outputs = {o.name: o for o in session.get_outputs()}
    card_outputs = {o.name for o in card.outputs}
    if set(graph_outputs) != card_outputs:
        raise ModelError(f"card outputs {sorted(card_outputs)} do not match the graph "
                         f"outputs {sorted(graph_outputs)}")
    for spec in card.outputs:
        graph = graph_outputs[spec.name]
        if graph.type != "tensor(float)" or not _dims_agree(spec.shape, list(graph.shape)):
            raise ModelError(f"output {spec.name!r}: card shape {spec.shape} does not match "
                             f"the graph {graph.type} {list(graph.shape)}")
    meta = session.get_modelmeta().custom_metadata_map
    if META_FEATURES in meta:
        graph_features = meta[META_FEATURES].split(",")
        if graph_features != [f.name for f in card.features]:
            raise ModelError(f"card features {[f.name for f in card.features]} differ from "
                             f"the graph's {graph_features}")
    if META_UNITS in meta:
        units = json.loads(meta[META_UNITS])
        for spec in card.outputs:
            if units.get(spec.name) not in (None, spec.units):
                raise ModelError(f"output {spec.name!r}: the graph says units "
                                 f"{units[spec.name]!r}, the card {spec.units!r}")
