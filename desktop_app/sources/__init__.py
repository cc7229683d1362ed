"""Data sources: one module per provider, each returning an ``xarray.Dataset`` in the
canonical station or grid schema (see :mod:`desktop_app.core.schema`).

- :mod:`.http`: the shared httpx client (timeouts, retries, error mapping).
- :mod:`.cache`: the request-keyed on-disk cache (sha256 keys, LRU size cap, integrity,
  expiry: server max-age or a per-endpoint lifetime; stale entries served offline only).
- :mod:`.openmeteo`: Open-Meteo forecast, archive and elevation (lexicon and parsing in
  :mod:`.openmeteo_parse`).
- :mod:`.cds`: ERA5 through the Copernicus CDS API (submit, poll, download, cancel).
- :mod:`.era5_files`: ERA5 NetCDF/GRIB files, legacy and new CDS layouts; per-file
  normalisation (orography, pressure levels) in :mod:`.era5_normalise`, several files
  into one background in :mod:`.era5_merge`.
- :mod:`.altitude`: the bundled 5 arc-minute altitude grid (announced fallback orography).
- :mod:`.stations`: USCRN, TMY3 and generic CSV station files; :mod:`.smet`: SMET;
  :mod:`.station_formats`: the one table of station formats.
- :mod:`.region`: region bundles (region.json + terrain, coarse background, stations).
- :mod:`.output`: CF NetCDF writing (atomic).
- :mod:`.context`: what a fetch runs with (settings, HTTP client, cache; progress and
  cancel) and the cached-grid helpers.
- :mod:`.providers`: the provider registry (request type -> provider) and
  :func:`.providers.run_fetch`, the one "Get data" entry point.

No Qt here: the GUI wraps :func:`.providers.run_fetch` in its own worker thread.
"""
