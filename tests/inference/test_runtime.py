import numpy as np
import pytest

from desktop_app.errors import ConfigError, ModelError
from desktop_app.inference import runtime
from desktop_app.inference.runtime import (
    create_session,
    resolve_provider,
    runtime_status,
)
from tests.inference.helpers import LAPSE_MODEL

CUDA_USABLE = runtime.cuda_probe()[0]


def test_auto_runs_somewhere_and_says_why_in_one_line():
    status = runtime_status("auto")
    assert status.provider in ("cpu", "cuda")
    assert "\n" not in status.summary()
    if status.provider == "cpu":
        assert "CUDA not used" in status.reason
        assert "onnxruntime-gpu[cuda,cudnn]" in status.reason  # how to get it from pip


def test_cuda_probe_keeps_the_loud_native_log_off_the_terminal(capfd):
    runtime.cuda_probe.cache_clear()
    try:
        resolve_provider("auto")
        out, err = capfd.readouterr()
        assert "onnxruntime" not in err and "onnxruntime" not in out
        assert "Failed to load" not in err
    finally:
        runtime.cuda_probe.cache_clear()


@pytest.mark.skipif(CUDA_USABLE, reason="CUDA works here")
def test_cuda_requested_without_cuda_is_a_clear_error():
    with pytest.raises(ModelError, match="CUDA requested but unavailable"):
        resolve_provider("cuda")
    status = runtime_status("cuda")  # the GUI's view: no exception, says why
    assert status.provider == "none" and "unavailable" in status.reason


def test_unknown_provider_is_a_config_error():
    with pytest.raises(ConfigError, match="provider"):
        resolve_provider("tpu")


def test_cpu_session_runs_the_bundled_model():
    session = create_session(LAPSE_MODEL, "cpu", threads=1)
    assert session.status.provider == "cpu"
    x = np.zeros((2, 2, 3, 4), np.float32)
    x[:, 0] = 1.0  # temperature_interp normalised 1 -> 20 degC; dz 0
    (y,) = session.run(x)
    assert y.shape == (2, 1, 3, 4)
    np.testing.assert_allclose(y, 1.0, atol=1e-6)


def test_corrupt_onnx_is_a_model_error(tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"this is not a protobuf at all" * 10)
    with pytest.raises(ModelError, match="cannot load ONNX model"):
        create_session(bad, "cpu")


def test_truncated_onnx_is_a_model_error(tmp_path):
    cut = tmp_path / "cut.onnx"
    cut.write_bytes(LAPSE_MODEL.read_bytes()[: LAPSE_MODEL.stat().st_size // 2])
    with pytest.raises(ModelError):
        create_session(cut, "cpu")


def test_int8_is_gone_with_its_reason():
    # it was measured slower than FP32 on the CPU (docs/inference.md): asking for it is
    # an error that says so, before any session or provider probe
    with pytest.raises(ConfigError, match="INT8 was removed.*slower than FP32"):
        create_session(LAPSE_MODEL, "cpu", int8=True)


@pytest.mark.gpu
def test_cuda_session_matches_cpu():
    cuda = create_session(LAPSE_MODEL, "cuda")
    assert cuda.status.provider == "cuda"
    x = np.random.default_rng(1).normal(size=(4, 2, 64, 64)).astype(np.float32)
    np.testing.assert_allclose(cuda.run(x)[0], create_session(LAPSE_MODEL, "cpu").run(x)[0],
                               atol=1e-5)


def test_the_stored_probe_model_is_the_relu_graph_onnx_builds():
    """The CUDA probe ships its tiny model serialised (no onnx import at run time); it
    must stay the graph onnx.helper makes, and run."""
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "probe", [x], [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 9
    assert runtime._probe_model() == model.SerializeToString()
    session = runtime._ort().InferenceSession(runtime._probe_model(),
                                              providers=["CPUExecutionProvider"])
    out = session.run(None, {"x": np.array([-2.0], np.float32)})[0]
    assert out.tolist() == [0.0]
