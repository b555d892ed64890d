"""Plain Python/NumPy twins of the cascade kernels in ``auctions/_kernels.py``.

Each twin states what its kernel computes in the most direct way (sets, recursion,
itertools) and shares no code with it, so that a test can hold the kernel to it.
"""
from __future__ import annotations

import itertools
import math
from functools import lru_cache

import numpy as np

RTOL = 1e-13  # the kernels' tie tolerance, relative to the largest val


def colex_rank(subset) -> int:
    return sum(math.comb(c, t + 1) for t, c in enumerate(sorted(subset)))


def lattice_twin(ncol, k):
    """``offset`` and ``nxt`` of :func:`subset_lattice_into`, from itertools."""
    sizes = [math.comb(ncol, r) for r in range(k + 1)]
    offset = np.concatenate(([0], np.cumsum(sizes))).astype(np.int64)
    dead = offset[-1]
    number = {}
    for r in range(k + 1):
        for s in itertools.combinations(range(ncol), r):
            number[frozenset(s)] = offset[r] + colex_rank(s)
    nxt = np.full((max(int(offset[k]), 1), ncol), dead, dtype=np.int64)
    for s, idx in number.items():
        if len(s) < k:
            for c in range(ncol):
                if c not in s:
                    nxt[idx, c] = number[s | {c}]
    return offset, nxt


def sequence_value(val, cont, pairs) -> float:
    """``sum_t val_t prod_{s<t} cont_s`` over pairs met in the given order."""
    total, surv = 0.0, 1.0
    for i, j in pairs:
        total += surv * val[i, j]
        surv *= cont[i, j]
    return total


def chain_dp_twin(val, cont, k):
    """Best value over rows met in order, each taking at most one unused column, at most
    ``k`` in all; and the columns taken (the lowest column within the tolerance of the
    best; skip when there is none)."""
    nrow, ncol = val.shape
    tol = RTOL * max(val.max(), 0.0)

    @lru_cache(maxsize=None)
    def g(r, used):
        if r == nrow:
            return 0.0
        best = g(r + 1, used)
        if len(used) < k:
            for c in range(ncol):
                if c not in used and val[r, c] > 0:
                    best = max(best, val[r, c] + cont[r, c] * g(r + 1, used | {c}))
        return best

    cols, used = [], frozenset()
    for r in range(nrow):
        target = g(r, used) - tol
        pick = -1
        if len(used) < k:
            for c in range(ncol):
                if c not in used and val[r, c] > 0 and val[r, c] + cont[r, c] * g(r + 1, used | {c}) >= target:
                    pick = c
                    break
        cols.append(pick)
        if pick >= 0:
            used = used | {pick}
    return g(0, frozenset()), np.array(cols)


def pair_dp_twin(val, cont, items_i, items_j, k):
    """Best value over the items (pairs) met in order, each taken or skipped, the taken ones
    a matching of at most ``k`` pairs; and which are taken (ties: take)."""
    nq = len(items_i)
    tol = RTOL * max(val.max(), 0.0)

    @lru_cache(maxsize=None)
    def g(q, ads, pos):
        if q == nq:
            return 0.0
        best = g(q + 1, ads, pos)
        i, j = items_i[q], items_j[q]
        if len(ads) < k and i not in ads and j not in pos and val[i, j] > 0:
            best = max(best, val[i, j] + cont[i, j] * g(q + 1, ads | {i}, pos | {j}))
        return best

    take, ads, pos = [], frozenset(), frozenset()
    for q in range(nq):
        i, j = items_i[q], items_j[q]
        now = g(q, ads, pos)
        t = (len(ads) < k and i not in ads and j not in pos and val[i, j] > 0
             and val[i, j] + cont[i, j] * g(q + 1, ads | {i}, pos | {j}) >= now - tol)
        take.append(bool(t))
        if t:
            ads, pos = ads | {i}, pos | {j}
    return g(0, frozenset(), frozenset()), np.array(take)


def rendered(key, pairs):
    """Pairs in rendering order: key descending, then advertiser, then position index."""
    return sorted(pairs, key=lambda e: (-key[e], e[0], e[1]))


def greedy_twin(val, cont, key, k):
    """Add the feasible pair of largest value gain while it gains (more than the tolerance)."""
    n, m = val.shape
    tol = RTOL * max(val.max(), 0.0)
    chosen = []
    while len(chosen) < k:
        cur = sequence_value(val, cont, chosen)
        used_i = {i for i, _ in chosen}
        used_j = {j for _, j in chosen}
        best, pick = -np.inf, None
        for i in range(n):
            for j in range(m):
                if i in used_i or j in used_j or val[i, j] <= 0:
                    continue
                v = sequence_value(val, cont, rendered(key, chosen + [(i, j)]))
                if v > cur + tol and v > best + tol:
                    best, pick = v, (i, j)
        if pick is None:
            break
        chosen = rendered(key, chosen + [pick])
    return chosen


def _moves(chosen, pairs, k, swap, monotone):
    """Every move of the local search: (added pairs, kept pairs)."""
    if not monotone:
        for drop in chosen:
            yield (), [e for e in chosen if e != drop]
    for size in range(1, swap + 1):
        for add in itertools.combinations(pairs, size):
            if any(e in chosen for e in add):
                continue
            if len({i for i, _ in add}) < size or len({j for _, j in add}) < size:
                continue
            ai = {i for i, _ in add}
            aj = {j for _, j in add}
            rest = [e for e in chosen if e[0] not in ai and e[1] not in aj]
            extra = len(rest) + size - k
            if extra <= 0:
                yield add, rest
            else:
                for gone in itertools.combinations(rest, extra):
                    yield add, [e for e in rest if e not in gone]


def local_search_twin(val, cont, key, k, swap, monotone, start, max_moves=10_000):
    """Best-improvement local search: moves that add one pair (or drop one, when not
    monotone) first; moves that add ``swap`` pairs only when none of those improves."""
    n, m = val.shape
    tol = RTOL * max(val.max(), 0.0)
    pairs = [(i, j) for i in range(n) for j in range(m) if val[i, j] > 0]
    chosen = rendered(key, list(start))
    for _ in range(max_moves):
        cur = sequence_value(val, cont, chosen)
        found = None
        for phase in (1, swap) if swap > 1 else (1,):
            best = cur + tol
            for add, kept in _moves(chosen, pairs, k, phase, monotone):
                if phase > 1 and len(add) < phase:
                    continue
                v = sequence_value(val, cont, rendered(key, kept + list(add)))
                if v > best:
                    best, found = v, rendered(key, kept + list(add))
            if found is not None:
                break
        if found is None:
            return chosen
        chosen = found
    return chosen
