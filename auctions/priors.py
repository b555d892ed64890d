"""Virtual values of ``scipy.stats`` priors, with ironing for irregular ones (SPEC §4)."""
from __future__ import annotations

import weakref
from collections.abc import Sequence

import numpy as np
from scipy.stats import rv_continuous
from scipy.stats._distn_infrastructure import rv_continuous_frozen

# Quantile grid on which irregular priors are ironed. Outside the ironed intervals the
# virtual value is computed exactly from the density; only the interval ends carry the grid's
# resolution.
_IRON_GRID = 8193
_BISECTIONS = 100


class VirtualValue:
    """The (ironed) virtual value ``phi(b) = b - (1 - F(b)) / f(b)`` of one prior.

    Parameters
    ----------
    prior : frozen continuous ``scipy.stats`` distribution
        The distribution of the advertiser's value per click (``scipy.stats.rv_histogram``
        and other continuous distributions without shape parameters also qualify).

    Attributes
    ----------
    regular : bool
        Whether ``phi`` is non-decreasing (on a fine quantile grid), so needs no ironing.
    ironed : list of (lo, hi, value)
        Bid intervals on which the ironed virtual value is constant.

    Examples
    --------
    >>> import scipy.stats as st
    >>> from auctions import VirtualValue
    >>> phi = VirtualValue(st.uniform(0, 1))
    >>> phi([0.25, 0.5, 1.0])
    array([-0.5,  0. ,  1. ])
    """

    def __init__(self, prior):
        # A frozen distribution, or one with no shape parameters such as rv_histogram.
        usable = isinstance(prior, rv_continuous_frozen) or (
            isinstance(prior, rv_continuous) and prior.numargs == 0
        )
        if not usable:
            raise TypeError(
                "priors must be frozen continuous scipy.stats distributions with a density "
                f"(e.g. scipy.stats.uniform(0, 1)), got {type(prior).__name__}"
            )
        self.prior = prior
        u = np.linspace(0.0, 1.0, _IRON_GRID)[1:-1]
        b = prior.ppf(u)
        phi = self._exact(b)
        if not np.all(np.isfinite(phi)):
            raise ValueError("priors: the density is zero or undefined inside the support")
        scale = max(np.abs(phi).max(), 1e-300)
        self.regular = bool(np.all(np.diff(phi) >= -1e-9 * scale))
        self.ironed = [] if self.regular else self._iron(u, b)

    def _exact(self, b):
        b = np.asarray(b, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            sf = self.prior.sf(b)
            pdf = self.prior.pdf(b)
            phi = b - sf / pdf
        # Above the support nothing is left to sell (phi = b); below it no bid is possible.
        phi = np.where(pdf > 0, phi, np.where(sf > 0, -np.inf, b))
        return phi

    def _iron(self, u, b):
        # Revenue curve R(q) = q * F^{-1}(1 - q) in quantile space; the ironed virtual value
        # is the slope of its concave hull. Points run in increasing q, from q = 0 (the top of
        # the support, R = 0) to q = 1 (the bottom of the support, R = its lower end).
        lo = float(self.prior.support()[0])
        bottom = [lo] if np.isfinite(lo) else []
        q = np.concatenate(([0.0], (1.0 - u)[::-1], [1.0] * len(bottom)))
        r = np.concatenate(([0.0], ((1.0 - u) * b)[::-1], bottom))
        bids = np.concatenate(([np.inf], b[::-1], bottom))
        hull = []
        for idx in range(q.size):
            while len(hull) >= 2:
                i0, i1 = hull[-2], hull[-1]
                cross = (q[i1] - q[i0]) * (r[idx] - r[i0]) - (r[i1] - r[i0]) * (q[idx] - q[i0])
                if cross >= 0:  # i1 lies on or below the chord from i0 to idx
                    hull.pop()
                else:
                    break
            hull.append(idx)
        ironed = []
        for i0, i1 in zip(hull[:-1], hull[1:]):
            if i1 > i0 + 1:
                slope = (r[i1] - r[i0]) / (q[i1] - q[i0])
                ironed.append((float(bids[i1]), float(bids[i0]), float(slope)))
        return sorted(ironed)

    def __call__(self, bids) -> np.ndarray:
        bids = np.asarray(bids, dtype=float)
        phi = self._exact(bids)
        for lo, hi, value in self.ironed:
            phi = np.where((bids >= lo) & (bids <= hi), value, phi)
        return phi

    def preimage(self, c, upper) -> tuple[np.ndarray, np.ndarray]:
        """``inf{z: phi(z) >= c}`` and ``sup{z: phi(z) <= c}`` within ``[0, upper]``.

        Vectorised bisection on the non-decreasing ``phi``: exact to the last bits of
        ``upper``, and right on ironed intervals, where ``phi`` is flat.
        """
        c = np.atleast_1d(np.asarray(c, dtype=float))
        lo = np.zeros_like(c)
        hi = np.full_like(c, float(upper))
        lo2, hi2 = lo.copy(), hi.copy()
        for _ in range(_BISECTIONS):
            mid = 0.5 * (lo + hi)
            up = self(mid) >= c
            hi = np.where(up, mid, hi)
            lo = np.where(up, lo, mid)
            mid2 = 0.5 * (lo2 + hi2)
            below = self(mid2) <= c
            lo2 = np.where(below, mid2, lo2)
            hi2 = np.where(below, hi2, mid2)
        zlo = np.where(self(np.zeros_like(c)) >= c, 0.0, hi)
        zhi = np.where(self(np.full_like(c, float(upper))) <= c, float(upper), lo2)
        return zlo, zhi


_CACHE: "weakref.WeakKeyDictionary[object, VirtualValue]" = weakref.WeakKeyDictionary()


def virtual_value(prior) -> VirtualValue:
    """The :class:`VirtualValue` of ``prior``, computed once per distribution object."""
    try:
        return _CACHE[prior]
    except (KeyError, TypeError):
        pass
    vv = VirtualValue(prior)
    try:
        _CACHE[prior] = vv
    except TypeError:
        pass
    return vv


def virtual_values_for(priors, n: int) -> list[VirtualValue]:
    """One :class:`VirtualValue` per advertiser from one shared prior or a sequence of ``n``."""
    if isinstance(priors, Sequence) and not isinstance(priors, str):
        if len(priors) != n:
            raise ValueError(f"priors must be one distribution or a sequence of n={n}, got {len(priors)}")
        return [virtual_value(pr) for pr in priors]
    return [virtual_value(priors)] * n
