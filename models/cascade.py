"""The cascade user model, SPEC §2.2: order-sensitive."""
from __future__ import annotations

import numbers

import numpy as np

from .base import UserModel, shown_pairs

_ORDERS = ("free", "text")


class Cascade(UserModel):
    """The user reads the sponsored creatives one by one and clicks at most one.

    The user meets the occupied positions in the rendering order. At creative ``i`` in
    position ``j`` they click with probability ``p[i, j]`` and leave; without a click they go
    on to the next creative with probability ``decay``:

        ``pi_i = p[i, a_i] * product over creatives l met before i of decay * (1 - p[l, a_l])``

    Parameters
    ----------
    decay : float
        ``gamma`` in ``[0, 1]``: the probability of reading on after a creative that was not
        clicked. ``1.0`` (the default) models no fatigue.
    order : {"free", "text"}
        ``"free"`` (the default): the mechanism chooses the rendering order, as in the paper.
        ``"text"``: the user always meets the positions in text order (answers that cannot
        be restructured); :meth:`ctr` then ignores its ``order`` argument.

    Notes
    -----
    With ``decay=1`` and ``order="free"`` the best order for a fixed set of shown pairs lists
    them by score descending, and the welfare of the set is ``E[max score among the pairs
    that fire]``, each pair firing independently with probability ``p``: a monotone
    submodular set function (SPEC §2.2, §3.3). With ``decay < 1`` the best order lists the
    pairs by ``a_i p_ij / (1 - decay (1 - p_ij))`` descending (an exchange argument), which
    depends on the position as well as the creative.

    Examples
    --------
    >>> import numpy as np
    >>> from models import Cascade
    >>> p = np.array([[0.5, 0.4], [0.2, 0.1]])
    >>> Cascade().ctr(p, [0, 1])                 # text order: 0 is met first
    array([0.5 , 0.05])
    >>> Cascade().ctr(p, [0, 1], order=[1, 0])   # position 1 first
    array([0.45, 0.1 ])
    >>> Cascade(decay=0.5).ctr(p, [0, 1])
    array([0.5  , 0.025])
    >>> Cascade(order="text").ctr(p, [0, 1], order=[1, 0])  # text order is forced
    array([0.5 , 0.05])
    """

    order_sensitive = True

    def __init__(self, decay=1.0, order="free"):
        if isinstance(decay, bool) or not isinstance(decay, numbers.Real):
            raise TypeError(f"decay must be a real number in [0, 1], got {type(decay).__name__}")
        decay = float(decay)
        if not 0.0 <= decay <= 1.0:  # also rejects NaN
            raise ValueError(f"decay must lie in [0, 1], got {decay}")
        if order not in _ORDERS:
            raise ValueError(f"order must be 'free' or 'text', got {order!r}")
        self.decay = decay
        self.order = order

    def rendering_order(self, assignment, order=None) -> np.ndarray:
        """The occupied positions in the order the user meets them.

        ``order=None`` and ``order="text"`` models give text order; otherwise ``order`` must
        list each occupied position exactly once (``ValueError`` otherwise).
        """
        _, pos = shown_pairs(assignment)
        if order is None or self.order == "text":
            return np.sort(pos)
        return _checked_order(order, pos)

    def ctr(self, p, assignment, order=None):
        p = np.asarray(p, dtype=float)
        assignment = np.asarray(assignment)
        pi = np.zeros(p.shape[0])
        shown, pos = shown_pairs(assignment)
        if shown.size == 0:
            return pi
        if order is None or self.order == "text":
            rank = np.argsort(pos)
            ads, seq = shown[rank], pos[rank]
        else:
            seq = _checked_order(order, pos)
            who = np.empty(p.shape[1], dtype=np.int64)
            who[pos] = shown
            ads = who[seq]
        q = p[ads, seq]
        pi[ads] = q
        # survival before each creative: product of decay * (1 - p) over those met earlier
        pi[ads[1:]] *= np.cumprod(self.decay * (1.0 - q[:-1]))
        return pi

    def _key(self):
        return (self.decay, self.order)

    def __repr__(self):
        args = []
        if self.decay != 1.0:
            args.append(f"decay={self.decay!r}")
        if self.order != "free":
            args.append(f"order={self.order!r}")
        return f"Cascade({', '.join(args)})"


def _checked_order(order, pos) -> np.ndarray:
    order = np.asarray(order)
    if order.ndim != 1 or (order.size and not np.issubdtype(order.dtype, np.integer)):
        raise ValueError(f"order must be a 1-D sequence of positions, got {order!r}")
    order = order.astype(np.int64, copy=False)
    if order.size != pos.size or not np.array_equal(np.sort(order), np.sort(pos)):
        raise ValueError(
            f"order must list each occupied position exactly once: occupied {np.sort(pos)}, "
            f"got {order}"
        )
    return order
