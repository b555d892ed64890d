"""Input checks shared by the public functions. Errors name the bad argument (SPEC §6)."""
from __future__ import annotations

import numbers

import numpy as np

from models.base import UserModel

from ._kernels import all_within


def _as_float_array(x, name):
    try:
        return np.asarray(x, dtype=float)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be an array of floats: {exc}") from None


def check_p(p) -> np.ndarray:
    p = _as_float_array(p, "p")
    if p.ndim != 2 or p.shape[0] == 0 or p.shape[1] == 0:
        raise ValueError(f"p must be a non-empty 2-D (n, m) array, got shape {p.shape}")
    if not all_within(p, 0.0, 1.0):  # NaN fails too
        if not np.isfinite(p).all():
            raise ValueError("p must be finite (found NaN or infinite values)")
        raise ValueError("p must lie in [0, 1): click-through rates")
    return p


def check_vector(x, name: str, n: int, *, nonnegative: bool) -> np.ndarray:
    x = _as_float_array(x, name)
    if x.ndim != 1 or x.shape[0] != n:
        raise ValueError(f"{name} must be a 1-D array of length n={n}, got shape {x.shape}")
    if not all_within(x, 0.0 if nonnegative else -np.inf, np.inf):
        if not np.isfinite(x).all():
            raise ValueError(f"{name} must be finite (found NaN or infinite values)")
        raise ValueError(f"{name} must be non-negative")
    return x


def check_k(k, m: int) -> int:
    if k is None:
        return None
    if isinstance(k, bool) or not isinstance(k, numbers.Integral):
        raise TypeError(f"k must be an int or None, got {type(k).__name__}")
    if not 1 <= k <= m:
        raise ValueError(f"k must be between 1 and m={m}, got {k}")
    return int(k)


def check_model(model) -> UserModel:
    if not isinstance(model, UserModel):
        raise TypeError(f"model must be a user model such as MNL(), got {type(model).__name__}")
    return model


def check_instance(bids, p, model, k, *, bids_name="bids", nonnegative=True):
    """Validate a (bids or scores, p, model, k) instance; resolve ``k=None`` to min(n, m)."""
    p = check_p(p)
    n, m = p.shape
    bids = check_vector(bids, bids_name, n, nonnegative=nonnegative)
    model = check_model(model)
    k = check_k(k, m)
    return bids, p, model, (min(n, m) if k is None else k)
