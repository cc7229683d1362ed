"""Pure domain types: variables, regions and grids, dataset schemas, QARTOD flags.

No I/O and no Qt here; numpy and xarray only.
"""
