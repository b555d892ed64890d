"""The mechanism registry: every mechanism with its declared properties.

The contract tests run over this table, so a mechanism added here is tested for
feasibility, individual rationality and, where it claims it, truthfulness.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from models import MNL, Cascade, Independent

from .baselines import gsp_separable, vcg_independent
from .myerson import myerson
from .threshold import cascade_greedy, cascade_local_search
from .vcg import vcg


@dataclass(frozen=True)
class Mechanism:
    """A registered mechanism.

    Attributes
    ----------
    name : str
        Registry key.
    run : callable
        ``run(bids, p, *, model, k, priors=None) -> Outcome``.
    truthful_under : tuple of types
        User-model types under which truthful bidding is a dominant strategy.
    needs_priors : bool
        Whether ``run`` needs the value distributions.
    description : str
    runs_under : tuple of types or None
        User-model types ``run`` accepts; ``None`` (the default) means every model.
    """

    name: str
    run: Callable
    truthful_under: tuple
    needs_priors: bool
    description: str
    runs_under: tuple | None = None

    def is_truthful(self, model) -> bool:
        """Whether truthful bidding is dominant when users follow ``model``."""
        return isinstance(model, self.truthful_under)

    def runs(self, model) -> bool:
        """Whether the mechanism accepts ``model``."""
        return self.runs_under is None or isinstance(model, self.runs_under)

    def __call__(self, bids, p, *, model, k=None, priors=None):
        if self.needs_priors:
            if priors is None:
                raise ValueError(f"priors: mechanism {self.name!r} needs the value distributions")
            return self.run(bids, p, model=model, k=k, priors=priors)
        return self.run(bids, p, model=model, k=k)


MECHANISMS: dict[str, Mechanism] = {}


def register(mechanism: Mechanism) -> Mechanism:
    """Add ``mechanism`` to :data:`MECHANISMS` (and so to the contract tests)."""
    MECHANISMS[mechanism.name] = mechanism
    return mechanism


def get_mechanism(name: str) -> Mechanism:
    """The registered mechanism called ``name``."""
    try:
        return MECHANISMS[name]
    except KeyError:
        raise ValueError(f"mechanism must be one of {sorted(MECHANISMS)}, got {name!r}") from None


# VCG and Myerson are truthful under Cascade with its exact winner determination, which
# method="auto" runs within auctions.cascade.EXACT_BUDGET (outcome.allocation.exact says so).
register(Mechanism("vcg", vcg, (Independent, MNL, Cascade), False, "welfare-maximising VCG over the matching"))
register(Mechanism("myerson", myerson, (Independent, MNL, Cascade), True, "revenue-optimal: virtual values, threshold prices"))
register(Mechanism("gsp_separable", gsp_separable, (), False, "GSP on a rank-one fit of the CTRs"))
register(Mechanism("vcg_independent", vcg_independent, (Independent,), False, "VCG ignoring externalities"))
# Approximate cascade rules with threshold payments: not monotone, hence not truthful.
register(Mechanism("cascade_greedy", cascade_greedy, (), False, "cascade greedy (1/3), threshold prices",
                   runs_under=(Cascade,)))
register(Mechanism("cascade_local_search", cascade_local_search, (), False,
                   "cascade local search (2/5), threshold prices", runs_under=(Cascade,)))
