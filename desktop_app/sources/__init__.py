"""Data providers, each returning xarray Datasets in the canonical schema."""
