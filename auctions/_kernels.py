"""Numba kernels for winner determination and VCG payments.

Kernels take arrays and scalars only: they never validate, allocate outputs the caller
could own, or draw random numbers. Each has a plain NumPy/SciPy twin in the tests.

User models are passed as an integer code (``INDEPENDENT``, ``MNL``) with the matrix ``q``
the model needs: the standalone CTRs ``p`` for the independent model, the attraction
weights ``w`` for MNL.
"""
from __future__ import annotations

import numpy as np
from numba import njit

INDEPENDENT = 0
MNL = 1

# Relative tolerance below which an augmenting path or a Dinkelbach step "gains nothing".
# Without it, rounding can make a zero-gain swap look profitable and the allocation would
# depend on the last bit of the input.
_GAIN_RTOL = 1e-13


@njit(cache=True)
def max_weight_matching_k(w, k, row_match, col_match):
    """Maximum-weight bipartite matching with at most ``k`` edges, positive edges only.

    Successive shortest augmenting paths (min-cost flow, one unit per augmentation) with
    Johnson potentials and a dense Dijkstra. After ``t`` augmentations the matching is a
    maximum-weight matching with ``t`` edges and the optimum is concave in ``t``, so stopping
    after ``k`` augmentations, or at the first one that gains nothing, is exact.

    Fills ``row_match`` (n,) and ``col_match`` (m,) with partners or -1; returns the weight.
    Ties are broken deterministically by scanning rows, then columns, in index order.
    """
    n, m = w.shape
    row_match[:] = -1
    col_match[:] = -1
    wmax = 0.0
    for i in range(n):
        for j in range(m):
            if w[i, j] > wmax:
                wmax = w[i, j]
    if wmax <= 0.0 or k <= 0:
        return 0.0
    tol = _GAIN_RTOL * wmax

    # Potentials: distances from the source in the previous round (rows start at 0, a
    # column at its cheapest in-edge, the sink at the cheapest column), so every reduced
    # cost is non-negative and Dijkstra applies.
    hr = np.zeros(n)
    hc = np.zeros(m)
    for j in range(m):
        for i in range(n):
            if w[i, j] > 0.0 and -w[i, j] < hc[j]:
                hc[j] = -w[i, j]
    ht = 0.0
    for j in range(m):
        if hc[j] < ht:
            ht = hc[j]

    dr = np.empty(n)
    dc = np.empty(m)
    done_r = np.empty(n, dtype=np.bool_)
    done_c = np.empty(m, dtype=np.bool_)
    prev_c = np.empty(m, dtype=np.int64)
    for _ in range(k):
        for i in range(n):
            dr[i] = -hr[i] if row_match[i] < 0 else np.inf
            done_r[i] = False
        for j in range(m):
            dc[j] = np.inf
            done_c[j] = False
        dt = np.inf
        best_c = -1
        while True:
            mn = np.inf
            kind = -1
            idx = -1
            for i in range(n):
                if not done_r[i] and dr[i] < mn:
                    mn = dr[i]
                    kind = 0
                    idx = i
            for j in range(m):
                if not done_c[j] and dc[j] < mn:
                    mn = dc[j]
                    kind = 1
                    idx = j
            if kind < 0 or dt <= mn:
                break
            if kind == 0:
                i = idx
                done_r[i] = True
                for j in range(m):
                    if not done_c[j] and w[i, j] > 0.0 and row_match[i] != j:
                        nd = mn - w[i, j] + hr[i] - hc[j]
                        if nd < dc[j]:
                            dc[j] = nd
                            prev_c[j] = i
            else:
                j = idx
                done_c[j] = True
                i = col_match[j]
                if i < 0:
                    nd = mn + hc[j] - ht
                    if nd < dt:
                        dt = nd
                        best_c = j
                elif not done_r[i]:
                    nd = mn + w[i, j] + hc[j] - hr[i]
                    if nd < dr[i]:
                        dr[i] = nd
        if best_c < 0 or dt + ht >= -tol:
            break
        for i in range(n):
            hr[i] += dr[i] if done_r[i] else dt
        for j in range(m):
            hc[j] += dc[j] if done_c[j] else dt
        ht += dt
        j = best_c
        while True:
            i = prev_c[j]
            nxt = row_match[i]
            row_match[i] = j
            col_match[j] = i
            if nxt < 0:
                break
            j = nxt
    total = 0.0
    for i in range(n):
        if row_match[i] >= 0:
            total += w[i, row_match[i]]
    return total


@njit(cache=True)
def ctr_into(code, q, assign, pi):
    """Fill ``pi`` with the CTRs of ``assign`` under model ``code`` (see module doc)."""
    n = assign.size
    denom = 1.0
    for i in range(n):
        pi[i] = 0.0
        if assign[i] >= 0:
            pi[i] = q[i, assign[i]]
            denom += pi[i]
    if code == MNL:
        for i in range(n):
            pi[i] /= denom


@njit(cache=True)
def optimum(code, a, q, k, assign):
    """Maximise ``sum_i a[i] * pi_i`` over matchings with at most ``k`` pairs.

    Writes the optimal ``assign`` and returns the optimal value. Independent model: one
    matching with weights ``a[i] * p[i, j]``. MNL: Dinkelbach's parametric method (SPEC §3.2),
    each step a matching with weights ``(a[i] - lam) * w[i, j]``.
    """
    n, m = q.shape
    s = np.empty((n, m))
    col = np.empty(m, dtype=np.int64)
    lam = 0.0
    assign[:] = -1
    cur = np.empty(n, dtype=np.int64)
    for _ in range(4 * (n + 2)):
        for i in range(n):
            for j in range(m):
                s[i, j] = (a[i] - lam) * q[i, j]
        gain = max_weight_matching_k(s, k, cur, col)
        if code == INDEPENDENT:
            assign[:] = cur
            return gain
        num = 0.0
        den = 1.0
        for i in range(n):
            if cur[i] >= 0:
                num += a[i] * q[i, cur[i]]
                den += q[i, cur[i]]
        ratio = num / den
        if ratio <= lam + _GAIN_RTOL * abs(lam):
            break
        lam = ratio
        assign[:] = cur
    return lam


@njit(cache=True)
def vcg_into(code, b, q, k, assign, pi, pay):
    """VCG allocation, CTRs and payments; returns the welfare ``sum b_i pi_i``.

    ``pay[i] = W*_{-i} - (W* - b_i pi_i)``, re-solving only for shown advertisers: removing a
    loser changes nothing. Removing ``i`` is done by zeroing its score (never shown).
    """
    n = b.size
    welfare = optimum(code, b, q, k, assign)
    ctr_into(code, q, assign, pi)
    a = b.copy()
    tmp = np.empty(n, dtype=np.int64)
    for i in range(n):
        pay[i] = 0.0
        if assign[i] >= 0:
            a[i] = 0.0
            w_minus = optimum(code, a, q, k, tmp)
            a[i] = b[i]
            t = w_minus - (welfare - b[i] * pi[i])
            # Rounding can leave a payment of -1e-17 where the truth is zero.
            pay[i] = 0.0 if abs(t) <= _GAIN_RTOL * welfare else t
    return welfare
