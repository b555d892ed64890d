"""User models (how users click on a page of sponsored creatives) and CTR generators."""
from .base import UserModel
from .cascade import Cascade
from .independent import Independent
from .mnl import MNL

__all__ = ["UserModel", "Cascade", "Independent", "MNL"]
