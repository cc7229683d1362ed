"""Workflow panels docked beside the map: data, QC, forecast, models."""
