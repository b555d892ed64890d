"""Virtual values of ``scipy.stats`` priors, with ironing for irregular ones (SPEC §4)."""
from __future__ import annotations

import weakref
from collections.abc import Sequence

import numpy as np
from scipy.optimize import brentq
from scipy.stats import rv_continuous
from scipy.stats._distn_infrastructure import rv_continuous_frozen

# Quantile grid on which irregular priors are ironed. Outside the ironed intervals the
# virtual value is computed exactly from the density; only the interval ends carry the grid's
# resolution.
_IRON_GRID = 8193
_XTOL = 4 * np.finfo(float).eps


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
        self._sf_pdf = _sf_pdf(prior, b)
        phi = self._exact(b)
        if not np.all(np.isfinite(phi)):
            raise ValueError("priors: the density is zero or undefined inside the support")
        scale = max(np.abs(phi).max(), 1e-300)
        self.regular = bool(np.all(np.diff(phi) >= -1e-9 * scale))
        self.ironed = [] if self.regular else self._iron(u, b)

    def _exact(self, b):
        b = np.asarray(b, dtype=float)
        sf, pdf = self._sf_pdf(b)
        with np.errstate(divide="ignore", invalid="ignore"):
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

        Off the ironed intervals ``phi`` is increasing (with jumps at interval ends), so both
        are the root of ``phi(z) = c`` found by Brent's method to the last bits of
        ``upper``. A ``c`` equal to an ironed value maps to that whole interval.
        """
        c = np.atleast_1d(np.asarray(c, dtype=float))
        upper = float(upper)
        at0, at_upper = float(self(0.0)), float(self(upper))
        zlo, zhi = np.empty_like(c), np.empty_like(c)
        for idx, x in enumerate(c):
            flat = [(lo, hi) for lo, hi, value in self.ironed if value == x]
            if flat:
                zlo[idx], zhi[idx] = min(max(flat[0][0], 0.0), upper), min(flat[0][1], upper)
            elif at0 >= x:
                zlo[idx] = zhi[idx] = 0.0
            elif at_upper <= x:
                zlo[idx] = zhi[idx] = upper
            else:
                zlo[idx] = zhi[idx] = brentq(lambda z: float(self(z)) - x, 0.0, upper, xtol=_XTOL * upper, rtol=_XTOL)
        return zlo, zhi


def _sf_pdf(prior, grid):
    """A fast ``b -> (sf(b), pdf(b))`` for ``prior``.

    Threshold payments evaluate the virtual value a few hundred times per auction, and the
    public ``pdf``/``sf`` spend about a millisecond per call checking arguments. The
    distribution's own ``_sf``/``_pdf`` on standardised input skip that; they are used only
    if they agree with the public methods on ``grid`` and at the support's edges.
    """

    def public(b):
        return prior.sf(b), prior.pdf(b)

    dist = getattr(prior, "dist", prior)
    try:
        shapes, loc, scale = dist._parse_args(*getattr(prior, "args", ()), **getattr(prior, "kwds", {}))
        lo, hi = prior.support()

        def fast(b):
            x = (np.asarray(b, dtype=float) - loc) / scale
            inside = (b >= lo) & (b <= hi)
            xs = np.where(inside, x, (lo - loc) / scale if np.isfinite(lo) else 0.0)
            with np.errstate(divide="ignore", invalid="ignore"):  # e.g. log(0) at the support's edge
                sf = np.where(inside, dist._sf(xs, *shapes), np.where(b < lo, 1.0, 0.0))
                pdf = np.where(inside, dist._pdf(xs, *shapes) / scale, 0.0)
            return sf, pdf

        probe = np.concatenate((grid, [lo - 1.0, hi + 1.0, 0.0]))
        probe = probe[np.isfinite(probe)]
        for got, want in zip(fast(probe), public(probe)):
            if not np.allclose(got, want, rtol=1e-12, atol=1e-300):
                return public
        return fast
    except Exception:  # any distribution whose internals differ: use the public methods
        return public


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
