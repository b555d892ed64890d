"""Myerson's revenue-optimal mechanism over the matching (SPEC §4)."""
from __future__ import annotations

import numpy as np

from ._validation import check_instance
from .allocation import get_solver, response, solve_with, warn_if_approximate
from .outcome import Outcome, make_outcome
from .payments import threshold_payment
from .priors import virtual_values_for


def myerson(bids, p, *, model, priors, k=None, method="auto") -> Outcome:
    """Run Myerson's optimal auction: allocate by (ironed) virtual values, threshold prices.

    Creatives whose virtual value is ``<= 0`` are never shown, which acts as a reserve price.
    Each winner pays ``t_i = b_i pi_i(b) - integral_0^{b_i} pi_i(z, b_{-i}) dz``, computed
    exactly from the breakpoints of ``z -> pi_i(z, b_{-i})`` (:mod:`auctions.payments`).

    Parameters
    ----------
    bids : (n,) array_like
        Bids per click, ``>= 0``.
    p : (n, m) array_like
        Standalone CTRs in ``[0, 1)``.
    model : UserModel
        The user model.
    priors : frozen scipy.stats distribution, or a sequence of n of them
        Each advertiser's value distribution (one shared prior, or one each).
    k : int, optional
        At most ``k`` creatives shown; ``None`` means ``min(n, m)``.
    method : str
        Winner-determination method, as in :func:`allocate`.

    Returns
    -------
    Outcome
        ``scores`` holds the virtual values.

    Examples
    --------
    Two bidders with values uniform on [0, 1] and one slot: the reserve price is 1/2.

    >>> import numpy as np, scipy.stats as st
    >>> from auctions import myerson
    >>> from models import Independent
    >>> out = myerson([0.8, 0.3], np.array([[0.1], [0.1]]), model=Independent(),
    ...               priors=st.uniform(0, 1))
    >>> out.assignment, out.price_per_click.round(6)
    (array([ 0, -1]), array([0.5, 0. ]))
    """
    bids, p, model, k = check_instance(bids, p, model, k)
    phis = virtual_values_for(priors, bids.size)
    scores = np.array([phi(b) for phi, b in zip(phis, bids)], dtype=float)
    solver = get_solver(scores, p, model, k, method)
    alloc = solve_with(solver, scores, p, model, k)
    warn_if_approximate("myerson", alloc, method)
    pay = np.zeros(bids.size)
    for i in np.flatnonzero(alloc.assignment >= 0):
        solve = response(solver, scores, p, model, k, i)
        pay[i] = threshold_payment(solve, bids[i], scores[i], alloc.ctr[i], phis[i].preimage)
    return make_outcome("myerson", alloc, bids, scores, pay)
