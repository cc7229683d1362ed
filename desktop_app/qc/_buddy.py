"""Numba kernels of the buddy check (see ``checks.buddy_check`` for the semantics).

Per time step and iteration, like titanlib: a station not yet flagged is checked against
the mean and adjusted spread of its unflagged buddies; flags of one iteration only take
effect in the next (so the result does not depend on station order or thread count).
One time step runs in threads over stations; many time steps run in threads over time
(:func:`desktop_app.qc._threads.in_threads`: the kernels release the GIL).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from desktop_app.qc._dispatch import export, njit
from desktop_app.qc._threads import in_threads

PASS = np.uint8(1)
NOT_EVALUATED = np.uint8(2)
SUSPECT = np.uint8(3)
MISSING = np.uint8(9)


@export("f8[::1], b1[::1], b1[::1], u1[::1]", cache=True, error_model="numpy")
def _finish(vals: np.ndarray, flagged: np.ndarray, evaluated: np.ndarray,
            out: np.ndarray) -> None:
    for i in range(vals.size):  # selects, not branches: this runs for every value
        f = PASS if evaluated[i] else NOT_EVALUATED
        f = SUSPECT if flagged[i] else f
        out[i] = f if math.isfinite(vals[i]) else MISSING


# inlined at the IR level: as a call, passing its five arrays cost reference-count
# updates that took longer than the arithmetic
@njit(cache=True, error_model="numpy", inline="always")
def _station(
    vals: np.ndarray, i: int, flagged: np.ndarray, indptr: np.ndarray, indices: np.ndarray,
    adj: np.ndarray, use_adj: bool, elevs: np.ndarray, max_elev_diff: float,
    elev_gradient: float, num_min: int, threshold: float, min_std: float,
) -> int:
    """Station ``i`` against its unflagged buddies: -1 too few buddies; 0 consistent;
    1 outlier. Either the lists are already cut to the elevation limit (:func:`prune`),
    with each buddy's adjustment in ``adj`` when ``use_adj``, and ``max_elev_diff`` is 0;
    or ``max_elev_diff > 0`` cuts and adjusts here from ``elevs`` (the same float
    operations as :func:`prune`)."""
    n = 0
    total = 0.0
    total2 = 0.0
    for k in range(indptr[i], indptr[i + 1]):
        j = indices[k]
        vj = vals[j]
        if flagged[j] or not math.isfinite(vj):
            continue
        if max_elev_diff > 0:
            if abs(elevs[j] - elevs[i]) > max_elev_diff:
                continue
            vj = vj + (elevs[i] - elevs[j]) * elev_gradient
        elif use_adj:
            vj = vj + adj[k]
        n += 1
        total += vj
        total2 += vj * vj
    if n < num_min:
        return -1
    mean = total / n
    var = max(total2 / n - mean * mean, 0.0)  # population variance, as titanlib
    std = max(math.sqrt(var + var / n), min_std)
    return 1 if abs(vals[i] - mean) / std > threshold else 0


@njit(cache=True, error_model="numpy")
def _first_iteration(
    values: np.ndarray, order: np.ndarray, t0: int, nt: int, indptr: np.ndarray,
    indices: np.ndarray, adj: np.ndarray, use_adj: bool, num_min: np.ndarray,
    candidates: np.ndarray, threshold: float, min_std: float, out: np.ndarray,
) -> None:
    """The first iteration of time steps ``t0:t0+nt`` for every candidate station at once,
    vectorised over time: nothing is flagged yet, so each (station, step) depends only on
    the values. Each candidate's flags go straight into its row of ``out`` (the later
    iterations only patch the few that change). The sums run over
    the buddies in list order with the same float operations as :func:`_station`
    (adding 0.0 for a missing buddy leaves a sum that starts at +0.0 unchanged), so the
    verdicts are bit for bit the per-step ones."""
    cnt = np.empty(nt, np.float64)
    tot = np.empty(nt, np.float64)
    tot2 = np.empty(nt, np.float64)
    for p in candidates:
        cnt[:] = 0.0
        tot[:] = 0.0
        tot2[:] = 0.0
        for k in range(indptr[p], indptr[p + 1]):
            row = values[order[indices[k]], t0:t0 + nt]
            a = adj[k]
            if use_adj:
                for t in range(nt):
                    v = row[t]
                    ok = math.isfinite(v)
                    w = v + a
                    cnt[t] += 1.0 if ok else 0.0
                    tot[t] += w if ok else 0.0
                    tot2[t] += w * w if ok else 0.0
            else:
                for t in range(nt):
                    v = row[t]
                    ok = math.isfinite(v)
                    cnt[t] += 1.0 if ok else 0.0
                    tot[t] += v if ok else 0.0
                    tot2[t] += v * v if ok else 0.0
        own = values[order[p], t0:t0 + nt]
        need = float(num_min[p])
        dst = out[order[p], t0:t0 + nt]
        for t in range(nt):
            n = cnt[t]
            mean = tot[t] / n
            var = max(tot2[t] / n - mean * mean, 0.0)  # population variance, as titanlib
            std = max(math.sqrt(var + var / n), min_std)
            vi = own[t]
            ev = math.isfinite(vi) and n >= need
            bad = ev and abs(vi - mean) / std > threshold
            f = SUSPECT if bad else (PASS if ev else NOT_EVALUATED)
            dst[t] = f if math.isfinite(vi) else MISSING


@njit(cache=True, error_model="numpy")
def _block(
    values: np.ndarray, order: np.ndarray, t0: int, t1: int, indptr: np.ndarray,
    indices: np.ndarray, adj: np.ndarray, use_adj: bool, rev_indptr: np.ndarray,
    rev_indices: np.ndarray, num_min: np.ndarray, check: np.ndarray, threshold: float,
    min_std: float, num_iterations: int, out: np.ndarray,
) -> None:
    """Time steps ``t0:t1`` of ``values`` (station, time; the caller's station order).

    The first iteration runs for all stations and steps at once along time
    (:func:`_first_iteration`); the rare steps where it flagged something go on, one step
    at a time, with the later iterations (only stations next to a new
    flag can change). The flags go straight into the rows of ``out``."""
    ns = order.size
    nt = t1 - t0
    candidates = np.flatnonzero(check)
    for p in range(ns):  # the stations never evaluated (all of them without iterations)
        if check[p] and num_iterations > 0:
            continue
        row = values[order[p], t0:t1]
        dst = out[order[p], t0:t1]
        for t in range(nt):
            dst[t] = NOT_EVALUATED if math.isfinite(row[t]) else MISSING
    if num_iterations > 0:
        _first_iteration(values, order, t0, nt, indptr, indices, adj, use_adj, num_min,
                         candidates, threshold, min_std, out)
    if num_iterations > 1:
        # the stations the first iteration flagged, per step (a CSR over the steps): the
        # later iterations only look at those steps, and there only at their neighbours
        starts = np.zeros(nt + 1, np.int64)
        for c in candidates:
            st = out[order[c], t0:t1]
            for t in range(nt):
                starts[t + 1] += st[t] == SUSPECT
        for t in range(nt):
            starts[t + 1] += starts[t]
        first = np.empty(starts[nt], np.int64)
        fill = starts[:nt].copy()
        for c in candidates:
            st = out[order[c], t0:t1]
            for t in range(nt):
                if st[t] == SUSPECT:  # rare: a predictable branch
                    first[fill[t]] = c
                    fill[t] += 1
        vals = np.empty(ns, np.float64)
        flagged = np.zeros(ns, np.bool_)
        mark = np.zeros(ns, np.bool_)
        lists = np.empty((4, ns), np.int64)
        for t in range(nt):
            if starts[t + 1] > starts[t]:
                _later_iterations(values, order, t0, t, first[starts[t]:starts[t + 1]],
                                  indptr, indices, adj, use_adj, rev_indptr, rev_indices,
                                  num_min, check, threshold, min_std, num_iterations, out,
                                  vals, flagged, mark, lists)


@njit(cache=True, error_model="numpy")
def _later_iterations(
    values: np.ndarray, order: np.ndarray, t0: int, t: int, first: np.ndarray,
    indptr: np.ndarray, indices: np.ndarray, adj: np.ndarray, use_adj: bool,
    rev_indptr: np.ndarray, rev_indices: np.ndarray, num_min: np.ndarray,
    check: np.ndarray, threshold: float, min_std: float, num_iterations: int,
    out: np.ndarray, vals: np.ndarray, flagged: np.ndarray, mark: np.ndarray,
    lists: np.ndarray,
) -> None:
    """Iterations 2.. of step ``t`` of a block, as titanlib iterates, after a first
    iteration that flagged the stations ``first``; their column ``t0 + t`` of ``out``
    gains the later verdicts (not evaluated -> pass) and flags (suspect). Only the
    candidates next to a new flag can change, so only they are evaluated again (each
    reads the flags of the iterations before, so the order among them does not matter),
    and only the values they need are read.
    ``vals``/``flagged``/``mark``: scratch of one per station, ``flagged`` and ``mark``
    all False (and left so); ``lists``: four lists of up to one per station."""
    col = t0 + t
    newly = lists[0]
    fresh = lists[1]
    dirty = lists[2]
    done = lists[3]  # every station flagged so far
    nn = first.size
    newly[:nn] = first
    nd = 0
    for _ in range(1, num_iterations):
        if nn == 0:
            break
        near = 0
        for q in range(nn):
            j = newly[q]
            flagged[j] = True
            done[nd] = j
            nd += 1
            for k in range(rev_indptr[j], rev_indptr[j + 1]):
                i = rev_indices[k]
                if not mark[i]:
                    mark[i] = True
                    dirty[near] = i
                    near += 1
        nf = 0
        for q in range(near):
            i = dirty[q]
            mark[i] = False
            if not check[i] or flagged[i]:
                continue
            vi = values[order[i], col]
            if not math.isfinite(vi):
                continue
            vals[i] = vi
            for k in range(indptr[i], indptr[i + 1]):
                vals[indices[k]] = values[order[indices[k]], col]
            # pruned lists: the elevation test is done, ``adj`` holds the adjustments
            r = _station(vals, i, flagged, indptr, indices, adj, use_adj, adj, 0.0, 0.0,
                         num_min[i], threshold, min_std)
            if r >= 0:
                if out[order[i], col] == NOT_EVALUATED:
                    out[order[i], col] = PASS
                if r == 1:
                    fresh[nf] = i
                    nf += 1
        newly, fresh = fresh, newly
        nn = nf
    for q in range(nn):  # the last iteration's flags
        done[nd] = newly[q]
        nd += 1
    for q in range(nd):
        j = done[q]
        out[order[j], col] = SUSPECT
        flagged[j] = False


BLOCK_STEPS = 256  # time steps per block: its rows of all stations stay in cache


@export("f8[:, ::1], i8[::1], i8[::1], i8[::1], f8[::1], b1, i8[::1], i8[::1], i8[::1], "
        "b1[::1], f8, f8, i8, u1[:, ::1], i8, i8", cache=True, error_model="numpy", nogil=True)
def buddy_blocks(
    values: np.ndarray, order: np.ndarray, indptr: np.ndarray, indices: np.ndarray,
    adj: np.ndarray, use_adj: bool, rev_indptr: np.ndarray, rev_indices: np.ndarray,
    num_min: np.ndarray, check: np.ndarray, threshold: float, min_std: float,
    num_iterations: int, out: np.ndarray, b0: int, b1: int,
) -> None:
    """``values`` (station, time) -> flags ``out`` (station, time) for the blocks of
    :data:`BLOCK_STEPS` time steps ``b0:b1`` (see :func:`n_blocks`; threads take disjoint
    block ranges). Buddy lists (``indptr``/``indices``/``adj``, and their transpose
    ``rev_*``) and ``num_min``/``check`` are in the cell-sorted order ``order``."""
    nt = values.shape[1]
    for b in range(b0, b1):
        t0 = b * BLOCK_STEPS
        _block(values, order, t0, min(nt, t0 + BLOCK_STEPS), indptr, indices, adj, use_adj,
               rev_indptr, rev_indices, num_min, check, threshold, min_std, num_iterations,
               out)


def n_blocks(steps: int) -> int:
    return (steps + BLOCK_STEPS - 1) // BLOCK_STEPS


@export("f8[::1], f8[::1], i8[::1], i4[::1], i8[::1], b1[::1], f8, f8, f8, f8, b1[::1], "
        "b1[::1], b1[::1], i8, i8", cache=True, error_model="numpy", nogil=True)
def _step_rows(
    vals: np.ndarray, elevs: np.ndarray, indptr: np.ndarray, indices: np.ndarray,
    num_min: np.ndarray, check: np.ndarray, threshold: float, max_elev_diff: float,
    elev_gradient: float, min_std: float, flagged: np.ndarray, evaluated: np.ndarray,
    newly: np.ndarray, i0: int, i1: int,
) -> None:
    """One iteration of :func:`buddy_one_step` for stations ``i0:i1``: each i reads the
    flags of the iterations before (``flagged``) and writes only its own ``newly[i]`` and
    ``evaluated[i]``, so threads may take disjoint ranges."""
    for i in range(i0, i1):
        newly[i] = False
        if flagged[i] or not check[i] or not math.isfinite(vals[i]):
            continue
        # unpruned lists: the elevation test and adjustment are done here
        r = _station(vals, i, flagged, indptr, indices, elevs, False, elevs, max_elev_diff,
                     elev_gradient, num_min[i], threshold, min_std)
        if r >= 0:
            evaluated[i] = True
            newly[i] = r == 1


def buddy_one_step(
    vals: np.ndarray, elevs: np.ndarray, indptr: np.ndarray, indices: np.ndarray,
    num_min: np.ndarray, check: np.ndarray, threshold: float, max_elev_diff: float,
    elev_gradient: float, min_std: float, num_iterations: int, threads: bool = True,
) -> np.ndarray:
    """``vals`` (station,) -> flags (station,); each iteration runs over the stations in
    threads (:func:`_step_rows`), the next one starts when all of them are done."""
    ns = vals.size
    out = np.empty(ns, np.uint8)
    flagged = np.zeros(ns, np.bool_)
    evaluated = np.zeros(ns, np.bool_)
    newly = np.zeros(ns, np.bool_)
    for _ in range(num_iterations):
        in_threads(_step_rows, ns, vals, elevs, indptr, indices, num_min, check,
                   float(threshold), float(max_elev_diff), float(elev_gradient),
                   float(min_std), flagged, evaluated, newly, threads=threads)
        if not newly.any():
            break
        flagged |= newly
    _finish(vals, flagged, evaluated, out)
    return out


class PrunedLists(NamedTuple):
    """Buddy lists cut to the elevation limit once (not at every step), each edge's
    elevation adjustment, and the transpose (who has j as a buddy)."""

    indptr: np.ndarray
    indices: np.ndarray
    adj: np.ndarray
    use_adj: bool
    rev_indptr: np.ndarray
    rev_indices: np.ndarray


def prune(indptr: np.ndarray, indices: np.ndarray, elevs: np.ndarray, max_elev_diff: float,
          elev_gradient: float) -> PrunedLists:
    """``elevs`` in the lists' station order; the same tests as :func:`_station`."""
    n = indptr.size - 1
    src = np.repeat(np.arange(n), np.diff(indptr))
    dst = indices.astype(np.int64)
    use_adj = max_elev_diff > 0
    if use_adj:
        with np.errstate(invalid="ignore"):
            keep = ~(np.abs(elevs[dst] - elevs[src]) > max_elev_diff)  # NaN: kept, as there
        src, dst = src[keep], dst[keep]
        adj = (elevs[src] - elevs[dst]) * elev_gradient
    else:
        adj = np.zeros(dst.size)
    new_indptr = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(src, minlength=n), out=new_indptr[1:])
    by_buddy = np.argsort(dst, kind="stable")
    rev_indptr = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(dst, minlength=n), out=rev_indptr[1:])
    return PrunedLists(new_indptr, dst, adj, use_adj, rev_indptr, src[by_buddy])
