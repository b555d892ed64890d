"""Threshold payments on top of an approximate winner determination (SPEC §4).

When the exact programs of :mod:`auctions.cascade` are too costly, a platform allocates by
``"greedy"`` or ``"local_search"``. VCG payments computed with an approximate rule are not
truthful; the threshold payment ``t_i = b_i pi_i(b) - integral_0^{b_i} pi_i(z, b_{-i}) dz``
is, exactly when the rule is *monotone* (each advertiser's CTR never falls when it bids
more).

Neither approximate cascade rule is monotone, so neither mechanism here is truthful, and
the registry says so (``truthful_under=()``); :func:`auctions.audit` measures how much a
bidder gains by misreporting. Two counterexamples (``Cascade()``, bids ``b``, CTRs ``p``)
are kept as regression tests in ``tests/test_cascade_approx.py``:

- greedy, ``k = 2``, ``b = (0.574, 0.332, z)``, ``p = [[.184, .394], [.112, .779],
  [.754, .169]]``: at ``z = 0.342`` greedy shows advertisers 2 and 1 and advertiser 2 is met
  first (CTR 0.754); at ``z = 0.349`` the marginal gains change order and greedy shows
  advertiser 0, whose higher bid renders it ahead of 2 (CTR ``0.754 * (1 - 0.394) = 0.457``).
- local search has the same kind of failure: raising a bid changes which local optimum
  the exchanges reach, and a creative placed ahead of the bidder can appear.

Payments are therefore floored at zero (no subsidies); they remain individually rational,
since the integral of a non-negative CTR is non-negative. For a non-monotone rule the
bisection of :func:`~auctions.step_threshold_payment` can also miss a narrow interval of
bids where the CTR is higher (in the greedy example, bids in ``(0.3356, 0.343)``), so the
payment depends on where its probes land: one more way to gain by misreporting, which the
audit finds (``tests/test_audit.py``).
"""
from __future__ import annotations

import numpy as np

from ._validation import check_instance
from .allocation import get_solver, methods, solve_with
from .outcome import Outcome, make_outcome
from .payments import step_threshold_payment

#: Whether each cascade winner-determination method is a monotone allocation rule.
#: ``"exact"`` is (the optimum is convex in one's own score and the CTR is its slope);
#: the approximations are not (counterexamples in the module notes).
MONOTONE = {"exact": True, "greedy": False, "local_search": False}


def threshold_auction(bids, p, *, model, k=None, method: str, mechanism: str | None = None) -> Outcome:
    """Allocate with winner-determination ``method``, charge threshold payments.

    Parameters
    ----------
    bids : (n,) array_like
        Bids per click, ``>= 0``.
    p : (n, m) array_like
        Standalone CTRs in ``[0, 1)``.
    model : UserModel
        A model that has ``method`` (see :func:`auctions.methods`).
    k : int, optional
        At most ``k`` creatives shown; ``None`` means ``min(n, m)``.
    method : str
        The winner-determination method, e.g. ``"greedy"``.
    mechanism : str, optional
        Name recorded in the outcome (default ``"threshold_" + method``).

    Returns
    -------
    Outcome
        ``allocation`` carries the method and its certificate. Payments are the threshold
        payments from :func:`auctions.step_threshold_payment`, floored at zero when the
        rule is not monotone.

    Examples
    --------
    >>> import numpy as np
    >>> from models import Cascade
    >>> p = np.array([[0.5, 0.4], [0.3, 0.2], [0.2, 0.1]])
    >>> out = threshold_auction([1.0, 0.9, 0.2], p, model=Cascade(), k=2, method="greedy")
    >>> out.assignment, out.order
    (array([ 0,  1, -1]), array([0, 1]))
    >>> out.payments.round(4)   # 0.5 - (0.28 * 0.49 + 0.4 * 0.36 + 0.5 * 0.1) for advertiser 0
    array([0.1688, 0.01  , 0.    ])
    """
    bids, p, model, k = check_instance(bids, p, model, k)
    if method not in methods(model):
        raise TypeError(f"model: {model!r} has no {method!r} winner determination")
    solver = get_solver(bids, p, model, k, method)
    alloc = solve_with(solver, bids, p, model, k)
    monotone = MONOTONE.get(method, False)
    pay = np.zeros(bids.size)
    for i in np.flatnonzero(alloc.assignment >= 0):
        others = bids.copy()

        def ctr_of(z, i=i, others=others):
            others[i] = z
            assignment, order = solver.solve(others, p, model, k)
            return model.ctr(p, assignment, order)[i]

        t = step_threshold_payment(ctr_of, bids[i], alloc.ctr[i])
        pay[i] = t if monotone else max(t, 0.0)
    return make_outcome(mechanism or f"threshold_{method}", alloc, bids, bids, pay)


def cascade_greedy(bids, p, *, model, k=None) -> Outcome:
    """Greedy winner determination with threshold payments: fast, 1/3 of the optimum at
    worst (``decay = 1``, free order), not truthful (the rule is not monotone).

    Examples
    --------
    >>> import numpy as np
    >>> from models import Cascade
    >>> out = cascade_greedy([1.0, 0.5], np.array([[0.3, 0.2], [0.3, 0.2]]), model=Cascade(), k=1)
    >>> out.assignment, out.price_per_click.round(6), out.allocation.method
    (array([ 0, -1]), array([0.5, 0. ]), 'greedy')
    """
    return threshold_auction(bids, p, model=model, k=k, method="greedy", mechanism="cascade_greedy")


def cascade_local_search(bids, p, *, model, k=None) -> Outcome:
    """Local-search winner determination with threshold payments: 2/5 of the optimum at
    worst (``decay = 1``, free order), not truthful (the rule is not monotone)."""
    return threshold_auction(bids, p, model=model, k=k, method="local_search",
                             mechanism="cascade_local_search")
