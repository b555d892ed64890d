"""Plain NumPy/SciPy twins of the Numba kernels, written independently of them.

``lsa_matching_k`` reduces the cardinality-constrained matching to one rectangular
assignment problem for ``scipy.optimize.linear_sum_assignment``; ``lsa_optimum`` and
``lsa_vcg`` run Dinkelbach and VCG on top of it. ``bench/`` uses them as the per-auction
Python reference.
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment


def lsa_matching_k(w, k):
    """Maximum-weight matching with at most ``k`` edges, positive edges only.

    Rows are the ``n`` advertisers plus ``m - k`` blockers that must take real columns at
    weight 0 (so at most ``k`` real columns are left); columns are the ``m`` positions plus
    ``n`` "not shown" columns of weight 0 for the advertisers.
    """
    w = np.asarray(w, dtype=float)
    n, m = w.shape
    forbidden = -1e18
    big = np.zeros((n + m - k, m + n))
    big[:n, :m] = np.maximum(w, 0.0)
    big[n:, m:] = forbidden
    rows, cols = linear_sum_assignment(big, maximize=True)
    assign = np.full(n, -1)
    for r, c in zip(rows, cols):
        if r < n and c < m and w[r, c] > 0:
            assign[r] = c
    return assign, float(sum(w[i, assign[i]] for i in range(n) if assign[i] >= 0))


def lsa_optimum(scores, q, k, *, fractional):
    """Dinkelbach (``fractional``, MNL weights ``q``) or one matching (independent, ``q = p``)."""
    scores = np.asarray(scores, dtype=float)
    lam, best = 0.0, np.full(len(scores), -1)
    while True:
        assign, gain = lsa_matching_k((scores - lam)[:, None] * q, k)
        if not fractional:
            return assign, gain
        shown = assign >= 0
        ws = q[shown, assign[shown]]
        ratio = float(np.dot(scores[shown], ws) / (1.0 + ws.sum()))
        if ratio <= lam + 1e-13 * abs(lam):
            return best, lam
        lam, best = ratio, assign


def lsa_vcg(bids, q, k, *, fractional):
    """VCG assignment and payments by Clarke pivots, every solve through ``lsa_optimum``."""
    bids = np.asarray(bids, dtype=float)
    assign, welfare = lsa_optimum(bids, q, k, fractional=fractional)
    shown = assign >= 0
    pi = np.zeros(len(bids))
    pi[shown] = q[shown, assign[shown]]
    if fractional:
        pi /= 1.0 + pi.sum()
    pay = np.zeros(len(bids))
    for i in np.flatnonzero(shown):
        without = bids.copy()
        without[i] = 0.0
        pay[i] = lsa_optimum(without, q, k, fractional=fractional)[1] - (welfare - bids[i] * pi[i])
    return assign, pi, pay
