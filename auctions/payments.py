"""Exact threshold payments from the breakpoints of an allocation curve (SPEC §4).

For a fixed augmented allocation the objective ``sum_l a_l pi_l`` is affine in one
advertiser's score ``a_i`` with slope ``pi_i``. The optimum ``V(a_i)`` is therefore the upper
envelope of lines: convex, piecewise linear, and ``pi_i`` is its slope. Its breakpoints are
found by intersecting the lines of two known optima and re-solving at the intersection
(Eisner-Severance): about two solves per breakpoint, and no quadrature grid.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

_TOL = 1e-12


def envelope(solve: Callable[[float], tuple[float, float]], hi: float):
    """The pieces of the convex optimum ``V(s)`` on ``[0, hi]``.

    Parameters
    ----------
    solve : callable
        ``solve(s) -> (V(s), slope)``: the optimum with the score set to ``s``, and the
        advertiser's CTR in the optimal allocation (ties broken as the solver breaks them).
    hi : float
        The advertiser's actual score.

    Returns
    -------
    pieces : list of (start, end, slope)
        Consecutive intervals covering ``[0, hi]`` on whose interiors the CTR is ``slope``.
    ties : list of (point, slope)
        The interior breakpoints and the CTR the solver assigns exactly there.

    Examples
    --------
    A single slot worth 0.5 clicks, one rival with score 0.3:

    >>> solve = lambda s: (max(s, 0.3) * 0.5, 0.5 if s > 0.3 else 0.0)
    >>> envelope(solve, 1.0)
    ([(0.0, 0.3, 0.0), (0.3, 1.0, 0.5)], [(0.3, 0.0)])
    """
    v0, s0 = solve(0.0)
    vh, sh = solve(hi)
    pieces, ties = [], []

    def split(x1, c1, s1, x2, c2, s2):
        if s2 - s1 <= _TOL * max(abs(s1), abs(s2), 1e-300) or x2 <= x1:
            pieces.append((x1, x2, s1))
            return
        x = min(max((c2 - c1) / (s1 - s2), x1), x2)
        v, s = solve(x)
        line = c1 + s1 * x
        if v <= line + _TOL * max(abs(v), abs(line), 1e-300):
            pieces.append((x1, x, s1))
            pieces.append((x, x2, s2))
            ties.append((x, s))
        else:
            c = v - s * x
            split(x1, c1, s1, x, c, s)
            split(x, c, s, x2, c2, s2)

    split(0.0, v0, s0, hi, vh - sh * hi, sh)
    pieces = [pc for pc in pieces if pc[1] > pc[0]] or [(0.0, hi, sh)]
    return pieces, ties


def threshold_payment(solve, bid: float, score: float, ctr: float, preimage) -> float:
    """``t = b * pi(b) - integral_0^b pi(z) dz`` for one advertiser, exactly.

    Parameters
    ----------
    solve : callable
        As in :func:`envelope`, over scores.
    bid, score, ctr : float
        The advertiser's bid, its score (virtual value) and its CTR in the outcome.
    preimage : callable
        ``preimage(c, upper) -> (zlo, zhi)``: the bids in ``[0, upper]`` whose score is
        ``>= c`` start at ``zlo``; those whose score is ``<= c`` end at ``zhi``
        (:meth:`VirtualValue.preimage`).

    Returns
    -------
    float
        The expected payment per impression.
    """
    if ctr <= 0.0 or score <= 0.0:
        return 0.0
    pieces, ties = envelope(solve, score)
    points = np.unique([x for pc in pieces for x in pc[:2]] + [x for x, _ in ties] + [score])
    zlo, zhi = preimage(points, bid)
    lo = dict(zip(points.tolist(), zlo.tolist()))
    hi = dict(zip(points.tolist(), zhi.tolist()))
    integral = 0.0
    for start, end, slope in pieces:
        # bids whose score lies strictly inside the piece
        integral += slope * max(0.0, lo[end] - hi[start])
    for x, slope in ties:
        # bids mapped exactly onto a breakpoint (an ironed interval): the tie-broken CTR
        integral += slope * max(0.0, hi[x] - lo[x])
    integral += ctr * max(0.0, bid - lo[score])
    return bid * ctr - integral


def step_threshold_payment(ctr_of: Callable[[float], float], bid: float, ctr: float, *,
                           xtol: float = 1e-12) -> float:
    """``t = b * pi(b) - integral_0^b pi(z) dz`` for a rule with no envelope to exploit.

    For an approximate winner determination the optimum is not a maximum over allocations,
    so the envelope of lines (:func:`envelope`) does not apply; but the CTR
    ``z -> pi(z)`` is still a step function of the bid. Its breakpoints are found by
    bisection: an interval whose two ends give the same CTR is taken as flat (exact when the
    rule is monotone), any other is halved until shorter than ``xtol * bid``, and a jump
    left inside such an interval is counted at its midpoint. About ``log2(1 / xtol)``
    evaluations per breakpoint; the error is at most ``xtol * bid`` times the CTR.

    Parameters
    ----------
    ctr_of : callable
        ``ctr_of(z)``: the advertiser's CTR when it bids ``z`` (the others fixed).
    bid, ctr : float
        The advertiser's bid and its CTR in the outcome, ``ctr_of(bid)``.
    xtol : float
        Relative width below which a breakpoint is not refined further.

    Returns
    -------
    float
        The expected payment per impression. It can be negative only for a rule that is
        not monotone (a CTR at a lower bid above the CTR at ``bid``).

    Examples
    --------
    One slot worth 0.5 clicks, won above a rival bid of 0.3: the payment is ``0.3 * 0.5``.

    >>> round(step_threshold_payment(lambda z: 0.5 if z > 0.3 else 0.0, 1.0, 0.5), 9)
    0.15
    """
    if ctr <= 0.0 or bid <= 0.0:
        return 0.0
    width = xtol * bid
    integral = 0.0
    stack = [(0.0, float(ctr_of(0.0)), float(bid), float(ctr))]
    while stack:
        lo, ylo, hi, yhi = stack.pop()
        if abs(yhi - ylo) <= _TOL * max(abs(ylo), abs(yhi)):
            integral += ylo * (hi - lo)
        elif hi - lo <= width:
            integral += 0.5 * (ylo + yhi) * (hi - lo)
        else:
            mid = 0.5 * (lo + hi)
            ym = float(ctr_of(mid))
            stack.append((mid, ym, hi, yhi))
            stack.append((lo, ylo, mid, ym))
    return bid * ctr - integral
