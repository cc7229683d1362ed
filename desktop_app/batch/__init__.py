"""Archive-scale runs on a Dask cluster: QC, downscaling and verification chunk by chunk.

A layer that composes ``qc``, ``inference`` and ``verify`` (no Qt). Dask and
``distributed`` are the optional extra ``[cluster]``; they are imported lazily, so the app
without them imports fine and :func:`desktop_app.batch.cluster.require_dask` says which
extra to install.

- :mod:`.cluster`: connect to ``local`` (a LocalCluster), ``tcp://HOST:PORT``, ``slurm`` or
  ``pbs`` (dask-jobqueue).
- :mod:`.inputs`: many NetCDF/GRIB files or a Zarr store, opened lazily, grids checked.
- :mod:`.store`: the output written to a temporary store beside the target, per-chunk
  completion markers (resume), moved into place at the end.
- :mod:`.engine`: submit chunk tasks, progress, cancel, fault messages.
- :mod:`.qc_run`, :mod:`.forecast_run`, :mod:`.verify_run`: the three cluster runs.
- :mod:`.window_runs`: QC and forecast of the data the window holds, run on the cluster.
"""
