"""Local forecasting: ONNX runtime (``runtime``), model cards and registry (``card``,
``registry``) and the predictor (``predictor``). See ``docs/inference.md``.

Entry points for the CLI and GUI: ``predictor.run_forecast``, ``predictor.write_forecast``,
``runtime.runtime_status`` and ``registry.ModelRegistry``. onnxruntime is imported
lazily, inside functions.
"""
