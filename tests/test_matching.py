"""The cardinality-constrained matching kernel against networkx and its SciPy twin, and the
residual-cycle certificate of MNL winner determination against the twin and brute force."""
import networkx as nx
import numpy as np
import pytest
from oracles import brute_force_optimum
from twins import lsa_matching_k

from auctions._kernels import MNL as MNL_CODE
from auctions._kernels import _residual_cycle, max_weight_matching_k, optimum_ws, workspace
from models import MNL


def kernel(w, k):
    n, m = w.shape
    rows, cols = np.empty(n, dtype=np.int64), np.empty(m, dtype=np.int64)
    value = max_weight_matching_k(np.asarray(w, dtype=float), k, rows, cols)
    return value, rows, cols


def networkx_value(w, k):
    """Min-cost flow of ``k`` units with a free bypass: the best matching of at most k edges."""
    n, m = w.shape
    g = nx.DiGraph()
    g.add_node("s", demand=-k)
    g.add_node("t", demand=k)
    g.add_edge("s", "t", capacity=k, weight=0)
    for i in range(n):
        g.add_edge("s", ("r", i), capacity=1, weight=0)
        for j in range(m):
            if w[i, j] > 0:
                g.add_edge(("r", i), ("c", j), capacity=1, weight=-int(w[i, j]))
    for j in range(m):
        g.add_edge(("c", j), "t", capacity=1, weight=0)
    return -nx.min_cost_flow_cost(g)


def assert_feasible(w, k, rows, cols):
    shown = np.flatnonzero(rows >= 0)
    assert len(shown) <= k
    assert len(set(rows[shown])) == len(shown)  # each position used once
    assert np.all(w[shown, rows[shown]] > 0)  # positive edges only
    for i in shown:
        assert cols[rows[i]] == i


@pytest.mark.parametrize("seed", range(300))
def test_integer_weights_with_ties_zeros_and_negatives_match_networkx(seed):
    rng = np.random.default_rng(seed)
    n, m = rng.integers(1, 8, size=2)
    k = int(rng.integers(1, m + 1))
    w = rng.integers(-3, 6, size=(n, m)).astype(float)  # many ties and zeros
    value, rows, cols = kernel(w, k)
    assert value == networkx_value(w, k)
    assert_feasible(w, k, rows, cols)


@pytest.mark.parametrize("seed", range(300))
def test_float_weights_match_linear_sum_assignment(seed):
    rng = np.random.default_rng(1000 + seed)
    n, m = rng.integers(1, 12, size=2)
    k = int(rng.integers(1, m + 1))
    w = rng.normal(size=(n, m))
    value, rows, cols = kernel(w, k)
    assert value == pytest.approx(lsa_matching_k(w, k)[1], rel=1e-12, abs=1e-12)
    assert_feasible(w, k, rows, cols)


def test_top_k_of_full_assignment_is_not_the_answer():
    """SPEC §3.1: keeping the k heaviest pairs of the full assignment is suboptimal here."""
    w = np.array([[10.0, 9.0], [9.0, 0.0]])
    value, rows, _ = kernel(w, 1)
    assert value == 10.0 and rows.tolist() == [0, -1]
    # the full assignment is (0->1, 1->0) = 18; its heaviest pair alone is 9 < 10
    value2, rows2, _ = kernel(w, 2)
    assert value2 == 18.0 and rows2.tolist() == [1, 0]


def test_nothing_positive_means_nothing_matched():
    value, rows, cols = kernel(-np.ones((3, 2)), 2)
    assert value == 0.0 and np.all(rows == -1) and np.all(cols == -1)


def test_deterministic_under_ties():
    w = np.ones((4, 3))
    first = kernel(w, 2)
    for _ in range(5):
        again = kernel(w, 2)
        assert np.array_equal(first[1], again[1])


# --- the residual-cycle certificate of MNL winner determination ----------------------------

def _random_matching(rng, n, m, k):
    """A random feasible assignment with at most ``k`` pairs."""
    size = int(rng.integers(0, min(n, m, k) + 1))
    assign = np.full(n, -1, dtype=np.int64)
    rows = rng.choice(n, size=size, replace=False)
    assign[rows] = rng.choice(m, size=size, replace=False)
    return assign


def _weight(c, assign):
    shown = assign >= 0
    return float(c[shown, assign[shown]].sum())


def test_residual_cycle_certifies_exactly_the_optimal_matchings():
    """Status 0 only for maximum-weight matchings (the LSA twin decides); status 1 writes a
    feasible, strictly heavier matching; repeating it reaches the optimum (cycle cancelling).
    Both answers must occur: a certificate that always says 0 or always 1 fails here."""
    rng = np.random.default_rng(2024)
    ws = workspace(8, 7)
    seen = {0: 0, 1: 0, 2: 0}
    for trial in range(1500):
        n, m = (int(x) for x in rng.integers(1, 8, size=2))
        k = int(rng.integers(1, m + 1))
        a = rng.uniform(0, 1, n) if trial % 3 else rng.integers(0, 3, n).astype(float)  # ties
        q = rng.uniform(0, 0.5, (n, m)) if trial % 3 else rng.integers(0, 3, (n, m)) / 4.0
        lam = float(rng.uniform(0, 0.6))
        c = (a - lam)[:, None] * q
        best = lsa_matching_k(c, k)[1]
        assign = _random_matching(rng, n, m, k)
        for _ in range(60):  # cancel until certified
            before = _weight(c, assign)
            status = _residual_cycle(a, q, k, lam, assign, ws[10][:, :m + 2, :m + 2],
                                     ws[11][:, :m + 2], ws[12][:, :m + 2], ws[9])
            seen[status] += 1
            if status != 1:
                break
            rows = assign[assign >= 0]
            assert len(rows) <= k and len(set(rows.tolist())) == len(rows)
            assert _weight(c, assign) > before
        if status == 0:
            assert _weight(c, assign) >= best - 1e-12 * max(1.0, abs(best))
    assert seen[0] > 500 and seen[1] > 500 and seen[2] <= 5, seen


@pytest.mark.parametrize("seed", range(200))
def test_mnl_optimum_from_any_hint_is_the_brute_force_optimum(seed):
    """The hint only seeds the search: a random feasible start gives the same optimum."""
    rng = np.random.default_rng(5000 + seed)
    n, m = (int(x) for x in rng.integers(1, 6, size=2))
    k = int(rng.integers(1, m + 1))
    a = rng.uniform(0, 1, n)
    p = rng.uniform(0, 0.6, (n, m))
    w = p / (1 - p)
    hint = _random_matching(rng, n, m, k)
    assign = np.empty(n, dtype=np.int64)
    value = optimum_ws(MNL_CODE, a, w, k, assign, workspace(n, m), hint)
    expected, _ = brute_force_optimum(a, p, MNL(), k)
    assert value == pytest.approx(expected, rel=1e-12, abs=1e-15)
    shown = assign >= 0
    assert np.dot(a[shown], w[shown, assign[shown]]) / (1 + w[shown, assign[shown]].sum()) == \
        pytest.approx(value, rel=1e-12, abs=1e-15)
