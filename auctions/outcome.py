"""Frozen result objects: :class:`Allocation` (winner determination) and :class:`Outcome`."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ._kernels import per_click_into


def frozen_array(x, dtype=float) -> np.ndarray:
    a = np.array(x, dtype=dtype)
    a.setflags(write=False)
    return a


@dataclass(frozen=True)
class Allocation:
    """An augmented allocation and what it achieves (SPEC §3).

    Attributes
    ----------
    assignment : (n,) int ndarray
        Position of each advertiser, or -1.
    order : (s,) int ndarray
        The occupied positions in rendering order.
    ctr : (n,) ndarray
        ``pi_i`` under the user model.
    value : float
        The objective ``sum_i scores[i] * pi_i``.
    method : str
        The solver that produced it.
    exact : bool
        Whether the solver is proven optimal.
    upper_bound : float
        An upper bound on the optimum: ``value`` for exact solvers, the independent-model
        optimum (SPEC §3.3) for approximate ones.
    ratio : float
        ``value / upper_bound``: a proven lower bound on the approximation ratio of this
        instance (1.0 for exact solvers and for empty optima).
    """

    assignment: np.ndarray
    order: np.ndarray
    ctr: np.ndarray
    value: float
    method: str
    exact: bool
    upper_bound: float
    ratio: float


@dataclass(frozen=True)
class Outcome:
    """The result of running a mechanism on one auction (SPEC §6).

    Payments are expected payments per impression; ``price_per_click`` is the same charge
    levied per click (``payments / ctr``, 0 where not shown).

    Attributes
    ----------
    assignment, order, ctr :
        As in :class:`Allocation`.
    payments : (n,) ndarray
        Expected payment per impression ``t_i``.
    price_per_click : (n,) ndarray
        ``t_i / pi_i``, 0 where not shown.
    welfare : float
        ``sum_i bids[i] * pi_i`` (the value created, under truthful bids).
    revenue : float
        ``sum_i t_i``.
    scores : (n,) ndarray
        What the allocation maximised against: the bids for VCG, virtual values for Myerson.
    mechanism : str
        Registry name of the mechanism.
    allocation : Allocation
        The winner determination behind the outcome, with its method and certificate.
    """

    assignment: np.ndarray
    order: np.ndarray
    ctr: np.ndarray
    payments: np.ndarray
    price_per_click: np.ndarray
    welfare: float
    revenue: float
    scores: np.ndarray
    mechanism: str
    allocation: Allocation

    @property
    def shown(self) -> int:
        """How many creatives are shown."""
        return int(np.count_nonzero(self.assignment >= 0))


def make_outcome(mechanism, allocation, bids, scores, payments) -> Outcome:
    """Package an outcome; takes ownership of ``payments`` (a fresh float array)."""
    pi = allocation.ctr
    ppc = np.empty_like(payments)
    per_click_into(payments, pi, ppc)  # one compiled call: small NumPy ops cost more here
    for a in (payments, ppc):
        a.setflags(write=False)
    return Outcome(
        assignment=allocation.assignment,
        order=allocation.order,
        ctr=pi,
        payments=payments,
        price_per_click=ppc,
        # the allocation's own value when it maximised the bids themselves
        welfare=allocation.value if scores is bids else float(np.dot(bids, pi)),
        revenue=math.fsum(payments.tolist()),
        scores=frozen_array(scores),
        mechanism=mechanism,
        allocation=allocation,
    )
