"""Winner determination, mechanisms and payments for position auctions in AI answers."""
from .allocation import Solver, allocate, methods, register_chooser, register_solver
from .baselines import gsp_separable, rank_one_fit, vcg_independent
from .myerson import myerson
from .outcome import Allocation, Outcome
from .payments import envelope, threshold_payment
from .priors import VirtualValue
from .registry import MECHANISMS, Mechanism, get_mechanism, register
from .vcg import vcg

__all__ = [
    "Allocation", "MECHANISMS", "Mechanism", "Outcome", "Solver", "VirtualValue", "allocate",
    "envelope", "get_mechanism", "gsp_separable", "methods", "myerson", "rank_one_fit",
    "register", "register_chooser", "register_solver", "threshold_payment", "vcg",
    "vcg_independent",
]
