"""Verification of forecasts against observations."""
