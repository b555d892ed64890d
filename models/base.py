"""The interface every user model implements.

A user model maps an augmented allocation (who sits where, and in which order the user meets
the occupied positions) to the probability that each advertiser's creative is clicked
(SPEC §2). It is data, like a cvxpy problem: it states its properties and computes CTRs; the
winner-determination solvers live in :mod:`auctions` and are chosen from those properties.
"""
from __future__ import annotations

import abc

import numpy as np


class UserModel(abc.ABC):
    """A model of how users click on a page of sponsored creatives.

    Subclasses set :attr:`order_sensitive` and implement :meth:`ctr`.
    """

    #: Whether the CTRs depend on the rendering order of the occupied positions.
    order_sensitive: bool = False

    @abc.abstractmethod
    def ctr(self, p, assignment, order=None) -> np.ndarray:
        """Click probability of every advertiser under an augmented allocation.

        Parameters
        ----------
        p : (n, m) array_like
            Standalone click-through rates, ``p[i, j]`` in ``[0, 1)``.
        assignment : (n,) array_like of int
            Position of advertiser ``i``, or ``-1`` when not shown.
        order : sequence of int, optional
            The occupied positions in the order the user meets them. ``None`` means text
            order (ascending position index). Ignored by order-insensitive models.

        Returns
        -------
        (n,) ndarray
            ``pi_i``; zero for advertisers that are not shown.
        """

    def welfare(self, scores, p, assignment, order=None) -> float:
        """``sum_i scores[i] * pi_i``: the objective winner determination maximises."""
        return float(np.dot(np.asarray(scores, dtype=float), self.ctr(p, assignment, order)))

    def __eq__(self, other):
        return type(self) is type(other) and self._key() == other._key()

    def __hash__(self):
        return hash((type(self), self._key()))

    def _key(self) -> tuple:
        return ()

    def __repr__(self):
        return f"{type(self).__name__}()"


def shown_pairs(assignment):
    """Advertisers shown and their positions, as two int arrays in advertiser order."""
    assignment = np.asarray(assignment)
    shown = np.flatnonzero(assignment >= 0)
    return shown, assignment[shown]
