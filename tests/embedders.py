"""Small deterministic embedders for tests: no model, no download, exact and fast."""
from __future__ import annotations

import re
import zlib

import numpy as np


class BagOfWords:
    """Hashed word counts (crc32, so the same in every process). Records every batch."""

    def __init__(self, dim: int = 256):
        self.dim = dim
        self.batches: list[list[str]] = []

    def __call__(self, texts):
        self.batches.append(list(texts))
        out = np.zeros((len(texts), self.dim))
        for i, text in enumerate(texts):
            for word in re.findall(r"[a-z]+", text.lower()):
                out[i, zlib.crc32(word.encode()) % self.dim] += 1.0
        return out

    @property
    def seen(self) -> list[str]:
        """Every text embedded so far, in order."""
        return [t for batch in self.batches for t in batch]
