"""User models (how users click on a page of sponsored creatives) and CTR generators."""
from .base import UserModel
from .independent import Independent
from .mnl import MNL

__all__ = ["UserModel", "Independent", "MNL"]
