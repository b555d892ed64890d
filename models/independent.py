"""The independent (no externalities) user model, SPEC §2.3."""
from __future__ import annotations

import numpy as np

from .base import UserModel, shown_pairs


class Independent(UserModel):
    """Each shown creative is clicked with its standalone CTR: ``pi_i = p[i, a_i]``.

    The world classic position auctions assume, and an upper bound on every other model's
    welfare for the same allocation.

    Examples
    --------
    >>> import numpy as np
    >>> from models import Independent
    >>> p = np.array([[0.2, 0.1], [0.3, 0.05]])
    >>> Independent().ctr(p, [1, 0])
    array([0.1, 0.3])
    """

    order_sensitive = False

    def ctr(self, p, assignment, order=None):
        p = np.asarray(p, dtype=float)
        pi = np.zeros(p.shape[0])
        shown, pos = shown_pairs(assignment)
        pi[shown] = p[shown, pos]
        return pi
