"""Independent oracles: exhaustive search over augmented allocations (SPEC §3.3).

Nothing here shares code with the solvers under test, except the user models' ``ctr``.
"""
from __future__ import annotations

import itertools

import numpy as np


def all_allocations(n, m, k, *, orders=False):
    """Every (assignment, order) with at most ``k`` pairs; every order when ``orders``."""
    for r in range(min(k, n, m) + 1):
        for ads in itertools.combinations(range(n), r):
            for slots in itertools.permutations(range(m), r):
                assignment = np.full(n, -1)
                assignment[list(ads)] = slots
                if orders:
                    for order in itertools.permutations(slots):
                        yield assignment, np.array(order, dtype=int)
                else:
                    yield assignment, np.sort(np.array(slots, dtype=int))


def brute_force_optimum(scores, p, model, k):
    """The best objective value and the CTRs of one optimal allocation."""
    best, best_pi = 0.0, np.zeros(len(scores))
    for assignment, order in all_allocations(*p.shape, k, orders=model.order_sensitive):
        pi = model.ctr(p, assignment, order)
        value = float(np.dot(scores, pi))
        if value > best + 1e-12:
            best, best_pi = value, pi
    return best, best_pi


def brute_force_vcg(bids, p, model, k):
    """Welfare and VCG payments by exhaustive search (Clarke pivot)."""
    bids = np.asarray(bids, dtype=float)
    welfare, pi = brute_force_optimum(bids, p, model, k)
    pay = np.zeros(len(bids))
    for i in range(len(bids)):
        if pi[i] > 0:
            without = bids.copy()
            without[i] = 0.0
            pay[i] = brute_force_optimum(without, p, model, k)[0] - (welfare - bids[i] * pi[i])
    return welfare, pay
