"""ONNX runtime, model registry and predictor."""
