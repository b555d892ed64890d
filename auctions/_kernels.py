"""Numba kernels for winner determination and VCG payments.

Kernels take arrays and scalars only: they never validate, allocate outputs the caller
could own, or draw random numbers. Each has a plain NumPy/SciPy twin in the tests.

User models are passed as an integer code (``INDEPENDENT``, ``MNL``) with the matrix ``q``
the model needs: the standalone CTRs ``p`` for the independent model, the attraction
weights ``w`` for MNL.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

INDEPENDENT = 0
MNL = 1

# Relative tolerance below which an augmenting path or a Dinkelbach step "gains nothing".
# Without it, rounding can make a zero-gain swap look profitable and the allocation would
# depend on the last bit of the input.
_GAIN_RTOL = 1e-13


@njit(cache=True)
def workspace(n, m):
    """Scratch arrays for :func:`optimum_ws`, allocated once per auction (or per block)."""
    v = m + 2  # nodes of the residual graph: matched columns, then the source and the sink
    return (
        np.empty((n, m)),  # matching weights of the active rows
        np.empty(n, dtype=np.int64),  # candidate assignment of the active rows
        np.empty(m, dtype=np.int64),  # column partners
        np.empty(n),  # row potentials
        np.empty(m),  # column potentials
        np.empty(n),  # row distances
        np.empty(m),  # column distances
        np.empty(m, dtype=np.bool_),  # columns settled
        np.empty(m, dtype=np.int64),  # predecessor row of each column
        np.empty(n, dtype=np.int64),  # advertiser behind each active row
        np.empty((2, v, v)),  # residual arc costs, and their shortest-path closure
        np.empty((2, v)),  # Bellman-Ford distances; best free-row weight per column
        np.empty((7, v), dtype=np.int64),  # see _residual_cycle
    )


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
    ws = workspace(n, m)
    return _matching(w, k, row_match, col_match, ws[3], ws[4], ws[5], ws[6], ws[7], ws[8])


# No reference counting here either: see the note above optimum_ws.
@njit(cache=True, _nrt=False)
def _matching(w, k, row_match, col_match, hr, hc, dr, dc, done_c, prev_c):
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
    hr[:] = 0.0
    hc[:] = 0.0
    for j in range(m):
        for i in range(n):
            if w[i, j] > 0.0 and -w[i, j] < hc[j]:
                hc[j] = -w[i, j]
    ht = 0.0
    for j in range(m):
        if hc[j] < ht:
            ht = hc[j]

    for _ in range(k):
        # Dijkstra over the columns only: a matched row is reached through its column
        # alone, and every free row sits at reduced distance 0, the least possible, so they
        # are settled first and all at once. Each pop scans m columns, not n + m nodes.
        for j in range(m):
            dc[j] = np.inf
            done_c[j] = False
        for i in range(n):
            dr[i] = np.inf
            if row_match[i] < 0:
                dr[i] = 0.0
                for j in range(m):
                    if w[i, j] > 0.0:
                        nd = -w[i, j] + hr[i] - hc[j]
                        if nd < dc[j]:
                            dc[j] = nd
                            prev_c[j] = i
        dt = np.inf
        best_c = -1
        while True:
            mn = np.inf
            j = -1
            for jj in range(m):
                if not done_c[jj] and dc[jj] < mn:
                    mn = dc[jj]
                    j = jj
            if j < 0 or dt <= mn:
                break
            done_c[j] = True
            i = col_match[j]
            if i < 0:
                nd = mn + hc[j] - ht
                if nd < dt:
                    dt = nd
                    best_c = j
                continue
            di = mn + w[i, j] + hc[j] - hr[i]
            dr[i] = di
            for jj in range(m):
                if not done_c[jj] and w[i, jj] > 0.0 and jj != j:
                    nd = di - w[i, jj] + hr[i] - hc[jj]
                    if nd < dc[jj]:
                        dc[jj] = nd
                        prev_c[jj] = i
        if best_c < 0 or dt + ht >= -tol:
            break
        # h += min(d, dt) keeps every reduced cost non-negative after an early stop.
        for i in range(n):
            hr[i] += min(dr[i], dt)
        for j in range(m):
            hc[j] += min(dc[j], dt)
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


@njit(cache=True, inline="always")
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
    hint = np.full(n, -1, dtype=np.int64)
    return optimum_ws(code, a, q, k, assign, workspace(n, m), hint)


@njit(cache=True, inline="always")
def _mnl_ratio(a, w, assign):
    num = 0.0
    den = 1.0
    for i in range(assign.size):
        if assign[i] >= 0 and a[i] > 0.0:
            num += a[i] * w[i, assign[i]]
            den += w[i, assign[i]]
    return num / den


@njit(cache=True, inline="always")
def _free_above(a, assign, lam, free):
    """Write into ``free`` the unassigned rows with ``a[i] > lam`` (the only ones that can
    gain at ratio ``lam``), without a branch per row; returns how many."""
    r = 0
    for i in range(a.size):
        free[r] = i
        r += (assign[i] < 0) & (a[i] > lam)
    return r


@njit(cache=True, inline="always")
def _mnl_greedy_fill(a, q, k, assign, used, free):
    """Add, one at a time, the creative and free position that raise the MNL ratio most;
    returns the final ratio. From an empty ``assign`` the first pick is the best single
    creative. ``used`` (m,) and ``free`` (n,) are scratch."""
    n, m = q.shape
    num = 0.0
    den = 1.0
    count = 0
    used[:] = 0
    for i in range(n):
        if assign[i] >= 0 and a[i] > 0.0:
            num += a[i] * q[i, assign[i]]
            den += q[i, assign[i]]
            used[assign[i]] = 1
            count += 1
    while count < k:
        # The best ratio (bn / bd) over the free pairs, kept with selects rather than
        # branches (which pair wins is a coin flip to the branch predictor); ratios are
        # compared cross-multiplied, as every denominator is positive.
        bn = num
        bd = den
        bi = -1
        bj = -1
        r = _free_above(a, assign, num / den, free)  # only a_i > ratio can raise it
        for u in range(r):
            i = free[u]
            for j in range(m):
                nn = num + a[i] * q[i, j]
                dd = den + q[i, j]
                better = (used[j] == 0) & (nn * bd > bn * dd)
                bn = nn if better else bn
                bd = dd if better else bd
                bi = i if better else bi
                bj = j if better else bj
        if bi < 0:
            break
        assign[bi] = bj
        used[bj] = 1
        num = bn
        den = bd
        count += 1
    return num / den


# No reference counting here either: see the note above optimum_ws.
@njit(cache=True, _nrt=False)
def _residual_cycle(a, q, k, lam, assign, cost, fv, iv, free):
    """Certify ``assign`` as a maximum-weight matching (at most ``k`` pairs) for the weights
    ``c[i, j] = (a[i] - lam) * q[i, j]``, or improve it.

    Returns 0 when it is optimal, 1 when a better matching was written into ``assign``, and
    2 when rounding leaves the question open (the caller then solves a matching). ``cost``,
    ``fv``, ``iv`` and ``free`` are scratch from :func:`workspace` (items 10, 11, 12, 9).

    A matching is optimal exactly when its residual graph (min-cost flow: source -> row ->
    column -> sink, at most ``k`` units) has no negative cycle. Rows have one way in or out,
    so the graph shrinks to the matched columns plus the source S and the sink T, with arcs
    S->e (the best free row takes matched column e), S->T (the best free row and column are
    added), e->f (e's row moves to matched column f), e->T (it moves to its best free
    column), e->S (it is dropped), T->e, T->S and S->T (cost 0; the last two only while
    fewer than ``k`` / more than 0 pairs are matched). A Floyd-Warshall closure over the
    matched columns decides, and Bellman-Ford finds a cycle when there is one.
    """
    n, m = q.shape
    D, closure = cost[0], cost[1]
    dist, fmax = fv[0], fv[1]
    pred, mcol, mrow, slot, frow, mvcol, fbest = iv[0], iv[1], iv[2], iv[3], iv[4], iv[5], iv[6]
    t = 0
    for j in range(m):
        slot[j] = -1
    for i in range(n):
        if assign[i] >= 0:
            mcol[t] = assign[i]
            mrow[t] = i
            slot[assign[i]] = t
            t += 1
    V = t + 2
    S = t
    T = t + 1
    r = _free_above(a, assign, lam, free)
    for j in range(m):  # the best free row for every column
        best = 0.0
        bi = -1
        for u in range(r):
            c = (a[free[u]] - lam) * q[free[u], j]
            better = c > best  # selects, not branches: a coin flip
            best = c if better else best
            bi = free[u] if better else bi
        fmax[j] = best
        fbest[j] = bi
    cmax = 0.0
    aug = np.inf
    aug_i = -1
    aug_j = -1
    for j in range(m):
        cmax = max(cmax, fmax[j])
        if slot[j] < 0 and fbest[j] >= 0 and -fmax[j] < aug:
            aug = -fmax[j]
            aug_i = fbest[j]
            aug_j = j
    for e in range(t):
        i = mrow[e]
        ai = a[i] - lam
        ce = ai * q[i, mcol[e]]
        cmax = max(cmax, abs(ce))
        frow[e] = fbest[mcol[e]]
        D[S, e] = -fmax[mcol[e]] if frow[e] >= 0 else np.inf
        D[T, e] = 0.0
        D[e, S] = ce
        mv = np.inf
        mvcol[e] = -1
        for f in range(t):
            D[e, f] = ce - ai * q[i, mcol[f]] if ai > 0.0 else np.inf
        if ai > 0.0:
            for j in range(m):
                if slot[j] < 0 and ce - ai * q[i, j] < mv:
                    mv = ce - ai * q[i, j]
                    mvcol[e] = j
        D[e, e] = 0.0
        D[e, T] = mv
    D[S, S] = 0.0
    D[T, T] = 0.0
    D[S, T] = 0.0 if t > 0 else np.inf
    if aug < D[S, T]:
        D[S, T] = aug
    else:
        aug_i = -1  # S->T is the zero-cost arc, not an addition
    D[T, S] = 0.0 if t < k else np.inf
    tol = _GAIN_RTOL * cmax

    # Decide on the matched columns alone: fold every path through S and T (at most one
    # visit each) into a direct arc, and every cycle through them into the diagonal. The
    # one cycle left out, S->T->S, adds the best free pair while there is room.
    if t < k and D[S, T] + D[T, S] < -tol:
        negative = True
    else:
        for e in range(t):
            via = min(D[e, T], D[e, S] + D[S, T])  # ends at T, which reaches every e at 0
            for f in range(t):
                r = min(via, D[e, S] + D[S, f], D[e, T] + D[T, S] + D[S, f])
                closure[e, f] = r if e == f else min(r, D[e, f])
        for w in range(t):
            for u in range(t):
                duw = closure[u, w]
                for v in range(t):
                    closure[u, v] = min(closure[u, v], duw + closure[w, v])
        negative = False
        for u in range(t):
            negative |= closure[u, u] < -tol
    if not negative:
        return 0

    # Bellman-Ford from a virtual source: a relaxation in round V means a negative cycle
    # in the predecessor graph; walk V steps back to land on it.
    for v in range(V):
        dist[v] = 0.0
        pred[v] = -1
    last = -1
    for _ in range(V):
        last = -1
        for u in range(V):
            for v in range(V):
                if dist[u] + D[u, v] < dist[v] - tol:
                    dist[v] = dist[u] + D[u, v]
                    pred[v] = u
                    last = v
        if last < 0:
            return 2
    x = last
    for _ in range(V):
        x = pred[x]
    total = 0.0
    v = x
    while True:
        total += D[pred[v], v]
        v = pred[v]
        if v == x:
            break
    if not total < -tol:
        return 2
    v = x
    while True:  # each row appears once on a simple cycle, so the order does not matter
        u = pred[v]
        if u == S:
            if v < t:
                assign[frow[v]] = mcol[v]
            elif aug_i >= 0:
                assign[aug_i] = aug_j
        elif u < t:
            if v < t:
                assign[mrow[u]] = mcol[v]
            elif v == T:
                assign[mrow[u]] = mvcol[u]
            else:
                assign[mrow[u]] = -1
        v = u
        if v == x:
            break
    return 1


# The solvers below only read and write arrays their callers own, so they are compiled
# without Numba's reference counting (``_nrt=False``): the counts it keeps on every array
# view cost about a quarter of the MNL VCG time. ``_optimum`` is inlined into the VCG loop,
# at one call site, because its 13 scratch arrays make an ordinary call expensive; the
# certificate and the matching stay ordinary calls, which keeps a cold compile of
# ``reproduce --quick`` well under its two minutes (inlining everything took 190 s).
@njit(cache=True, _nrt=False)
def optimum_ws(code, a, q, k, assign, ws, hint):
    """:func:`optimum` with caller-owned scratch arrays from :func:`workspace`.

    MNL is Dinkelbach's method (SPEC §3.2) in primal form. ``hint`` (a feasible assignment,
    or all -1) is filled greedily, creative by creative, while that raises the ratio ``lam``;
    this is usually the optimum already. Each step then needs a matching better than the
    current one for the weights ``(a_i - lam) w_ij``, which a negative residual cycle gives
    (:func:`_residual_cycle`); when there is none, the current assignment is optimal.
    Should that not settle within a few cycles, plain Dinkelbach steps finish the job, each a
    matching on the rows with ``a_i > lam`` (only those can gain from being shown).
    """
    return _optimum(code, a, q, k, assign, ws, hint)


@njit(cache=True, _nrt=False, inline="always")
def _optimum(code, a, q, k, assign, ws, hint):
    n, m = q.shape
    s, cur, col, rows = ws[0], ws[1], ws[2], ws[9]
    lam = 0.0
    if code == MNL:
        for i in range(n):
            assign[i] = hint[i] if a[i] > 0.0 else -1
        lam = _mnl_greedy_fill(a, q, k, assign, col, rows)
        for _ in range(2 * k + 2):
            status = _residual_cycle(a, q, k, lam, assign, ws[10], ws[11], ws[12], rows)
            if status == 0:
                return lam
            improved = _mnl_ratio(a, q, assign)
            if status == 2 or improved <= lam:
                lam = improved
                break
            lam = improved
    else:
        assign[:] = -1
    for _ in range(4 * (n + 2)):
        r = 0
        for i in range(n):
            if a[i] > lam:
                rows[r] = i
                for j in range(m):
                    s[r, j] = (a[i] - lam) * q[i, j]
                r += 1
        gain = 0.0
        if r > 0:
            gain = _matching(s[:r], k, cur[:r], col, ws[3][:r], ws[4], ws[5][:r], ws[6], ws[7], ws[8])
        if code == INDEPENDENT:
            for t in range(r):
                if cur[t] >= 0:
                    assign[rows[t]] = cur[t]
            return gain
        num = 0.0
        den = 1.0
        for t in range(r):
            if cur[t] >= 0:
                num += a[rows[t]] * q[rows[t], cur[t]]
                den += q[rows[t], cur[t]]
        ratio = num / den
        if ratio <= lam + _GAIN_RTOL * abs(lam):
            break
        lam = ratio
        assign[:] = -1
        for t in range(r):
            if cur[t] >= 0:
                assign[rows[t]] = cur[t]
    return lam


@njit(cache=True)
def vcg_into(code, b, q, k, assign, pi, pay):
    """VCG allocation, CTRs and payments; returns the welfare ``sum b_i pi_i``.

    ``pay[i] = W*_{-i} - (W* - b_i pi_i)``, re-solving only for shown advertisers: removing a
    loser changes nothing. Removing ``i`` is done by zeroing its score (never shown).
    """
    n, m = q.shape
    return vcg_ws(code, b, q, k, assign, pi, pay, workspace(n, m), np.empty(n), np.empty(n, dtype=np.int64))


@njit(cache=True, _nrt=False)
def vcg_ws(code, b, q, k, assign, pi, pay, ws, a, tmp):
    """:func:`vcg_into` with caller-owned scratch: ``ws`` from :func:`workspace`, ``a`` (n,)
    float and ``tmp`` (n,) int."""
    n = b.size
    for i in range(n):
        a[i] = b[i]
        tmp[i] = -1
        pay[i] = 0.0
    welfare = 0.0
    # First the optimum, into ``assign``; then, for each shown advertiser, the optimum without
    # it (its score zeroed) into ``tmp``, started from the optimum less it. Removing a loser
    # changes nothing. One call site, so that the inlined solver is compiled once.
    for s in range(-1, n):
        if s >= 0 and assign[s] < 0:
            continue
        out, hint = (assign, tmp) if s < 0 else (tmp, assign)
        if s >= 0:
            a[s] = 0.0
        value = _optimum(code, a, q, k, out, ws, hint)
        if s < 0:
            welfare = value
            ctr_into(code, q, assign, pi)
            continue
        a[s] = b[s]
        t = value - (welfare - b[s] * pi[s])
        # Rounding can leave a payment of -1e-17 where the truth is zero.
        pay[s] = 0.0 if abs(t) <= _GAIN_RTOL * welfare else t
    return welfare


@njit(cache=True)
def _binomials(top, kmax):
    """``C[x, y] = binomial(x, y)`` for ``0 <= x <= top``, ``0 <= y <= kmax``."""
    c = np.zeros((top + 1, kmax + 1), dtype=np.int64)
    for x in range(top + 1):
        c[x, 0] = 1
        for y in range(1, min(x, kmax) + 1):
            c[x, y] = c[x - 1, y - 1] + (c[x - 1, y] if y <= x - 1 else 0)
    return c


@njit(cache=True)
def subset_lattice_into(ncol, k, offset, nxt):
    """Fill ``offset`` (k + 2,) and ``nxt`` (offset[k], ncol) for subsets of size <= k.

    The subsets of size ``r`` are numbered ``offset[r] + sum_t C(c_t, t + 1)`` for their
    elements ``c_0 < ... < c_{r-1}`` (colex rank); ``nxt[s, c] = offset[k + 1]`` (dead)
    when ``c`` is already in ``s``.
    """
    binom = _binomials(ncol, k + 1)
    offset[0] = 0
    for r in range(k + 1):
        offset[r + 1] = offset[r] + binom[ncol, r]
    dead = offset[k + 1]
    comb = np.empty(k + 1, dtype=np.int64)
    for r in range(k):
        for t in range(r):
            comb[t] = t
        for idx in range(binom[ncol, r]):
            s = offset[r] + idx
            t = 0
            for c in range(ncol):
                if t < r and comb[t] == c:  # c is in the subset
                    nxt[s, c] = dead
                    t += 1
                    continue
                # c would be element number t of the larger subset
                rank = binom[c, t + 1]
                for u in range(t):
                    rank += binom[comb[u], u + 1]
                for u in range(t, r):
                    rank += binom[comb[u], u + 2]
                nxt[s, c] = offset[r + 1] + rank
            if r > 0:  # next subset in colex order
                t = 0
                while t < r - 1 and comb[t] + 1 == comb[t + 1]:
                    t += 1
                comb[t] += 1
                for u in range(t):
                    comb[u] = u


@njit(cache=True)
def _chain_layer(val, cont, r, before, k, nxt, offset, gnext, gout):
    """One row of the chain DP: ``gout[s]``, the best value of rows ``r..`` given used ``s``.

    Only subsets of size ``<= min(before, k)`` can be reached with ``before`` rows above.
    Branch-free: a pair with ``val <= 0`` is worth -inf, and so is the dead state.
    """
    ncol = val.shape[1]
    top = before if before < k else k
    last = offset[top + 1]
    room = min(offset[k], last)  # subsets with room for one more column
    for s in range(room):
        best = gnext[s]
        for c in range(ncol):
            v0 = val[r, c]
            v = v0 + cont[r, c] * gnext[nxt[s, c]]
            best = max(best, v if v0 > 0.0 else -np.inf)
        gout[s] = best
    for s in range(room, last):
        gout[s] = gnext[s]
    gout[offset[k + 1]] = -np.inf


@njit(cache=True)
def _positive_max(val):
    vmax = 0.0
    for v in val.ravel():
        if v > vmax:
            vmax = v
    return vmax


@njit(cache=True)
def cascade_chain_dp(val, cont, k, nxt, offset, g):
    """Exact DP over rows met in a fixed order, each row taking at most one free column.

    SPEC §3.3 with rows = creatives by score descending and columns = positions (free order,
    ``decay = 1``), or rows = positions in text order and columns = creatives
    (``order="text"``, any decay). ``g`` (rows + 1, offset[k + 1] + 1) receives every layer:
    ``g[r, s]`` is the best value of rows ``r..`` when the columns in ``s`` are taken (the
    last entry is the dead state). Returns the optimum ``g[0, 0]``.
    Cost ``O(rows * ncol * offset[k + 1])``.
    """
    nrow = val.shape[0]
    g[nrow, :] = 0.0
    g[nrow, offset[k + 1]] = -np.inf
    for r in range(nrow - 1, -1, -1):
        _chain_layer(val, cont, r, r, k, nxt, offset, g[r + 1], g[r])
    return g[0, 0]


@njit(cache=True)
def cascade_chain_path(val, cont, k, nxt, offset, g, cols):
    """The optimum of :func:`cascade_chain_dp` (already run into ``g``), row by row.

    Fills ``cols[r]`` with the column row ``r`` takes, or -1; returns how many rows take
    one. Ties break deterministically (SPEC §3): each row takes the lowest column whose
    option is within a relative 1e-13 of the best, and skips only when none is; so among
    equal optima the earlier rows (lower advertiser index among equal scores) are shown.
    """
    nrow, ncol = val.shape
    tol = _GAIN_RTOL * _positive_max(val)
    room = offset[k]
    s = 0
    count = 0
    for r in range(nrow):
        target = g[r, s] - tol
        pick = -1
        if s < room:
            for c in range(ncol):
                v0 = val[r, c]
                if v0 > 0.0 and v0 + cont[r, c] * g[r + 1, nxt[s, c]] >= target:
                    pick = c
                    break
        cols[r] = pick
        if pick >= 0:
            s = nxt[s, pick]
            count += 1
    return count


@njit(cache=True)
def _pair_layer(vq, cq, iq, jq, before, k, off_a, nxt_a, off_b, nxt_b, off2, gnext, gout):
    """One item of the pair DP: take item ``(iq, jq)`` next, or skip it."""
    top = before if before < k else k
    dead_a = off_a[k + 1]
    dead_b = off_b[k + 1]
    for r in range(top + 1):
        na = off_a[r + 1] - off_a[r]
        nb = off_b[r + 1] - off_b[r]
        nb_up = off_b[r + 2] - off_b[r + 1] if r < k else 0
        for a in range(na):
            for b in range(nb):
                idx = off2[r] + a * nb + b
                best = gnext[idx]
                if r < k and vq > 0.0:
                    sa = nxt_a[off_a[r] + a, iq]
                    sb = nxt_b[off_b[r] + b, jq]
                    if sa < dead_a and sb < dead_b:
                        up = off2[r + 1] + (sa - off_a[r + 1]) * nb_up + (sb - off_b[r + 1])
                        best = max(best, vq + cq * gnext[up])
                gout[idx] = best


@njit(cache=True)
def cascade_pair_dp(val, cont, items_i, items_j, k, off_a, nxt_a, off_b, nxt_b, off2, g):
    """Exact DP over (creative, position) pairs met in a fixed order (free order, any decay).

    The pairs ``(items_i[q], items_j[q])`` come sorted by the order in which an optimal
    page renders them (``a p / (1 - decay (1 - p))`` descending); each is taken or
    skipped. The state is the pair (used creatives, used positions), of equal sizes
    ``<= k``, numbered ``off2[r] + rank_a * C(m, r) + rank_b`` from the two lattices.
    ``g`` (items + 1, off2[k + 1]) receives every layer; returns the optimum.
    Cost ``O(items * sum_r C(n, r) C(m, r))``.
    """
    nq = items_i.size
    g[nq, :] = 0.0
    for q in range(nq - 1, -1, -1):
        i = items_i[q]
        j = items_j[q]
        _pair_layer(val[i, j], cont[i, j], i, j, q, k, off_a, nxt_a, off_b, nxt_b, off2,
                    g[q + 1], g[q])
    return g[0, 0]


@njit(cache=True)
def cascade_pair_path(val, cont, items_i, items_j, k, off_a, nxt_a, off_b, nxt_b, off2, g, take):
    """The optimum of :func:`cascade_pair_dp` (already run into ``g``): ``take[q]`` says
    whether item ``q`` is shown; returns how many are. An item is taken whenever taking it
    is within a relative 1e-13 of the best (ties: earlier items are shown)."""
    nq = items_i.size
    tol = _GAIN_RTOL * _positive_max(val)
    dead_a = off_a[k + 1]
    dead_b = off_b[k + 1]
    r = 0
    a = 0  # rank of the used creatives within size r
    b = 0  # rank of the used positions within size r
    count = 0
    for q in range(nq):
        i = items_i[q]
        j = items_j[q]
        nb = off_b[r + 1] - off_b[r]
        idx = off2[r] + a * nb + b
        take[q] = False
        vq = val[i, j]
        if r < k and vq > 0.0:
            sa = nxt_a[off_a[r] + a, i]
            sb = nxt_b[off_b[r] + b, j]
            if sa < dead_a and sb < dead_b:
                nb_up = off_b[r + 2] - off_b[r + 1]
                up = off2[r + 1] + (sa - off_a[r + 1]) * nb_up + (sb - off_b[r + 1])
                if vq + cont[i, j] * g[q + 1, up] >= g[q, idx] - tol:
                    take[q] = True
                    a = sa - off_a[r + 1]
                    b = sb - off_b[r + 1]
                    r += 1
                    count += 1
    return count


@njit(cache=True)
def _precedes(key, i1, j1, i2, j2):
    """Whether pair ``(i1, j1)`` is met before ``(i2, j2)``: higher key first, then lower
    advertiser index, then lower position index."""
    k1 = key[i1, j1]
    k2 = key[i2, j2]
    if k1 != k2:
        return k1 > k2
    if i1 != i2:
        return i1 < i2
    return j1 < j2


@njit(cache=True)
def cascade_sequence_value(val, cont, rows, cols, count):
    """``sum_t val_t prod_{s<t} cont_s`` over the first ``count`` pairs, in the given order."""
    total = 0.0
    surv = 1.0
    for t in range(count):
        total += surv * val[rows[t], cols[t]]
        surv *= cont[rows[t], cols[t]]
    return total


@njit(cache=True)
def _edited_value(val, cont, key, rows, cols, count, drop, add_i, add_j, n_add):
    """Value of the sorted sequence with the pairs ``drop[t]`` removed and the ``n_add``
    pairs ``add`` (themselves sorted) merged in at their place in the order."""
    total = 0.0
    surv = 1.0
    a = 0
    for t in range(count):
        if drop[t]:
            continue
        i = rows[t]
        j = cols[t]
        while a < n_add and _precedes(key, add_i[a], add_j[a], i, j):
            total += surv * val[add_i[a], add_j[a]]
            surv *= cont[add_i[a], add_j[a]]
            a += 1
        total += surv * val[i, j]
        surv *= cont[i, j]
    while a < n_add:
        total += surv * val[add_i[a], add_j[a]]
        surv *= cont[add_i[a], add_j[a]]
        a += 1
    return total


@njit(cache=True)
def _apply_edit(key, rows, cols, count, drop, add_i, add_j, n_add, tmp_r, tmp_c):
    """Rewrite the sorted sequence in place with ``drop`` removed and ``add`` merged in."""
    t_new = 0
    a = 0
    for t in range(count):
        if drop[t]:
            continue
        while a < n_add and _precedes(key, add_i[a], add_j[a], rows[t], cols[t]):
            tmp_r[t_new] = add_i[a]
            tmp_c[t_new] = add_j[a]
            t_new += 1
            a += 1
        tmp_r[t_new] = rows[t]
        tmp_c[t_new] = cols[t]
        t_new += 1
    while a < n_add:
        tmp_r[t_new] = add_i[a]
        tmp_c[t_new] = add_j[a]
        t_new += 1
        a += 1
    for t in range(t_new):
        rows[t] = tmp_r[t]
        cols[t] = tmp_c[t]
    return t_new


@njit(cache=True)
def cascade_greedy(val, cont, key, k, rows, cols):
    """Greedy on the cascade objective over matchings with at most ``k`` pairs.

    Adds, while fewer than ``k`` pairs are shown, the free pair with the largest positive
    marginal gain (ties: lowest advertiser, then position index); pairs are kept in
    rendering order (``key`` descending, see :func:`_precedes`). Fills ``rows``/``cols``
    (length >= k) with the chosen pairs in rendering order and returns their number.
    With ``decay = 1``, free order, the objective is monotone submodular and the feasible
    sets are the common independent sets of two matroids, so this is a 1/3-approximation
    (Fisher, Nemhauser and Wolsey 1978).
    """
    n, m = val.shape
    tol = _GAIN_RTOL * _positive_max(val)
    used_r = np.zeros(n, dtype=np.bool_)
    used_c = np.zeros(m, dtype=np.bool_)
    drop = np.zeros(max(k, 1), dtype=np.bool_)
    add_i = np.empty(1, dtype=np.int64)
    add_j = np.empty(1, dtype=np.int64)
    tmp_r = np.empty(max(k, 1), dtype=np.int64)
    tmp_c = np.empty(max(k, 1), dtype=np.int64)
    count = 0
    cur = 0.0
    while count < k:
        best = -np.inf
        bi = -1
        bj = -1
        for i in range(n):
            if used_r[i]:
                continue
            for j in range(m):
                if used_c[j] or val[i, j] <= 0.0:
                    continue
                add_i[0] = i
                add_j[0] = j
                v = _edited_value(val, cont, key, rows, cols, count, drop, add_i, add_j, 1)
                if v > cur + tol and v > best + tol:
                    best = v
                    bi = i
                    bj = j
        if bi < 0:
            break
        add_i[0] = bi
        add_j[0] = bj
        count = _apply_edit(key, rows, cols, count, drop, add_i, add_j, 1, tmp_r, tmp_c)
        used_r[bi] = True
        used_c[bj] = True
        cur = cascade_sequence_value(val, cont, rows, cols, count)
    return count


@njit(cache=True)
def _record(v, drop, count, add_i, add_j, n_add, best_drop, best_i, best_j):
    for t in range(count):
        best_drop[t] = drop[t]
    for a in range(n_add):
        best_i[a] = add_i[a]
        best_j[a] = add_j[a]
    return v


@njit(cache=True)
def _sort_two(key, add_i, add_j):
    if _precedes(key, add_i[1], add_j[1], add_i[0], add_j[0]):
        ti = add_i[0]
        tj = add_j[0]
        add_i[0] = add_i[1]
        add_j[0] = add_j[1]
        add_i[1] = ti
        add_j[1] = tj


@njit(cache=True)
def _best_edit(val, cont, key, rows, cols, count, drop, add_i, add_j, n_add, extra, best,
               best_drop, best_i, best_j):
    """Try adding ``add_i``/``add_j[:n_add]`` with ``drop`` and ``extra`` (0, 1 or 2) more of
    the remaining pairs dropped, each choice in index order; record any edit worth more than
    ``best`` and return the new best."""
    if extra <= 0:
        v = _edited_value(val, cont, key, rows, cols, count, drop, add_i, add_j, n_add)
        return _record(v, drop, count, add_i, add_j, n_add, best_drop, best_i, best_j) if v > best else best
    for t in range(count):
        if drop[t]:
            continue
        drop[t] = True
        if extra == 1:
            v = _edited_value(val, cont, key, rows, cols, count, drop, add_i, add_j, n_add)
            if v > best:
                best = _record(v, drop, count, add_i, add_j, n_add, best_drop, best_i, best_j)
        else:
            for u in range(t + 1, count):
                if drop[u]:
                    continue
                drop[u] = True
                v = _edited_value(val, cont, key, rows, cols, count, drop, add_i, add_j, n_add)
                if v > best:
                    best = _record(v, drop, count, add_i, add_j, n_add, best_drop, best_i, best_j)
                drop[u] = False
        drop[t] = False
    return best


@njit(cache=True)
def cascade_local_search(val, cont, key, k, swap, monotone, rows, cols, count, max_moves):
    """Local search from the sorted sequence in ``rows``/``cols[:count]``; returns its size.

    A move adds a set ``A`` of at most ``swap`` (1 or 2) new pairs and removes what must
    go for the result to be a matching with at most ``k`` pairs (the pairs sharing a
    creative or position with ``A``, and, when over ``k``, the best choice of further
    pairs); when ``monotone`` is False, dropping one pair is a move too. The best
    improving move (by more than a relative 1e-13) is applied until none is left or
    ``max_moves`` were made. For ``decay = 1``, free order, a local optimum for
    ``swap = p`` is a ``1/(2 + 1/p)``-approximation (Lee, Sviridenko and Vondrak 2010:
    monotone submodular objective, two matroids); this neighbourhood contains theirs.
    ``monotone`` also enables pruning by ``f(X + A) <= f(X) + sum_A val``.
    """
    n, m = val.shape
    vmax = _positive_max(val)
    tol = _GAIN_RTOL * vmax
    npairs = 0
    for i in range(n):
        for j in range(m):
            if val[i, j] > 0.0:
                npairs += 1
    ci = np.empty(npairs, dtype=np.int64)
    cj = np.empty(npairs, dtype=np.int64)
    cv = np.empty(npairs)
    q = 0
    for i in range(n):
        for j in range(m):
            if val[i, j] > 0.0:
                ci[q] = i
                cj[q] = j
                cv[q] = -val[i, j]
                q += 1
    perm = np.argsort(cv, kind="mergesort")  # by value descending, ties in index order
    ci = ci[perm]
    cj = cj[perm]
    kk = max(k, 1)
    row_at = np.empty(n, dtype=np.int64)
    col_at = np.empty(m, dtype=np.int64)
    drop = np.zeros(kk, dtype=np.bool_)
    best_drop = np.zeros(kk, dtype=np.bool_)
    add_i = np.empty(2, dtype=np.int64)
    add_j = np.empty(2, dtype=np.int64)
    best_i = np.empty(2, dtype=np.int64)
    best_j = np.empty(2, dtype=np.int64)
    tmp_r = np.empty(kk + 2, dtype=np.int64)
    tmp_c = np.empty(kk + 2, dtype=np.int64)
    for _ in range(max_moves):
        row_at[:] = -1
        col_at[:] = -1
        for t in range(count):
            row_at[rows[t]] = t
            col_at[cols[t]] = t
        cur = cascade_sequence_value(val, cont, rows, cols, count)
        best = cur + tol
        best_na = -1
        if not monotone:
            moved = _best_edit(val, cont, key, rows, cols, count, drop, add_i, add_j, 0, 1, best,
                               best_drop, best_i, best_j)
            if moved > best:
                best = moved
                best_na = 0
        for q in range(npairs):
            i = ci[q]
            j = cj[q]
            ri = row_at[i]
            if ri >= 0 and cols[ri] == j:
                continue
            rj = col_at[j]
            nf = 0
            if ri >= 0:
                drop[ri] = True
                nf += 1
            if rj >= 0 and rj != ri:
                drop[rj] = True
                nf += 1
            add_i[0] = i
            add_j[0] = j
            moved = _best_edit(val, cont, key, rows, cols, count, drop, add_i, add_j, 1,
                               count - nf + 1 - k, best, best_drop, best_i, best_j)
            if moved > best:
                best = moved
                best_na = 1
            if ri >= 0:
                drop[ri] = False
            if rj >= 0:
                drop[rj] = False
        if best_na < 0 and swap >= 2:
            for q1 in range(npairs):
                i1 = ci[q1]
                j1 = cj[q1]
                r1 = row_at[i1]
                if r1 >= 0 and cols[r1] == j1:
                    continue
                c1 = col_at[j1]
                if r1 >= 0:
                    drop[r1] = True
                if c1 >= 0:
                    drop[c1] = True
                v1 = val[i1, j1]
                f1 = 0.0
                if monotone:
                    f1 = _edited_value(val, cont, key, rows, cols, count, drop, add_i, add_j, 0)
                for q2 in range(q1 + 1, npairs):
                    i2 = ci[q2]
                    j2 = cj[q2]
                    if monotone and f1 + v1 + val[i2, j2] <= best:
                        break  # later pairs are worth even less
                    if i2 == i1 or j2 == j1:
                        continue
                    r2 = row_at[i2]
                    if r2 >= 0 and cols[r2] == j2:
                        continue
                    c2 = col_at[j2]
                    new_r2 = r2 >= 0 and not drop[r2]
                    if new_r2:
                        drop[r2] = True
                    new_c2 = c2 >= 0 and not drop[c2]
                    if new_c2:
                        drop[c2] = True
                    nf = 0
                    for t in range(count):
                        if drop[t]:
                            nf += 1
                    add_i[0] = i1
                    add_j[0] = j1
                    add_i[1] = i2
                    add_j[1] = j2
                    _sort_two(key, add_i, add_j)
                    moved = _best_edit(val, cont, key, rows, cols, count, drop, add_i, add_j, 2,
                                       count - nf + 2 - k, best, best_drop, best_i, best_j)
                    if moved > best:
                        best = moved
                        best_na = 2
                    if new_r2:
                        drop[r2] = False
                    if new_c2:
                        drop[c2] = False
                if r1 >= 0:
                    drop[r1] = False
                if c1 >= 0:
                    drop[c1] = False
        if best_na < 0:
            break
        count = _apply_edit(key, rows, cols, count, best_drop, best_i, best_j, best_na, tmp_r, tmp_c)
        for t in range(kk):
            best_drop[t] = False
    return count


@njit(cache=True)
def _cascade_vcg_one(b, p, k, nxt, offset, rows, val, cont, g, ga, gb, cols, assign, ctr, pay):
    """VCG for one auction, cascade model with ``decay = 1`` and free order.

    The exact DP runs once over the creatives by bid descending, keeping every layer in
    ``g``. Without a shown creative at row ``x`` the layers below ``x`` are unchanged, so
    ``W*_{-x}`` only recomputes rows ``x - 1 .. 0``. Returns the welfare.
    """
    n, m = p.shape
    nrow = 0
    for i in range(n):
        assign[i] = -1
        ctr[i] = 0.0
        pay[i] = 0.0
        if b[i] <= 0.0:
            continue
        useful = False
        for j in range(m):
            if p[i, j] > 0.0:
                useful = True
        if not useful:
            continue
        # insertion into rows by bid descending; equal bids keep index order
        t = nrow
        while t > 0 and b[rows[t - 1]] < b[i]:
            rows[t] = rows[t - 1]
            t -= 1
        rows[t] = i
        nrow += 1
    if nrow == 0:
        return 0.0
    for r in range(nrow):
        i = rows[r]
        for j in range(m):
            val[r, j] = b[i] * p[i, j]
            cont[r, j] = 1.0 - p[i, j]
    vr = val[:nrow]
    cr = cont[:nrow]
    top = nrow if nrow < k else k
    g[nrow, : offset[top + 1]] = 0.0
    g[nrow, offset[k + 1]] = -np.inf
    for r in range(nrow - 1, -1, -1):
        _chain_layer(vr, cr, r, r, k, nxt, offset, g[r + 1], g[r])
    welfare = g[0, 0]
    cascade_chain_path(vr, cr, k, nxt, offset, g, cols)
    surv = 1.0
    for r in range(nrow):
        j = cols[r]
        if j >= 0:
            i = rows[r]
            assign[i] = j
            ctr[i] = p[i, j] * surv
            surv *= 1.0 - p[i, j]
    for x in range(nrow):
        if cols[x] < 0:
            continue
        src = g[x + 1]
        dst = ga
        for r in range(x - 1, -1, -1):
            _chain_layer(vr, cr, r, r, k, nxt, offset, src, dst)
            src = dst
            dst = gb if dst is ga else ga
        i = rows[x]
        t = src[0] - (welfare - b[i] * ctr[i])
        pay[i] = 0.0 if abs(t) <= _GAIN_RTOL * welfare else t
    return welfare


@njit(cache=True)
def cascade_vcg_into(b, p, k, nxt, offset, assign, ctr, pay):
    """VCG for one auction under ``Cascade()`` (decay 1, free order); returns the welfare.

    ``k <= min(n, m)``; ``nxt``/``offset`` from :func:`subset_lattice_into` for ``(m, k)``.
    Fills ``assign``, ``ctr`` and ``pay`` (n,). Rendering order: shown creatives by bid
    descending (ties: lower index first).
    """
    n, m = p.shape
    total = offset[k + 1] + 1
    return _cascade_vcg_one(b, p, k, nxt, offset, np.empty(n, dtype=np.int64), np.empty((n, m)),
                            np.empty((n, m)), np.empty((n + 1, total)), np.empty(total),
                            np.empty(total), np.empty(n, dtype=np.int64), assign, ctr, pay)


@njit(cache=True)
def _batch_lattice(m, kk):
    """The subset lattice shared by every auction of a block: offsets, transitions, and the
    number of DP states (the dead state included)."""
    binom = _binomials(m, kk + 1)
    offset = np.empty(kk + 2, dtype=np.int64)
    offset[0] = 0
    for r in range(kk + 1):
        offset[r + 1] = offset[r] + binom[m, r]
    nxt = np.empty((max(offset[kk], 1), m), dtype=np.int64)
    subset_lattice_into(m, kk, offset, nxt)
    return offset, nxt, offset[kk + 1] + 1


@njit(cache=True)
def cascade_vcg_batch(bids, p, k, assign, ctr, pay):
    """VCG for a block of auctions under ``Cascade()`` (decay 1, free order).

    ``bids`` (B, n), ``p`` (B, n, m), at most ``k`` shown; fills ``assign``, ``ctr`` and
    ``pay`` (B, n) and returns the welfare of each auction as a (B,) array. The rendering
    order of auction ``b`` is its shown creatives by bid descending (ties: lower index
    first). Same allocation and payments as :func:`auctions.vcg` with ``method="exact"``.
    """
    nb, n = bids.shape
    m = p.shape[2]
    kk = min(k, m, n)
    offset, nxt, total = _batch_lattice(m, kk)
    rows = np.empty(n, dtype=np.int64)
    cols = np.empty(n, dtype=np.int64)
    val = np.empty((n, m))
    cont = np.empty((n, m))
    g = np.empty((n + 1, total))
    ga = np.empty(total)
    gb = np.empty(total)
    welfare = np.empty(nb)
    for t in range(nb):
        welfare[t] = _cascade_vcg_one(bids[t], p[t], kk, nxt, offset, rows, val, cont, g, ga, gb,
                                      cols, assign[t], ctr[t], pay[t])
    return welfare


@njit(cache=True, parallel=True)
def cascade_vcg_batch_parallel(bids, p, k, assign, ctr, pay):
    """:func:`cascade_vcg_batch` over Numba's threads (``numba.set_num_threads``).

    The auctions are split into chunks of at least 64, each with its own scratch space;
    every auction is computed by the same code as in the serial kernel, so the results are
    bit-identical whatever the number of threads.
    """
    nb, n = bids.shape
    m = p.shape[2]
    kk = min(k, m, n)
    offset, nxt, total = _batch_lattice(m, kk)
    welfare = np.empty(nb)
    nchunks = max(1, min(nb // 64, 256))
    for chunk in prange(nchunks):
        lo = chunk * nb // nchunks
        hi = (chunk + 1) * nb // nchunks
        rows = np.empty(n, dtype=np.int64)
        cols = np.empty(n, dtype=np.int64)
        val = np.empty((n, m))
        cont = np.empty((n, m))
        g = np.empty((n + 1, total))
        ga = np.empty(total)
        gb = np.empty(total)
        for t in range(lo, hi):
            welfare[t] = _cascade_vcg_one(bids[t], p[t], kk, nxt, offset, rows, val, cont, g, ga,
                                          gb, cols, assign[t], ctr[t], pay[t])
    return welfare


@njit(cache=True)
def all_within(x, lo, hi):
    """Whether every entry of ``x`` lies in ``[lo, hi)`` (NaN does not). Input validation
    of the single-auction functions, in one pass and one call."""
    for v in x.ravel():
        if not (v >= lo and v < hi):
            return False
    return True


@njit(cache=True)
def per_click_into(pay, pi, ppc):
    """Prices per click, ``pay / pi``, and 0 where nothing is shown."""
    for i in range(pay.size):
        ppc[i] = pay[i] / pi[i] if pi[i] > 0.0 else 0.0
