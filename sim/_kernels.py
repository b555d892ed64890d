"""Numba batch kernels: one call runs a whole block of auctions.

Every kernel loops over the auctions of a block and calls the per-auction kernels of
:mod:`auctions._kernels`, so a batch result is the per-auction result, auction by auction.
Kernels never validate and never draw random numbers: the simulator draws values and CTRs
in Python from the block's seeded generator and passes them in (STYLE: QuantEcon). Each
kernel has a plain NumPy twin, the per-auction public functions of :mod:`auctions` in a
Python loop, held to it by ``tests/test_sim.py``.

Array conventions: ``b`` (or ``a`` for scores) is ``(B, n)``; ``q`` is ``(B, n, m)`` in the
representation of :mod:`auctions._kernels` (``p`` for ``INDEPENDENT``, ``w = p / (1 - p)``
for ``MNL``); outputs ``assign`` (int64), ``pi`` and ``pay`` are ``(B, n)``.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from auctions._kernels import INDEPENDENT, MNL, ctr_into, optimum_ws, vcg_ws, workspace

__all__ = [
    "INDEPENDENT", "MNL", "gsp_batch", "myerson_batch", "optimum_batch", "sample_one_click",
    "vcg_batch", "vcg_independent_batch",
]

# Same tolerance as auctions.payments: a slope change below it is no breakpoint.
_ENV_TOL = 1e-12


@njit(cache=True)
def optimum_batch(code, a, q, k, assign, pi):
    """First-best allocation of every auction: ``assign`` and ``pi`` of the optimum of ``a``."""
    B, n = a.shape
    ws = workspace(n, q.shape[2])
    none = np.full(n, -1, dtype=np.int64)
    for t in range(B):
        optimum_ws(code, a[t], q[t], k, assign[t], ws, none)
        ctr_into(code, q[t], assign[t], pi[t])


@njit(cache=True)
def vcg_batch(code, b, q, k, assign, pi, pay):
    """VCG (:func:`auctions.vcg`) on every auction of the block."""
    B, n = b.shape
    ws = workspace(n, q.shape[2])
    a = np.empty(n)
    tmp = np.empty(n, dtype=np.int64)
    for t in range(B):
        vcg_ws(code, b[t], q[t], k, assign[t], pi[t], pay[t], ws, a, tmp)


@njit(cache=True)
def vcg_independent_batch(code, b, p, q, k, assign, pi, pay):
    """VCG that ignores externalities (:func:`auctions.vcg_independent`), scored under ``code``.

    Allocates and prices under the independent model on ``p``; the per-click prices are then
    charged on the CTRs of the true model ``code`` with matrix ``q``.
    """
    n = b.shape[1]
    pi_ind = np.empty(n)
    ws = workspace(n, p.shape[2])
    tmp = np.empty(n, dtype=np.int64)
    a = np.empty(n)
    for t in range(b.shape[0]):
        vcg_ws(INDEPENDENT, b[t], p[t], k, assign[t], pi_ind, pay[t], ws, a, tmp)
        ctr_into(code, q[t], assign[t], pi[t])
        for i in range(n):
            if pi_ind[i] > 0.0:
                pay[t, i] = pay[t, i] / pi_ind[i] * pi[t, i]
            else:
                pay[t, i] = 0.0


@njit(cache=True)
def _ranked(x, out):
    """Indices of ``x`` by value descending, ties to the lowest index (insertion sort)."""
    n = x.size
    for i in range(n):
        out[i] = i
    for i in range(1, n):
        c = out[i]
        j = i - 1
        while j >= 0 and x[out[j]] < x[c]:
            out[j + 1] = out[j]
            j -= 1
        out[j + 1] = c


@njit(cache=True)
def gsp_batch(code, b, alpha, beta, q, k, assign, pi, pay):
    """GSP on a separable fit (:func:`auctions.gsp_separable`), scored under ``code``.

    ``alpha`` ``(B, n)`` and ``beta`` ``(B, m)`` are the rank-one fits of ``p``, made in
    NumPy (a stacked SVD) by the caller.
    """
    n = b.shape[1]
    m = beta.shape[1]
    score = np.empty(n)
    rank = np.empty(n, dtype=np.int64)
    slots = np.empty(m, dtype=np.int64)
    price = np.empty(n)
    for t in range(b.shape[0]):
        for i in range(n):
            score[i] = b[t, i] * alpha[t, i]
            assign[t, i] = -1
            price[i] = 0.0
        _ranked(score, rank)
        _ranked(beta[t], slots)
        npos = 0
        for r in range(n):
            if score[rank[r]] > 0.0:
                npos += 1
        kk = min(k, m)
        nwin = min(npos, kk)
        for r in range(nwin):
            i = rank[r]
            assign[t, i] = slots[r]
            if r + 1 < npos:
                price[i] = score[rank[r + 1]] / alpha[t, i]
        ctr_into(code, q[t], assign[t], pi[t])
        for i in range(n):
            pay[t, i] = price[i] * pi[t, i]


@njit(cache=True)
def _solve_at(code, a, q, k, i, s, tmp, pit, ws, none):
    a[i] = s
    v = optimum_ws(code, a, q, k, tmp, ws, none)
    ctr_into(code, q, tmp, pit)
    return v, pit[i]


@njit(cache=True, inline="always")
def _emit_piece(out, rows, pos, start, end, slope, t, i):
    """Write piece ``(start, end, slope)`` of auction ``t``, advertiser ``i`` at row ``pos``;
    returns the next row, or -1 when ``out`` is full."""
    if pos >= out.shape[0]:
        return -1
    out[pos, 0] = start
    out[pos, 1] = end
    out[pos, 2] = slope
    rows[pos, 0] = t
    rows[pos, 1] = i
    return pos + 1


@njit(cache=True)
def _envelope(code, a, q, k, i, hi, tmp, pit, stack, t, rows, out, pos, ws, none):
    """Eisner-Severance pieces of ``V(s)`` on ``[0, hi]`` for advertiser ``i``.

    The same recursion as :func:`auctions.payments.envelope` (an explicit stack, left piece
    first, so pieces come out in increasing order). Writes the pieces with a positive slope
    as rows ``(start, end, slope)`` of ``out`` and ``(t, i)`` into ``rows``, from ``pos``;
    returns the new ``pos``, or ``-1`` when ``out`` is full.
    """
    ai = a[i]
    v0, s0 = _solve_at(code, a, q, k, i, 0.0, tmp, pit, ws, none)
    vh, sh = _solve_at(code, a, q, k, i, hi, tmp, pit, ws, none)
    top = 0
    stack[0, 0] = 0.0
    stack[0, 1] = v0
    stack[0, 2] = s0
    stack[0, 3] = hi
    stack[0, 4] = vh - sh * hi
    stack[0, 5] = sh
    top = 1
    while top > 0:
        top -= 1
        x1 = stack[top, 0]
        c1 = stack[top, 1]
        s1 = stack[top, 2]
        x2 = stack[top, 3]
        c2 = stack[top, 4]
        s2 = stack[top, 5]
        emit1 = False
        emit2 = False
        xm = x2
        if s2 - s1 <= _ENV_TOL * max(abs(s1), abs(s2), 1e-300) or x2 <= x1:
            emit1 = True
        else:
            x = min(max((c2 - c1) / (s1 - s2), x1), x2)
            v, s = _solve_at(code, a, q, k, i, x, tmp, pit, ws, none)
            line = c1 + s1 * x
            if v <= line + _ENV_TOL * max(abs(v), abs(line), 1e-300):
                emit1 = True
                emit2 = True
                xm = x
            else:
                if top + 2 > stack.shape[0]:
                    a[i] = ai
                    return -1
                c = v - s * x
                # right half below left half: the left one is popped first
                stack[top, 0] = x
                stack[top, 1] = c
                stack[top, 2] = s
                stack[top, 3] = x2
                stack[top, 4] = c2
                stack[top, 5] = s2
                stack[top + 1, 0] = x1
                stack[top + 1, 1] = c1
                stack[top + 1, 2] = s1
                stack[top + 1, 3] = x
                stack[top + 1, 4] = c
                stack[top + 1, 5] = s
                top += 2
        if emit1 and xm > x1 and s1 > 0.0:
            pos = _emit_piece(out, rows, pos, x1, xm, s1, t, i)
        if emit2 and x2 > xm and s2 > 0.0 and pos >= 0:
            pos = _emit_piece(out, rows, pos, xm, x2, s2, t, i)
        if pos < 0:
            a[i] = ai
            return -1
    a[i] = ai
    return pos


@njit(cache=True)
def myerson_batch(code, a, q, k, assign, pi, rows, pieces):
    """Myerson's allocation by virtual values ``a`` and the score-space payment pieces.

    Fills ``assign`` and ``pi``; for every winner with a positive score writes the pieces of
    its allocation curve ``s -> pi_i(s, a_{-i})`` on ``[0, a_i]`` with positive slope, rows
    ``(start, end, slope)`` of ``pieces`` tagged ``(auction, advertiser)`` in ``rows``, in
    auction, advertiser, increasing-score order. The caller maps the scores back to bids
    through the inverse virtual values and integrates (:func:`sim.batch.myerson`).

    Returns the number of rows written, or ``-1`` when ``pieces`` is too small.
    """
    B, n = a.shape
    m = q.shape[2]
    tmp = np.empty(n, dtype=np.int64)
    pit = np.empty(n)
    stack = np.empty((4 * (n * m + 8), 6))
    ws = workspace(n, m)
    none = np.full(n, -1, dtype=np.int64)
    pos = 0
    for t in range(B):
        optimum_ws(code, a[t], q[t], k, assign[t], ws, none)
        ctr_into(code, q[t], assign[t], pi[t])
        for i in range(n):
            if assign[t, i] >= 0 and pi[t, i] > 0.0 and a[t, i] > 0.0:
                pos = _envelope(code, a[t], q[t], k, i, a[t, i], tmp, pit, stack, t, rows, pieces, pos, ws, none)
                if pos < 0:
                    return -1
    return pos


@njit(cache=True)
def sample_one_click(pi, u, clicks):
    """At most one click per auction (MNL, cascade): advertiser ``i`` if ``u`` falls in its
    slice of the cumulative ``pi`` (advertiser order)."""
    for t in range(pi.shape[0]):
        c = 0.0
        for i in range(pi.shape[1]):
            clicks[t, i] = 0.0
        for i in range(pi.shape[1]):
            c += pi[t, i]
            if u[t] < c:
                if pi[t, i] > 0.0:
                    clicks[t, i] = 1.0
                break
