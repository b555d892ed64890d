"""The VCG mechanism: welfare-maximising allocation, externality payments (SPEC §4)."""
from __future__ import annotations

import numpy as np

from . import _kernels
from ._validation import check_instance
from .allocation import get_solver, solve_with, text_order, warn_if_approximate
from .outcome import Allocation, Outcome, make_outcome


def vcg(bids, p, *, model, k=None, method="auto") -> Outcome:
    """Run VCG: allocate by the bids, charge each winner the welfare it displaces.

    ``t_i = W*_{-i} - (W* - b_i pi_i)``, where ``W*_{-i}`` is the optimum without advertiser
    ``i``; only shown advertisers are re-solved, since removing a loser changes nothing. With
    an exact winner determination, truthful bidding is a dominant strategy.

    Parameters
    ----------
    bids : (n,) array_like
        Bids per click, ``>= 0``.
    p : (n, m) array_like
        Standalone CTRs in ``[0, 1)``.
    model : UserModel
        The user model, e.g. ``MNL()``.
    k : int, optional
        At most ``k`` creatives shown; ``None`` means ``min(n, m)``.
    method : str
        Winner-determination method, as in :func:`allocate`.

    Returns
    -------
    Outcome

    Warns
    -----
    ApproximateRuleWarning
        When ``method="auto"`` had to fall back to an approximate rule (a cascade instance
        beyond the exact budget): the payments are then not guaranteed truthful.

    Examples
    --------
    >>> import numpy as np
    >>> from auctions import vcg
    >>> from models import MNL
    >>> p = np.array([[0.5, 0.4], [0.3, 0.2], [0.2, 0.1]])
    >>> out = vcg([1.0, 0.9, 0.2], p, model=MNL(), k=2)
    >>> out.assignment
    array([ 0,  1, -1])
    >>> out.price_per_click.round(4)
    array([0.3825, 0.5   , 0.    ])
    """
    bids, p, model, k = check_instance(bids, p, model, k)
    solver = get_solver(bids, p, model, k, method)
    if solver.kernel is not None:
        code, q = solver.kernel(p, model)
        n = bids.size
        assign, pi, pay = np.empty(n, dtype=np.int64), np.empty(n), np.empty(n)
        welfare = _kernels.vcg_into(code, bids, q, k, assign, pi, pay)
        order = text_order(assign)
        for a in (assign, order, pi):
            a.setflags(write=False)
        alloc = Allocation(
            assignment=assign,
            order=order,
            ctr=pi,
            value=float(welfare),
            method=solver.name,
            exact=True,
            upper_bound=float(welfare),
            ratio=1.0,
        )
        return make_outcome("vcg", alloc, bids, bids, pay)
    shortcut = solver.vcg(bids, p, model, k) if solver.vcg is not None else None
    if shortcut is not None:  # one pass that shares work across the re-solves
        alloc, pay = shortcut
        warn_if_approximate("vcg", alloc, method)
        return make_outcome("vcg", alloc, bids, bids, pay)
    alloc = solve_with(solver, bids, p, model, k)
    warn_if_approximate("vcg", alloc, method)
    pay = np.zeros(bids.size)
    without = bids.copy()
    for i in np.flatnonzero(alloc.assignment >= 0):
        without[i] = 0.0
        pay[i] = solve_with(solver, without, p, model, k).value - (alloc.value - bids[i] * alloc.ctr[i])
        without[i] = bids[i]
    return make_outcome("vcg", alloc, bids, bids, pay)
