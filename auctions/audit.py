"""Incentive audit: what a bidder gains by misreporting, and the other properties of SPEC §5.

For each instance (true values ``v``), each bidder ``i`` and each sampled misreport ``z``,
the audit runs the mechanism on ``(z, v_{-i})`` and measures the gain in ``i``'s utility
``v_i pi_i - t_i`` over bidding ``v_i``. The best gain found for a bidder, floored at zero, is
its *empirical ex-post regret*, the quantity the deep-auction literature trains to zero
(Duetting, Feng, Narasimhan, Parkes and Ravindranath, "Optimal auctions through deep
learning", 2019). A truthful mechanism has zero regret on every instance; a positive regret
is a concrete profitable misreport.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from models.base import UserModel

from ._validation import check_p
from .registry import Mechanism, get_mechanism


@dataclass(frozen=True)
class Instance:
    """One auction to audit: the bidders' true values and what the mechanism needs.

    Attributes
    ----------
    values : (n,) ndarray
        True values per click (the truthful bids).
    p : (n, m) ndarray
        Standalone CTRs.
    model : UserModel
        The user model.
    k : int, optional
        At most ``k`` creatives shown.
    priors : optional
        Value distributions, for mechanisms that need them (Myerson).
    """

    values: np.ndarray
    p: np.ndarray
    model: UserModel
    k: int | None = None
    priors: object = None


@dataclass(frozen=True)
class AuditReport:
    """What :func:`audit` found for one mechanism.

    Attributes
    ----------
    mechanism : str
        Its name.
    instances : int
        Instances audited.
    deviations : int
        Misreports tried in all (mechanism runs besides the truthful ones).
    max_regret : float
        The largest gain from a misreport over all instances and bidders (``>= 0``).
    mean_regret : float
        The mean over (instance, bidder) of the best gain found (``>= 0``).
    regret_violations : int
        (instance, bidder) pairs whose best gain exceeds ``rtol`` times the instance's
        scale (the largest ``v_i p_ij``).
    ir_violations : int
        Outcomes in which some bidder pays more than its bid times its CTR.
    monotonicity_violations : int
        (instance, bidder) pairs whose CTR falls somewhere as its bid rises.
    negative_payments : int
        Outcomes with a payment below zero.
    loser_payments : int
        Outcomes in which a bidder that is not shown pays.
    claims_truthful : bool
        Whether the mechanism declares itself truthful under every audited model.
    """

    mechanism: str
    instances: int
    deviations: int
    max_regret: float
    mean_regret: float
    regret_violations: int
    ir_violations: int
    monotonicity_violations: int
    negative_payments: int
    loser_payments: int
    claims_truthful: bool

    @property
    def consistent(self) -> bool:
        """Individually rational, no negative or loser payments, and, where the mechanism
        claims truthfulness, no profitable misreport and a monotone allocation."""
        basic = self.ir_violations == self.negative_payments == self.loser_payments == 0
        truthful = self.regret_violations == self.monotonicity_violations == 0
        return basic and (truthful or not self.claims_truthful)


def _as_instance(item) -> Instance:
    if isinstance(item, Instance):
        return item
    if isinstance(item, tuple) and 3 <= len(item) <= 5:
        return Instance(*item)
    raise TypeError(
        "instances must hold Instance objects or tuples (values, p, model[, k[, priors]]), "
        f"got {type(item).__name__}"
    )


def _misreports(values, i, count, rng) -> np.ndarray:
    """Half uniform on ``[0, 2 v_i]``, half just around a rival's value (where thresholds
    sit), and always bidding zero."""
    v = values[i]
    top = v if v > 0 else max(values.max(), 1.0)
    wide = rng.uniform(0.0, 2.0 * top, count - count // 2)
    rivals = np.delete(values, i)
    if rivals.size:
        near = rng.choice(rivals, count // 2) * (1.0 + rng.uniform(-1e-3, 1e-3, count // 2))
    else:
        near = rng.uniform(0.0, 2.0 * top, count // 2)
    z = np.concatenate(([0.0], wide, np.maximum(near, 0.0)))
    return z[z != v]


def audit(mechanism, instances: Iterable, *, deviations: int = 16, rtol: float = 1e-9,
          rng=None) -> AuditReport:
    """Measure a mechanism's incentive to misreport and check SPEC §5 on sampled instances.

    Parameters
    ----------
    mechanism : str or Mechanism
        A registered name (see :data:`auctions.MECHANISMS`) or a :class:`Mechanism`.
    instances : iterable of Instance or tuple
        Each an :class:`Instance` or a tuple ``(values, p, model[, k[, priors]])``.
    deviations : int
        Misreports sampled per bidder and instance (besides bidding zero).
    rtol : float
        Gains, IR excesses and CTR drops below ``rtol`` times the instance's scale (the
        largest ``v_i p_ij``) count as rounding, not violations.
    rng : optional
        Anything :func:`numpy.random.default_rng` accepts; the misreports are drawn from it.

    Returns
    -------
    AuditReport

    Examples
    --------
    >>> import numpy as np
    >>> from auctions import Mechanism, audit, vcg
    >>> from models import Cascade
    >>> rng = np.random.default_rng(0)
    >>> instances = [(rng.uniform(0, 1, 3), rng.uniform(0, 0.5, (3, 2)), Cascade(), 2)
    ...              for _ in range(5)]
    >>> report = audit("vcg", instances, rng=1)
    >>> report.regret_violations, report.max_regret < 1e-12, report.consistent
    (0, True, True)
    >>> from dataclasses import replace
    >>> def pay_your_bid(bids, p, *, model, k=None):     # VCG's allocation, pay the bid
    ...     out = vcg(bids, p, model=model, k=k)
    ...     return replace(out, payments=np.asarray(bids) * out.ctr)
    >>> report = audit(Mechanism("pay_your_bid", pay_your_bid, (), False, ""), instances, rng=1)
    >>> report.max_regret > 0, report.regret_violations > 0
    (True, True)
    """
    mech = mechanism if isinstance(mechanism, Mechanism) else get_mechanism(mechanism)
    if isinstance(deviations, bool) or not isinstance(deviations, (int, np.integer)) or deviations < 1:
        raise ValueError(f"deviations must be a positive int, got {deviations!r}")
    rng = np.random.default_rng(rng)
    count = tried = 0
    regrets = []
    ir = mono = negative = loser = violations = 0
    claims = True

    def check(out, bids, tol):
        nonlocal ir, negative, loser
        t, pi = np.asarray(out.payments), np.asarray(out.ctr)
        ir += bool(np.any(t > bids * pi + tol))
        negative += bool(np.any(t < -tol))
        loser += bool(np.any((np.asarray(out.assignment) < 0) & (np.abs(t) > tol)))

    for item in instances:
        inst = _as_instance(item)
        values = np.asarray(inst.values, dtype=float)
        p = check_p(inst.p)
        claims = claims and mech.is_truthful(inst.model)

        def run(bids, inst=inst, p=p):
            return mech(bids, p, model=inst.model, k=inst.k, priors=inst.priors)

        scale = float(np.max(values[:, None] * p, initial=0.0)) or 1.0
        tol = rtol * scale
        truth = run(values)
        check(truth, values, tol)
        utility = values * np.asarray(truth.ctr) - np.asarray(truth.payments)
        for i in range(values.size):
            bids = values.copy()
            gains, points = [0.0], [(values[i], float(truth.ctr[i]))]
            for z in _misreports(values, i, deviations, rng):
                bids[i] = z
                out = run(bids)
                check(out, bids, tol)
                pi, t = float(out.ctr[i]), float(out.payments[i])
                gains.append(values[i] * pi - t - utility[i])
                points.append((z, pi))
                tried += 1
            regret = max(gains)
            regrets.append(regret)
            violations += regret > tol
            points.sort()
            ctrs = np.array([c for _, c in points])
            mono += bool(np.any(np.diff(ctrs) < -rtol * max(ctrs.max(), 1e-300)))
        count += 1
    regrets = np.array(regrets) if regrets else np.zeros(1)
    return AuditReport(
        mechanism=mech.name,
        instances=count,
        deviations=tried,
        max_regret=float(regrets.max()),
        mean_regret=float(regrets.mean()),
        regret_violations=int(violations),
        ir_violations=ir,
        monotonicity_violations=mono,
        negative_payments=negative,
        loser_payments=loser,
        claims_truthful=bool(claims and count > 0),
    )


def sample_instances(count: int, n: int, m: int, *, model, k=None, priors=None, ctr=(0.02, 0.6),
                     rng=None) -> list[Instance]:
    """``count`` random instances: values drawn from ``priors`` (one shared frozen
    ``scipy.stats`` distribution; uniform on [0, 1] when None), CTRs uniform on ``ctr``.

    Examples
    --------
    >>> from models import Cascade
    >>> inst = sample_instances(2, 4, 3, model=Cascade(), k=2, rng=0)
    >>> len(inst), inst[0].values.shape, inst[0].p.shape
    (2, (4,), (4, 3))
    """
    rng = np.random.default_rng(rng)
    out = []
    for _ in range(count):
        if priors is None:
            values = rng.uniform(0.0, 1.0, n)
        else:
            values = np.asarray(priors.rvs(size=n, random_state=rng), dtype=float)
        p = rng.uniform(ctr[0], ctr[1], (n, m))
        out.append(Instance(values, p, model, k, priors))
    return out
