"""Quality control of station observations (QARTOD flags).

:mod:`.registry` lists every test (name, parameter class, per-series or network, usable
online); :mod:`.config` reads a strict config into it, :mod:`.runner` runs it, and the
live watch and the batch QC derive what they run from it. :mod:`.checks` holds the public
check functions, :mod:`._kernels` / :mod:`._stations` / :mod:`._buddy` their Numba kernels
(:mod:`._dispatch`: JIT-compiled, or compiled ahead of time in the installer) and
:mod:`.reference` the plain NumPy reference the tests compare them with.
"""
