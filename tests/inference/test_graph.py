"""The CPU graph rewrite (inference.graph): same outputs as the model as written."""

import numpy as np
import onnx
import onnxruntime as ort
import xarray as xr

from desktop_app.inference.graph import cpu_model_bytes, split_single_output_convs
from desktop_app.inference.predictor import Predictor
from desktop_app.inference.registry import ModelRegistry
from desktop_app.inference.runtime import create_session
from tests.inference.helpers import BUNDLED, DATA, LAPSE_MODEL


def _plain_session(data: bytes) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.log_severity_level = 3
    return ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])


def _real_features() -> np.ndarray:
    """The bundled model's normalised features on the REAL held-out ERA5 UK days."""
    predictor = Predictor(ModelRegistry().resolve(None), "cpu", warm_up=False)
    fine = xr.open_dataset(DATA / "era5_uk_fine.nc").load()
    coarse = xr.open_dataset(DATA / "era5_uk_coarse.nc").load()
    builder = predictor.feature_builder(coarse, fine[["elevation"]])
    ny, nx = builder.shape
    return builder.build(0, 4, slice(0, ny), slice(0, nx))


def test_bundled_model_last_conv_is_split_and_outputs_agree() -> None:
    model = onnx.load(BUNDLED)
    convs = sum(n.op_type == "Conv" for n in model.graph.node)
    assert split_single_output_convs(model) == 1  # the 32 -> 1 output layer only
    onnx.checker.check_model(model)
    assert sum(n.op_type == "Conv" for n in model.graph.node) == convs
    x = _real_features()
    (want,) = _plain_session(BUNDLED.read_bytes()).run(None, {"features": x})
    (got,) = create_session(BUNDLED, "cpu").run(x)  # the app's session: rewritten
    assert got.shape == want.shape == (x.shape[0], 1, *x.shape[2:])
    # the same sums in another order: float32 rounding apart, nothing more
    np.testing.assert_allclose(got, want, rtol=0, atol=2e-6 * float(np.abs(want).max()))
    # and not bit for bit the same graph: the rewrite did run
    assert cpu_model_bytes(BUNDLED.read_bytes()) != BUNDLED.read_bytes()


def test_models_without_such_a_conv_are_left_alone() -> None:
    data = LAPSE_MODEL.read_bytes()  # no convolution at all
    assert cpu_model_bytes(data) == data
    model = onnx.load(BUNDLED)
    for node in model.graph.node:  # strided: not the pattern any more
        if node.op_type == "Conv":
            keep = [a for a in node.attribute if a.name != "strides"]
            del node.attribute[:]
            node.attribute.extend([*keep, onnx.helper.make_attribute("strides", [2, 2])])
    assert split_single_output_convs(model) == 0


def test_rewritten_model_is_cached_by_its_hash(tmp_path) -> None:
    data = BUNDLED.read_bytes()
    first = cpu_model_bytes(data, tmp_path)
    (kept,) = tmp_path.glob("*-cpu*.onnx")
    assert kept.read_bytes() == first != data
    assert cpu_model_bytes(data, tmp_path) == first  # read back, not rebuilt
    plain = LAPSE_MODEL.read_bytes()  # nothing to rewrite: a marker, the bytes as they are
    assert cpu_model_bytes(plain, tmp_path) == plain
    assert len(list(tmp_path.glob("*.unchanged"))) == 1
    assert cpu_model_bytes(plain, tmp_path) == plain
