"""Baselines a platform might run instead, scored under the *true* user model (SPEC §4)."""
from __future__ import annotations

import numpy as np

from models import Independent

from ._validation import check_instance
from .allocation import Solver, solve_with
from .outcome import Outcome, make_outcome
from .vcg import vcg


def rank_one_fit(p) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares separable fit ``p ~ alpha_i * beta_j`` (the leading singular pair).

    By Perron-Frobenius the leading singular vectors of a non-negative matrix can be taken
    non-negative.

    Examples
    --------
    >>> import numpy as np
    >>> alpha, beta = rank_one_fit(np.outer([0.5, 0.25], [0.4, 0.2]))
    >>> np.allclose(np.outer(alpha, beta), np.outer([0.5, 0.25], [0.4, 0.2]))
    True
    """
    u, s, vt = np.linalg.svd(np.asarray(p, dtype=float), full_matrices=False)
    root = np.sqrt(s[0])
    return np.abs(u[:, 0]) * root, np.abs(vt[0]) * root


def _ranked(values) -> np.ndarray:
    """Indices by value descending, ties to the lowest index."""
    return np.lexsort((np.arange(len(values)), -np.asarray(values)))


def gsp_separable(bids, p, *, model, k=None) -> Outcome:
    """Generalized second price on a separable fit of ``p``: a classic position auction.

    The platform fits ``p ~ alpha_i beta_j``, ranks advertisers by ``b_i alpha_i``, gives the
    ``r``-th ranked the ``r``-th best position by ``beta`` (rendered in rank order), and charges
    per click the bid that would keep the rank, ``b_{r+1} alpha_{r+1} / alpha_r``. Always
    shows ``k`` creatives with positive bids; not truthful.

    Examples
    --------
    >>> import numpy as np
    >>> from models import Independent
    >>> p = np.outer([0.5, 0.4, 0.2], [0.3, 0.1])
    >>> out = gsp_separable([1.0, 2.0, 1.5], p, model=Independent(), k=2)
    >>> out.assignment, out.price_per_click.round(4)
    (array([ 1,  0, -1]), array([0.6 , 1.25, 0.  ]))
    """
    bids, p, model, k = check_instance(bids, p, model, k)
    alpha, beta = rank_one_fit(p)
    score = bids * alpha
    ranked = [i for i in _ranked(score) if score[i] > 0]
    slots = _ranked(beta)[:k]
    winners = ranked[: len(slots)]
    assign = np.full(bids.size, -1, dtype=np.int64)
    assign[winners] = slots[: len(winners)]
    price = np.zeros(bids.size)
    for r, i in enumerate(winners):
        if r + 1 < len(ranked):
            price[i] = score[ranked[r + 1]] / alpha[i]
    alloc = solve_with(_fixed(assign, slots[: len(winners)]), bids, p, model, k)
    return make_outcome("gsp_separable", alloc, bids, bids, price * alloc.ctr)


def vcg_independent(bids, p, *, model, k=None) -> Outcome:
    """VCG that ignores externalities: allocated and priced under the independent model.

    The per-click prices of VCG under :class:`models.Independent` are charged per click
    under the true model. Shows ``k`` creatives whenever ``k`` bids are positive; rendered
    by bid, highest first. Truthful only when the true model is the independent one.

    Examples
    --------
    >>> import numpy as np
    >>> from models import MNL
    >>> out = vcg_independent([1.0, 0.5], np.array([[0.3, 0.2], [0.3, 0.2]]), model=MNL(), k=2)
    >>> out.assignment, out.ctr.round(4)
    (array([0, 1]), array([0.2553, 0.1489]))
    """
    bids, p, model, k = check_instance(bids, p, model, k)
    naive = vcg(bids, p, model=Independent(), k=k)
    assign = np.asarray(naive.assignment)
    shown = [i for i in _ranked(bids) if assign[i] >= 0]
    alloc = solve_with(_fixed(assign, assign[shown]), bids, p, model, k)
    return make_outcome("vcg_independent", alloc, bids, bids, naive.price_per_click * alloc.ctr)


def _fixed(assignment, order) -> Solver:
    """A 'solver' that returns an allocation decided elsewhere, to package it uniformly."""
    return Solver("fixed", lambda scores, p, model, k: (assignment, np.asarray(order)), exact=False)
