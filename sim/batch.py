"""Run every mechanism of a scenario on one block of draws (common random numbers).

For user models whose winner determination has a Numba kernel (``MNL``, ``Independent``;
``Cascade`` VCG through :func:`auctions._kernels.cascade_vcg_batch` when present) each
mechanism is one batch-kernel call per block (:mod:`sim._kernels`). Everything else falls
back to the per-auction public functions of :mod:`auctions` in a Python loop: slower, the
same numbers. The per-auction functions are also the reference the batch results are held
to in ``tests/test_sim.py``.

Myerson's threshold payments are exact: the kernel returns the pieces of each winner's
allocation curve in score space (Eisner-Severance, as :func:`auctions.payments.envelope`);
the scores are mapped back to bids by inverting the virtual value, bracketed on a
tabulation of ``phi`` and refined by safeguarded regula falsi (Illinois) on the exact
``phi`` until the bracket is a few ulps wide (about 1e-15 relative). Irregular (ironed)
priors use the per-auction path.
"""
from __future__ import annotations

import weakref

import numpy as np

from auctions import MECHANISMS
from auctions import _kernels as ak
from auctions.allocation import get_solver, methods
from auctions.baselines import rank_one_fit  # noqa: F401  (the twin of the stacked SVD below)
from auctions.priors import virtual_values_for
from models import Cascade, Independent

from . import _kernels as sk

__all__ = ["METRICS", "kernel_of", "run_block", "first_best", "inverse_virtual_value"]

#: Per-auction quantities recorded for every mechanism.
METRICS = ("welfare", "revenue", "clicks", "shown", "ratio")
#: Added when realized clicks are sampled.
REALIZED = ("realized_clicks", "realized_revenue")


def kernel_of(model, p0, k):
    """``(code, solver)`` when the model's default solver has a Numba kernel, else ``(None, solver)``."""
    try:
        solver = get_solver(np.ones(p0.shape[0]), p0, model, k, "auto")
    except TypeError:
        return None, None
    if solver.kernel is None:
        return None, solver
    code, _ = solver.kernel(p0, model)
    return code, solver


def _batch_q(solver, p, model):
    """The kernel matrix ``q`` for a stack of CTR matrices."""
    try:
        code, q = solver.kernel(p, model)
        q = np.asarray(q, dtype=float)
        if q.shape == p.shape:
            return np.ascontiguousarray(q)
    except ValueError:
        pass
    return np.stack([np.asarray(solver.kernel(pt, model)[1], dtype=float) for pt in p])


def _cascade_fast(model):
    return (type(model) is Cascade and getattr(model, "decay", 1.0) == 1.0
            and getattr(model, "order", "free") == "free" and hasattr(ak, "cascade_vcg_batch"))


class _Block:
    """The draws of one block and the model's kernel representation, computed once."""

    def __init__(self, scenario, values, p):
        self.sc = scenario
        self.values = np.ascontiguousarray(values, dtype=float)
        self.p = np.ascontiguousarray(p, dtype=float)
        self.B, self.n = self.values.shape
        self.k = scenario.k
        self.code, self.solver = kernel_of(scenario.model, self.p[0], self.k) if self.B else (None, None)
        self.q = _batch_q(self.solver, self.p, scenario.model) if self.code is not None else None

    def empty(self):
        return (np.full((self.B, self.n), -1, dtype=np.int64), np.zeros((self.B, self.n)),
                np.zeros((self.B, self.n)))


def first_best(block: _Block):
    """``(assign, pi)`` of the welfare-optimal allocation under the true model."""
    assign, pi, _ = block.empty()
    sc = block.sc
    if block.code is not None:
        sk.optimum_batch(block.code, block.values, block.q, block.k, assign, pi)
        return assign, pi
    from auctions import allocate

    method = "exact" if "exact" in methods(sc.model) else "auto"
    for t in range(block.B):
        alloc = allocate(block.values[t], block.p[t], model=sc.model, k=block.k, method=method)
        assign[t] = alloc.assignment
        pi[t] = alloc.ctr
    return assign, pi


def _per_auction(block: _Block, spec):
    """The reference path: the public per-auction function, auction by auction."""
    name, _, method = spec.partition(":")
    mech = MECHANISMS[name]
    sc = block.sc
    assign, pi, pay = block.empty()
    kw = {"model": sc.model, "k": block.k}
    if mech.needs_priors:
        kw["priors"] = sc.priors
    if method:
        kw["method"] = method
    for t in range(block.B):
        with np.errstate(divide="ignore", invalid="ignore"):  # phi = -inf below a support
            out = mech.run(block.values[t], block.p[t], **kw)
        assign[t] = out.assignment
        pi[t] = out.ctr
        pay[t] = out.payments
    return assign, pi, pay


def _vcg(block: _Block):
    assign, pi, pay = block.empty()
    sk.vcg_batch(block.code, block.values, block.q, block.k, assign, pi, pay)
    return assign, pi, pay


