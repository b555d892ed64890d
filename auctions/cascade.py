"""Winner determination for the cascade model (SPEC §3.3): exact programs and approximations.

Registered for :class:`models.Cascade` under three method names:

``"exact"``
    A dynamic program, exact for every instance it accepts:

    - ``decay = 1``, free order: creatives by score descending, each taking at most one free
      position; the state is the set of used positions (at most ``k`` of ``m``). Cost
      ``n * m * sum_{r <= k} C(m, r)``: exact for any ``k`` when ``m <= 16``, and for any
      ``m`` when ``k <= 3``.
    - ``order = "text"`` (any decay): positions in text order, each taking at most one
      unused creative; the state is the set of used creatives. Cost
      ``m * n * sum_{r <= k} C(n, r)``.
    - ``decay < 1``, free order: the best order of a fixed set of pairs lists them by
      ``a p / (1 - decay (1 - p))`` descending, which depends on the position, so the
      program runs over all (creative, position) pairs in that order and the state is the
      pair (used creatives, used positions). Cost ``n m * sum_{r <= k} C(n, r) C(m, r)``:
      small instances only.

``"greedy"``
    Add the pair with the largest marginal gain while it gains. With ``decay = 1`` and free
    order the objective is monotone submodular over the common independent sets of two
    matroids, so greedy is a 1/3-approximation.

``"local_search"``
    Greedy, then local search with exchanges that add up to ``LOCAL_SEARCH_SWAP = 2`` pairs:
    a ``1/(2 + 1/2) = 2/5``-approximation with ``decay = 1``, free order.

With ``decay < 1`` or ``order="text"`` the approximations are heuristics without a proven
ratio. Every approximate :class:`~auctions.Allocation` carries its certificate: the
independent-model optimum as ``upper_bound`` and ``ratio = value / upper_bound``, a proven
lower bound on its approximation ratio.

``method="auto"`` runs ``"exact"`` when :func:`exact_cost` fits ``EXACT_BUDGET`` elementary
steps (about a tenth of a second) and ``MAX_TABLE`` table entries, else ``"local_search"``
when one sweep of its neighbourhood fits the same budget, else ``"greedy"``. The choice
depends on ``n, m, k`` and the model only, never on the scores, so it is the same for every
bid profile of one auction size (and the mechanisms built on it keep their properties).
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from models import Cascade

from . import _kernels
from .allocation import Solver, register_chooser, register_solver
from .outcome import Allocation, frozen_array

#: Elementary steps (table cells times branching) that ``method="auto"`` allows the exact
#: program, and one sweep of local search: about 0.1-0.3 s on one core.
EXACT_BUDGET = 10**8
#: Largest dynamic-programming table (8-byte entries) any method builds: 256 MiB.
MAX_TABLE = 2**25
#: Local search exchanges add up to this many pairs: ratio ``1/(2 + 1/LOCAL_SEARCH_SWAP)``.
LOCAL_SEARCH_SWAP = 2
#: Proven approximation ratios with ``decay = 1`` and free order (None: no guarantee).
GUARANTEES = {"exact": 1.0, "greedy": 1.0 / 3.0, "local_search": 1.0 / (2.0 + 1.0 / LOCAL_SEARCH_SWAP)}


@lru_cache(maxsize=64)
def subset_lattice(ncol: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """``(offset, nxt)`` of the subsets of size ``<= k`` of ``ncol`` columns (read-only).

    See :func:`auctions._kernels.subset_lattice_into` for the numbering.

    Examples
    --------
    >>> offset, nxt = subset_lattice(3, 2)
    >>> offset                      # 1 empty set, 3 singletons, 3 pairs
    array([0, 1, 4, 7])
    >>> nxt[0], nxt[1]              # {} + c = {c}; {0} + 1 = {0, 1}; {0} + 0: dead (7)
    (array([1, 2, 3]), array([7, 4, 5]))
    """
    sizes = [math.comb(ncol, r) for r in range(k + 1)]
    offset = np.empty(k + 2, dtype=np.int64)
    nxt = np.empty((max(sum(sizes[:k]), 1), ncol), dtype=np.int64)
    _kernels.subset_lattice_into(ncol, k, offset, nxt)
    offset.setflags(write=False)
    nxt.setflags(write=False)
    return offset, nxt


def _subsets(ncol: int, k: int) -> int:
    return sum(math.comb(ncol, r) for r in range(k + 1))


def exact_cost(n: int, m: int, k: int, model: Cascade) -> tuple[int, int]:
    """Elementary steps and table entries of ``method="exact"`` for an ``n x m`` instance.

    Examples
    --------
    >>> from models import Cascade
    >>> exact_cost(50, 16, 16, Cascade())      # 50 * 16 * 2**16 steps
    (52428800, 3342336)
    >>> exact_cost(10, 5, 3, Cascade(order="text"))  # 5 * 10 * (1 + 10 + 45 + 120)
    (8800, 1056)
    """
    kk = min(k, n, m)
    if model.order == "text":
        states = _subsets(n, kk)
        return m * n * states, (m + 1) * states
    if model.decay == 1.0:
        states = _subsets(m, kk)
        return n * m * states, (n + 1) * states
    states = sum(math.comb(n, r) * math.comb(m, r) for r in range(kk + 1))
    return n * m * states, (n * m + 1) * states


def local_search_cost(n: int, m: int, k: int) -> int:
    """Elementary steps of one sweep of the two-pair exchanges of ``"local_search"`` in the
    worst case: every pair of new pairs, every choice of two further pairs to drop when the
    page is full, each move evaluated in ``O(k)``.

    Examples
    --------
    >>> local_search_cost(10, 5, 3)     # 50 * 49 / 2 exchanges, (1 + 3) removals, 3 steps
    14700
    """
    pairs = n * m
    kk = max(min(k, n, m), 1)
    return pairs * (pairs - 1) // 2 * (1 + math.comb(kk, 2)) * kk


def _check_table(entries: int) -> None:
    if entries > MAX_TABLE:
        raise ValueError(
            f"method: the exact program needs a table of {entries} entries (more than "
            f"{MAX_TABLE}); use method='local_search' or 'greedy', or a smaller k"
        )


def _ranked(scores, p) -> np.ndarray:
    """Creatives that can add value (positive score, some positive CTR), by score
    descending, ties by lower index."""
    useful = np.flatnonzero((scores > 0) & (p.max(axis=1) > 0))
    return useful[np.lexsort((useful, -scores[useful]))]


def _empty(n):
    return np.full(n, -1, dtype=np.int64), np.empty(0, dtype=np.int64)


def _exact_free(scores, p, model, k):
    """``decay = 1``, free order: the chain DP over creatives by score descending."""
    n, m = p.shape
    rows = _ranked(scores, p)
    if rows.size == 0:
        return _empty(n)
    kk = min(k, rows.size, m)
    _check_table((rows.size + 1) * (_subsets(m, kk) + 1))
    offset, nxt = subset_lattice(m, kk)
    val = scores[rows, None] * p[rows]
    cont = 1.0 - p[rows]
    g = np.empty((rows.size + 1, int(offset[-1]) + 1))
    _kernels.cascade_chain_dp(val, cont, kk, nxt, offset, g)
    cols = np.empty(rows.size, dtype=np.int64)
    _kernels.cascade_chain_path(val, cont, kk, nxt, offset, g, cols)
    shown = cols >= 0
    assignment = np.full(n, -1, dtype=np.int64)
    assignment[rows[shown]] = cols[shown]
    return assignment, cols[shown]


def _exact_text(scores, p, model, k):
    """Text order, any decay: the chain DP over positions in text order."""
    n, m = p.shape
    ads = np.flatnonzero((scores > 0) & (p.max(axis=1) > 0))
    if ads.size == 0:
        return _empty(n)
    kk = min(k, ads.size, m)
    _check_table((m + 1) * (_subsets(ads.size, kk) + 1))
    offset, nxt = subset_lattice(ads.size, kk)
    val = np.ascontiguousarray((scores[ads, None] * p[ads]).T)
    cont = np.ascontiguousarray((model.decay * (1.0 - p[ads])).T)
    g = np.empty((m + 1, int(offset[-1]) + 1))
    _kernels.cascade_chain_dp(val, cont, kk, nxt, offset, g)
    cols = np.empty(m, dtype=np.int64)
    _kernels.cascade_chain_path(val, cont, kk, nxt, offset, g, cols)
    positions = np.flatnonzero(cols >= 0)
    assignment = np.full(n, -1, dtype=np.int64)
    assignment[ads[cols[positions]]] = positions
    return assignment, positions


def _order_key(scores, p, model) -> np.ndarray:
    """Pairs are met by this key descending: the order in which an optimal page shows them."""
    n, m = p.shape
    if model.order == "text":
        return np.broadcast_to(-np.arange(m, dtype=float), (n, m)).copy()
    if model.decay == 1.0:
        return np.broadcast_to(scores[:, None], (n, m)).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        key = scores[:, None] * p / (1.0 - model.decay * (1.0 - p))
    return np.where(np.isfinite(key), key, 0.0)


def _exact_pairs(scores, p, model, k):
    """``decay < 1``, free order: the DP over all pairs in rendering order."""
    n, m = p.shape
    ads = np.flatnonzero((scores > 0) & (p.max(axis=1) > 0))
    if ads.size == 0:
        return _empty(n)
    kk = min(k, ads.size, m)
    val = scores[ads, None] * p[ads]
    cont = model.decay * (1.0 - p[ads])
    key = _order_key(scores, p, model)[ads]
    ii, jj = np.nonzero(val > 0)
    perm = np.lexsort((jj, ii, -key[ii, jj]))
    ii, jj = ii[perm].astype(np.int64), jj[perm].astype(np.int64)
    sizes = [math.comb(ads.size, r) * math.comb(m, r) for r in range(kk + 1)]
    _check_table((ii.size + 1) * sum(sizes))
    off2 = np.concatenate(([0], np.cumsum(sizes))).astype(np.int64)
    off_a, nxt_a = subset_lattice(ads.size, kk)
    off_b, nxt_b = subset_lattice(m, kk)
    g = np.empty((ii.size + 1, int(off2[-1])))
    _kernels.cascade_pair_dp(val, cont, ii, jj, kk, off_a, nxt_a, off_b, nxt_b, off2, g)
    take = np.empty(ii.size, dtype=np.bool_)
    _kernels.cascade_pair_path(val, cont, ii, jj, kk, off_a, nxt_a, off_b, nxt_b, off2, g, take)
    assignment = np.full(n, -1, dtype=np.int64)
    assignment[ads[ii[take]]] = jj[take]
    return assignment, jj[take]


def _solve_exact(scores, p, model, k):
    if model.order == "text":
        return _exact_text(scores, p, model, k)
    if model.decay == 1.0:
        return _exact_free(scores, p, model, k)
    return _exact_pairs(scores, p, model, k)


def _objective(scores, p, model):
    """``val``, ``cont`` and ``key`` matrices of the kernels (SPEC §2.2)."""
    val = scores[:, None] * p  # <= 0 for non-positive scores: never shown
    cont = model.decay * (1.0 - p)
    return val, cont, _order_key(scores, p, model)


def _unpack(n, rows, cols, count):
    assignment = np.full(n, -1, dtype=np.int64)
    assignment[rows[:count]] = cols[:count]
    return assignment, cols[:count].copy()


def _solve_greedy(scores, p, model, k):
    val, cont, key = _objective(scores, p, model)
    rows = np.empty(k, dtype=np.int64)
    cols = np.empty(k, dtype=np.int64)
    count = _kernels.cascade_greedy(val, cont, key, k, rows, cols)
    return _unpack(p.shape[0], rows, cols, count)


def _solve_local_search(scores, p, model, k):
    val, cont, key = _objective(scores, p, model)
    rows = np.empty(k, dtype=np.int64)
    cols = np.empty(k, dtype=np.int64)
    count = _kernels.cascade_greedy(val, cont, key, k, rows, cols)
    n, m = p.shape
    count = _kernels.cascade_local_search(
        val, cont, key, k, LOCAL_SEARCH_SWAP, model.order == "free", rows, cols, count,
        10 * n * m + 100,
    )
    return _unpack(n, rows, cols, count)


def _vcg_exact(bids, p, model, k):
    """VCG in one pass for ``decay = 1``, free order: the DP keeps every layer, and
    without the creative at row ``x`` only the rows above ``x`` are recomputed."""
    if model.order != "free" or model.decay != 1.0:
        return None
    n, m = p.shape
    kk = min(k, n, m)
    _check_table((n + 1) * (_subsets(m, kk) + 1))
    offset, nxt = subset_lattice(m, kk)
    assign, ctr, pay = np.empty(n, dtype=np.int64), np.empty(n), np.empty(n)
    _kernels.cascade_vcg_into(bids, p, kk, nxt, offset, assign, ctr, pay)
    ranked = _ranked(bids, p)
    value = float(np.dot(bids, ctr))
    alloc = Allocation(
        assignment=frozen_array(assign, dtype=np.int64),
        order=frozen_array(assign[ranked[assign[ranked] >= 0]], dtype=np.int64),
        ctr=frozen_array(ctr),
        value=value,
        method="exact",
        exact=True,
        upper_bound=value,
        ratio=1.0,
    )
    return alloc, pay


EXACT = register_solver(Cascade, Solver("exact", _solve_exact, exact=True, vcg=_vcg_exact))
GREEDY = register_solver(Cascade, Solver("greedy", _solve_greedy, exact=False))
LOCAL_SEARCH = register_solver(Cascade, Solver("local_search", _solve_local_search, exact=False))


def choose(scores, p, model, k) -> Solver:
    """What ``method="auto"`` runs for a cascade instance (see the module notes).

    Examples
    --------
    >>> import numpy as np
    >>> from models import Cascade
    >>> choose(None, np.zeros((50, 16)), Cascade(), 16).name
    'exact'
    >>> choose(None, np.zeros((20, 20)), Cascade(), 8).name
    'local_search'
    >>> choose(None, np.zeros((60, 40)), Cascade(), 10).name
    'greedy'
    """
    n, m = p.shape
    steps, table = exact_cost(n, m, k, model)
    if steps <= EXACT_BUDGET and table <= MAX_TABLE:
        return EXACT
    if local_search_cost(n, m, k) <= EXACT_BUDGET:
        return LOCAL_SEARCH
    return GREEDY


register_chooser(Cascade, choose)
