"""Downscaling: terrain features and the physical baseline every model must beat."""