def _vcg_independent(block: _Block):
    assign, pi, pay = block.empty()
    sk.vcg_independent_batch(block.code, block.values, block.p, block.q, block.k, assign, pi, pay)
    return assign, pi, pay


def _gsp(block: _Block):
    assign, pi, pay = block.empty()
    # rank_one_fit, stacked: the leading singular pair of every matrix
    u, s, vt = np.linalg.svd(block.p, full_matrices=False)
    root = np.sqrt(s[:, 0])
    alpha = np.ascontiguousarray(np.abs(u[:, :, 0]) * root[:, None])
    beta = np.ascontiguousarray(np.abs(vt[:, 0, :]) * root[:, None])
    sk.gsp_batch(block.code, block.values, alpha, beta, block.q, block.k, assign, pi, pay)
    return assign, pi, pay


_TABLE_SIZE = 4097
_TABLES: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _table(vv):
    tab = _TABLES.get(vv)
    if tab is None:
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            tab = _tabulate(vv)
        _TABLES[vv] = tab
    return tab


def _tabulate(vv):
    z = np.unique(vv.prior.ppf(np.linspace(0.0, 1.0, _TABLE_SIZE)[1:-1]))
    z = z[np.isfinite(z) & (z >= 0)]
    return z, vv(z), float(vv(np.zeros(1))[0])


def inverse_virtual_value(vv, c, upper, *, max_iter=200):
    """``inf{z in [0, upper]: phi(z) >= c}`` for a regular prior, vectorised.

    The root of ``phi(z) = c`` is bracketed on a 4095-point quantile tabulation of ``phi``
    and refined by regula falsi with the Illinois modification, every third step a
    bisection, until the bracket is two ulps wide. Equals
    :meth:`auctions.VirtualValue.preimage`'s ``zlo`` to about 1e-15 relative.

    Examples
    --------
    >>> import numpy as np, scipy.stats as st
    >>> from auctions import VirtualValue
    >>> inverse_virtual_value(VirtualValue(st.uniform(0, 1)), np.array([0.0, 0.5]), np.ones(2))
    array([0.5 , 0.75])
    """
    c = np.asarray(c, dtype=float)
    upper = np.broadcast_to(np.asarray(upper, dtype=float), c.shape)
    z, phiz, phi0 = _table(vv)
    out = np.zeros(c.shape)
    work = c > phi0
    idx = np.flatnonzero(work)
    if idx.size == 0:
        return out
    cc = c[idx]
    up = upper[idx]
    pos = np.searchsorted(phiz, cc, side="left")
    lo = np.where(pos > 0, z[np.maximum(pos - 1, 0)], 0.0)
    hi = np.where(pos < z.size, z[np.minimum(pos, z.size - 1)], up)
    hi = np.minimum(hi, up)
    lo = np.minimum(lo, hi)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        flo = vv(lo) - cc
        fhi = vv(hi) - cc
        # hi already satisfies phi >= c unless the rounding of c at the top put it above
        done = fhi < 0
        hi_done = hi.copy()
        side = np.zeros(cc.size, dtype=np.int8)
        active = np.flatnonzero(~done & (flo < 0))
        hi_done[flo >= 0] = lo[flo >= 0]
        it = 0
        while active.size and it < max_iter:
            l, h, fl, fh = lo[active], hi[active], flo[active], fhi[active]
            x = h - fh * (h - l) / (fh - fl)
            bad = ~np.isfinite(x) | (x <= l) | (x >= h) | (it % 3 == 2)
            x = np.where(bad, 0.5 * (l + h), x)
            fx = vv(x) - cc[active]
            up_ = fx >= 0
            # Illinois: halve the stale end's value when the same end moves twice
            sa = side[active]
            fl2 = np.where(up_ & (sa == 1), fl * 0.5, fl)
            fh2 = np.where(~up_ & (sa == -1), fh * 0.5, fh)
            lo[active] = np.where(up_, l, x)
            flo[active] = np.where(up_, fl2, fx)
            hi[active] = np.where(up_, x, h)
            fhi[active] = np.where(up_, fx, fh2)
            side[active] = np.where(up_, 1, -1)
            hi_done[active] = hi[active]
            width = hi[active] - lo[active]
            keep = (width > 2.0 * np.spacing(np.maximum(hi[active], 1e-300))) & (fx != 0)
            active = active[keep]
            it += 1
    out[idx] = np.where(done, up, hi_done)
    return out


