"""CTR generators for the simulator (SPEC §7): random standalone CTR matrices ``p``.

Each generator returns an ``(n, m)`` matrix in ``[0, 1)``, or a stack ``(size, n, m)`` when
``size`` is given (the simulator draws a whole block of auctions at once). Randomness comes
only from ``rng`` (anything :func:`numpy.random.default_rng` accepts).

Defaults, chosen for realistic CTRs of about 1-30%:

- advertiser effect ``alpha_i ~ Normal(ALPHA_MEAN = -2.5, ALPHA_SD = 0.5)`` on the logit
  scale (a creative's CTR in the first position is about 8%, most between 3% and 20%);
- position effect ``beta_j = -POSITION_DECAY * j`` with ``POSITION_DECAY = 0.35``: every
  position deeper in the answer multiplies the odds of a click by ``exp(-0.35) = 0.70``.
"""
from __future__ import annotations

import numpy as np

from ._kernels import BELOW_ONE, logistic_ctr_into

__all__ = ["ALPHA_MEAN", "ALPHA_SD", "POSITION_DECAY", "context", "nonseparable", "separable"]

ALPHA_MEAN = -2.5
ALPHA_SD = 0.5
POSITION_DECAY = 0.35


def _sigmoid(x):
    """``1 / (1 + exp(-x))``, computed in place: the simulator draws blocks of ~200,000
    entries, and fresh temporaries of that size cost more than the arithmetic."""
    np.negative(x, out=x)
    np.exp(x, out=x)
    x += 1.0
    return np.reciprocal(x, out=x)


def _shape(n, m, size):
    for name, x in (("n", n), ("m", m)):
        if isinstance(x, bool) or not isinstance(x, (int, np.integer)) or x < 1:
            raise ValueError(f"{name} must be a positive int, got {x!r}")
    if size is None:
        return (1, int(n), int(m))
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 0:
        raise ValueError(f"size must be a non-negative int or None, got {size!r}")
    return (int(size), int(n), int(m))


def _out(p, size):
    # Guard the open upper end: sigmoid(x) rounds to 1.0 for x > 37.
    np.minimum(p, BELOW_ONE, out=p)
    return p[0] if size is None else p


def separable(n, m, *, rng, size=None, alpha_mean=ALPHA_MEAN, alpha_sd=ALPHA_SD,
              position_decay=POSITION_DECAY):
    """Separable CTRs ``p[i, j] = alpha_i * beta_j``: the classic position-auction world.

    ``alpha_i = sigmoid(Normal(alpha_mean, alpha_sd))`` is the creative's CTR in the first
    position and ``beta_j = exp(-position_decay * j)`` the position's relative visibility.

    Parameters
    ----------
    n, m : int
        Advertisers and positions.
    rng : seed or numpy.random.Generator
        Source of the draws.
    size : int, optional
        Draw a stack of ``size`` matrices, shape ``(size, n, m)``.
    alpha_mean, alpha_sd, position_decay : float
        The defaults of the module.

    Returns
    -------
    ndarray
        ``(n, m)``, or ``(size, n, m)``.

    Examples
    --------
    >>> import numpy as np
    >>> from models.ctr import separable
    >>> p = separable(4, 3, rng=0)
    >>> p.shape, bool(np.linalg.matrix_rank(p) == 1)
    ((4, 3), True)
    """
    shape = _shape(n, m, size)
    rng = np.random.default_rng(rng)
    alpha = _sigmoid(rng.normal(alpha_mean, alpha_sd, size=shape[:2]))
    beta = np.exp(-position_decay * np.arange(shape[2]))
    return _out(alpha[:, :, None] * beta, size)


def nonseparable(n, m, s=0.5, *, rng, size=None, alpha_mean=ALPHA_MEAN, alpha_sd=ALPHA_SD,
                 position_decay=POSITION_DECAY):
    """Non-separable CTRs ``p[i, j] = sigmoid(alpha_i + beta_j + s * eps_ij)`` (SPEC §7).

    ``alpha_i ~ Normal(alpha_mean, alpha_sd)``, ``beta_j = -position_decay * j`` and
    ``eps_ij ~ Normal(0, 1)``: ``s`` sets how far ``p`` is from separable (how much a
    creative's fit depends on the context of the position). ``s = 0`` is nearly separable.

    Parameters
    ----------
    n, m : int
        Advertisers and positions.
    s : float
        Non-separability, ``>= 0``.
    rng : seed or numpy.random.Generator
        Source of the draws: first ``alpha`` ``(size, n)``, then ``eps`` ``(size, n, m)``.
    size : int, optional
        Draw a stack of ``size`` matrices, shape ``(size, n, m)``.
    alpha_mean, alpha_sd, position_decay : float
        The defaults of the module.

    Returns
    -------
    ndarray
        ``(n, m)``, or ``(size, n, m)``.

    Examples
    --------
    >>> import numpy as np
    >>> from models.ctr import nonseparable
    >>> p = nonseparable(10, 5, 1.0, rng=0, size=1000)
    >>> p.shape, bool(0.01 < p.mean() < 0.3)
    ((1000, 10, 5), True)
    >>> bool(np.all(p[:, :, 0].mean(0) > p[:, :, 4].mean(0)))   # deeper positions click less
    True
    """
    if not np.isfinite(s) or s < 0:
        raise ValueError(f"s must be a finite number >= 0, got {s!r}")
    shape = _shape(n, m, size)
    rng = np.random.default_rng(rng)
    alpha = rng.normal(alpha_mean, alpha_sd, size=shape[:2])
    x = rng.standard_normal(shape)
    logistic_ctr_into(x, float(s), alpha, float(position_decay) * np.arange(shape[2]), x)
    return x[0] if size is None else x


def context(n, m, *, rng, size=None, scorer=None):
    """Context-scored CTRs from text: creatives and positions of the shipped corpus (SPEC §8).

    Uses :func:`models.context.corpus_ctr`: the corpus is scored once, then each matrix
    draws one answer, ``m`` of its positions and ``n`` creatives.

    Parameters
    ----------
    n, m : int
        Advertisers and positions.
    rng : seed or numpy.random.Generator
        Source of the draws.
    size : int, optional
        Draw a stack of ``size`` matrices, shape ``(size, n, m)``.
    scorer : models.context.ContextScorer, optional
        Default: the shipped sentence-transformers model.
    """
    shape = _shape(n, m, size)
    try:
        from models.context import corpus_ctr
    except ImportError as exc:  # pragma: no cover - the module ships with the package
        raise RuntimeError(f"the context CTR generator needs models.context: {exc}") from None
    table = corpus_ctr(scorer)
    rng = np.random.default_rng(rng)
    p = np.empty(shape)
    for t in range(shape[0]):
        p[t] = table.draw(shape[1], shape[2], rng=rng)
    return _out(p, size)
