"""User models (how users click on a page of sponsored creatives), CTR generators, and
context scoring (text to CTRs, and the answer rewritten with the winners inside)."""
from .base import UserModel
from .cascade import Cascade
from .context import DEFAULT_THETA, ContextScorer, context_ctr
from .independent import Independent
from .mnl import MNL
from .text import Creative, Position, insert_creatives, remove_creatives, split_positions

__all__ = [
    "Cascade", "ContextScorer", "Creative", "DEFAULT_THETA", "Independent", "MNL", "Position",
    "UserModel", "context_ctr", "insert_creatives", "remove_creatives", "split_positions",
]