def _myerson(block: _Block):
    sc = block.sc
    phis = virtual_values_for(sc.priors, block.n)
    if not all(vv.regular for vv in phis):
        return _per_auction(block, "myerson")
    scores = np.empty_like(block.values)
    groups: dict[int, list[int]] = {}
    for i, vv in enumerate(phis):
        groups.setdefault(id(vv), []).append(i)
    with np.errstate(divide="ignore", invalid="ignore"):  # phi = -inf below the support
        for cols in groups.values():
            scores[:, cols] = phis[cols[0]](block.values[:, cols])
    scores = np.ascontiguousarray(scores)
    assign, pi, pay = block.empty()
    cap = max(64, 8 * block.B * block.k)
    while True:
        rows = np.empty((cap, 2), dtype=np.int64)
        pieces = np.empty((cap, 3))
        count = sk.myerson_batch(block.code, scores, block.q, block.k, assign, pi, rows, pieces)
        if count >= 0:
            break
        cap *= 4
    rows, pieces = rows[:count], pieces[:count]
    t, i = rows[:, 0], rows[:, 1]
    bid = block.values[t, i]
    zs = np.empty(count)
    ze = np.empty(count)
    for cols in groups.values():
        sel = np.flatnonzero(np.isin(i, cols))
        vv = phis[cols[0]]
        zs[sel] = inverse_virtual_value(vv, pieces[sel, 0], bid[sel])
        ze[sel] = inverse_virtual_value(vv, pieces[sel, 1], bid[sel])
    # the last piece ends at the advertiser's own score, i.e. at its bid
    at_top = pieces[:, 1] == scores[t, i]
    ze[at_top] = bid[at_top]
    integral = np.zeros((block.B, block.n))
    np.add.at(integral, (t, i), pieces[:, 2] * np.maximum(0.0, ze - zs))
    win = (pi > 0) & (scores > 0)
    pay[win] = (block.values * pi - integral)[win]
    return assign, pi, pay


def _runner(block: _Block, spec):
    name, _, method = spec.partition(":")
    if block.code is not None and (not method or method == block.solver.name):
        fast = {"vcg": _vcg, "vcg_independent": _vcg_independent, "gsp_separable": _gsp,
                "myerson": _myerson}.get(name)
        if fast is not None:
            return fast
    if name == "vcg" and method in ("", "exact") and _cascade_fast(block.sc.model):
        def cascade_vcg(block):
            assign, pi, pay = block.empty()
            ak.cascade_vcg_batch(block.values, block.p, block.k, assign, pi, pay)
            return assign, pi, pay
        return cascade_vcg
    return lambda block: _per_auction(block, spec)


def run_block(scenario, values, p, clicks_u=None) -> dict:
    """Run every mechanism of ``scenario`` on one block of draws.

    Parameters
    ----------
    scenario : Scenario
    values : (B, n) ndarray
        Values per click; bids are truthful.
    p : (B, n, m) ndarray
        Standalone CTRs.
    clicks_u : ndarray, optional
        Uniform draws for realized clicks: ``(B,)`` for one-click models (MNL, cascade),
        ``(B, n)`` for :class:`models.Independent`.

    Returns
    -------
    dict
        ``{"first_best": (B,) welfare, mechanism: {metric: (B,) array}}``.
    """
    block = _Block(scenario, values, p)
    outs = {}
    for spec in scenario.mechanisms:
        outs[spec] = _runner(block, spec)(block)
    vcg_exact = outs.get("vcg")
    if vcg_exact is not None and (block.code is not None or _cascade_fast(scenario.model)):
        fb_pi = vcg_exact[1]
    else:
        fb_pi = first_best(block)[1]
    fb = (block.values * fb_pi).sum(axis=1)
    result = {"first_best": fb}
    for spec, (assign, pi, pay) in outs.items():
        welfare = (block.values * pi).sum(axis=1)
        metrics = {
            "welfare": welfare,
            "revenue": pay.sum(axis=1),
            "clicks": pi.sum(axis=1),
            "shown": (assign >= 0).sum(axis=1).astype(float),
            "ratio": np.divide(welfare, fb, out=np.ones_like(welfare), where=fb > 0),
        }
        if clicks_u is not None:
            clicks = realized_clicks(scenario.model, pi, clicks_u)
            ppc = np.divide(pay, pi, out=np.zeros_like(pay), where=pi > 0)
            metrics["realized_clicks"] = clicks.sum(axis=1)
            metrics["realized_revenue"] = (ppc * clicks).sum(axis=1)
        result[spec] = metrics
    return result


def clicks_shape(model, B, n):
    """Shape of the uniforms :func:`realized_clicks` needs for ``B`` auctions."""
    return (B, n) if isinstance(model, Independent) else (B,)


def realized_clicks(model, pi, u) -> np.ndarray:
    """Sample which creatives are clicked, ``(B, n)`` of 0/1, from CTRs ``pi`` and uniforms ``u``.

    Independent model: each shown creative independently (``u[t, i] < pi[t, i]``). MNL and
    cascade: at most one click, creative ``i`` when ``u[t]`` falls in its slice of the
    cumulative CTRs (advertiser order).
    """
    if isinstance(model, Independent):
        return (u < pi).astype(float)
    out = np.empty_like(pi)
    sk.sample_one_click(np.ascontiguousarray(pi), np.ascontiguousarray(u), out)
    return out
