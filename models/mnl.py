"""The multinomial-logit user model, SPEC §2.1."""
from __future__ import annotations

import numpy as np

from .base import UserModel, shown_pairs


class MNL(UserModel):
    """Creatives compete for one click; the user may also click nothing.

    Creative ``i`` at position ``j`` has attraction weight ``w[i, j] = exp(rho[i, j])`` and
    the no-click option has weight 1, so ``pi_i = w[i, a_i] / (1 + sum of shown weights)``.

    Parameters
    ----------
    rho : (n, m) array_like, optional
        Utilities. By default they are calibrated from the standalone CTRs,
        ``rho = logit(p)``, so that a creative shown alone is clicked with probability
        exactly ``p[i, j]``.

    Examples
    --------
    >>> import numpy as np
    >>> from models import MNL
    >>> p = np.array([[0.5, 0.2], [0.5, 0.2]])
    >>> MNL().ctr(p, [0, -1])          # alone: exactly p
    array([0.5, 0. ])
    >>> MNL().ctr(p, [0, 1])           # weights 1 and 1/4 compete with no-click
    array([0.44444444, 0.11111111])
    """

    order_sensitive = False

    def __init__(self, rho=None):
        if rho is not None:
            rho = np.array(rho, dtype=float)
            if rho.ndim != 2:
                raise ValueError(f"rho must be a 2-D (n, m) array, got shape {rho.shape}")
            if not np.all(np.isfinite(rho)):
                raise ValueError("rho must be finite (no NaN or infinite utilities)")
            rho.setflags(write=False)
        self.rho = rho

    def weights(self, p) -> np.ndarray:
        """Attraction weights ``w[i, j]`` for CTR matrix ``p``."""
        p = np.asarray(p, dtype=float)
        if self.rho is None:
            w = np.subtract(1.0, p)
            return np.divide(p, w, out=w)  # p / (1 - p), one temporary fewer
        if self.rho.shape != p.shape:
            raise ValueError(f"rho has shape {self.rho.shape} but p has shape {p.shape}")
        return np.exp(self.rho)

    def ctr(self, p, assignment, order=None):
        w = self.weights(p)
        pi = np.zeros(w.shape[0])
        shown, pos = shown_pairs(assignment)
        ws = w[shown, pos]
        pi[shown] = ws / (1.0 + ws.sum())
        return pi

    def _key(self):
        return (None if self.rho is None else self.rho.tobytes(),)

    def __repr__(self):
        return "MNL()" if self.rho is None else f"MNL(rho=<{self.rho.shape[0]}x{self.rho.shape[1]}>)"
