"""Winner determination, mechanisms and payments for position auctions in AI answers."""
from .allocation import (
    ApproximateRuleWarning, Solver, allocate, methods, register_chooser, register_solver,
)
from .audit import AuditReport, Instance, audit, sample_instances
from .baselines import gsp_separable, rank_one_fit, vcg_independent
from .cascade import exact_cost
from .myerson import myerson
from .outcome import Allocation, Outcome
from .payments import envelope, step_threshold_payment, threshold_payment
from .priors import VirtualValue
from .registry import MECHANISMS, Mechanism, get_mechanism, register
from .threshold import cascade_greedy, cascade_local_search, threshold_auction
from .vcg import vcg

__all__ = [
    "Allocation", "ApproximateRuleWarning", "AuditReport", "Instance", "MECHANISMS", "Mechanism",
    "Outcome", "Solver", "VirtualValue", "allocate", "audit", "cascade_greedy",
    "cascade_local_search", "envelope", "exact_cost", "get_mechanism", "gsp_separable", "methods",
    "myerson", "rank_one_fit", "register", "register_chooser", "register_solver",
    "sample_instances", "step_threshold_payment", "threshold_auction", "threshold_payment", "vcg",
    "vcg_independent",
]
