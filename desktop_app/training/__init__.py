"""Headless PyTorch trainer (optional extra ``[train]``); nothing else imports it.

Modules: :mod:`config` (strict config, no torch), :mod:`dataset` (samples built with the
ONE feature implementation, :mod:`desktop_app.downscale.features`), :mod:`model`
(residual CNN over the lapse-rate baseline), :mod:`loss` (data + physics terms),
:mod:`trainer` (loop, checkpoints, exact resume), :mod:`export` (ONNX + model card),
:mod:`service` (the HTTP job service). torch is imported only inside those modules, so
importing this package costs nothing and the CLI can say clearly when torch is missing.
"""
