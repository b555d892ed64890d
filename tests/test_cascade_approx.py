"""Approximate cascade winner determination (SPEC §3.3): guarantees, certificates, kernels
against their twins, and the (non-)monotonicity of the rules behind the threshold mechanisms.
"""
from __future__ import annotations

import numpy as np
import pytest

from auctions import (
    MECHANISMS, _kernels, allocate, cascade_greedy, cascade_local_search, step_threshold_payment,
    threshold_auction, vcg,
)
from auctions.allocation import independent_upper_bound
from auctions.cascade import GUARANTEES, LOCAL_SEARCH_SWAP, _objective
from auctions.threshold import MONOTONE
from cascade_twins import greedy_twin, local_search_twin, sequence_value
from models import MNL, Cascade
from oracles import brute_force_optimum

MODELS = [Cascade(), Cascade(decay=0.6), Cascade(order="text"), Cascade(decay=0.8, order="text")]


def random_instance(rng, max_n=6, max_m=6):
    n, m = rng.integers(1, max_n + 1), rng.integers(1, max_m + 1)
    k = int(rng.integers(1, m + 1))
    p = rng.uniform(0.0, 0.9, (n, m)) * (rng.random((n, m)) > 0.1)
    scores = rng.normal(0.5, 0.5, n)
    return scores, p, k


def pairs_of(assignment, order):
    who = {j: i for i, j in enumerate(assignment) if j >= 0}
    return [(who[j], j) for j in order]


# ---------------------------------------------------------------------------------------
# Kernels against their twins


@pytest.mark.parametrize("model", MODELS, ids=repr)
def test_greedy_kernel_matches_twin(model):
    rng = np.random.default_rng(20)
    for _ in range(40):
        scores, p, k = random_instance(rng)
        val, cont, key = _objective(scores, p, model)
        rows, cols = np.empty(k, dtype=np.int64), np.empty(k, dtype=np.int64)
        count = _kernels.cascade_greedy(val, cont, key, k, rows, cols)
        assert list(zip(rows[:count].tolist(), cols[:count].tolist())) == greedy_twin(val, cont, key, k)


@pytest.mark.parametrize("model", MODELS, ids=repr)
def test_local_search_kernel_matches_twin(model):
    rng = np.random.default_rng(21)
    monotone = model.order == "free"
    for _ in range(25):
        scores, p, k = random_instance(rng, max_n=5, max_m=4)
        val, cont, key = _objective(scores, p, model)
        rows, cols = np.empty(k, dtype=np.int64), np.empty(k, dtype=np.int64)
        count = _kernels.cascade_greedy(val, cont, key, k, rows, cols)
        start = list(zip(rows[:count].tolist(), cols[:count].tolist()))
        count = _kernels.cascade_local_search(val, cont, key, k, LOCAL_SEARCH_SWAP, monotone, rows, cols,
                                              count, 10_000)
        got = list(zip(rows[:count].tolist(), cols[:count].tolist()))
        want = local_search_twin(val, cont, key, k, LOCAL_SEARCH_SWAP, monotone, start)
        assert got == want
        assert _kernels.cascade_sequence_value(val, cont, rows, cols, count) == pytest.approx(
            sequence_value(val, cont, want), abs=1e-15)


# ---------------------------------------------------------------------------------------
# Guarantees and certificates on 500 random small instances


def test_approximation_ratios_on_500_instances(record_property):
    """decay = 1, free order: greedy >= 1/3 and local search >= 2/5 of the exact optimum on
    every instance, and the certificate ``ratio`` never overstates the true ratio."""
    rng = np.random.default_rng(22)
    model = Cascade()
    ratios = {"greedy": [], "local_search": []}
    for _ in range(500):
        n, m = rng.integers(2, 9), rng.integers(2, 7)
        k = int(rng.integers(2, m + 1))
        p = rng.uniform(0.0, 0.9, (n, m)) ** rng.uniform(0.3, 3.0)
        scores = rng.uniform(0.0, 1.0, n) ** rng.uniform(0.3, 3.0)
        opt = allocate(scores, p, model=model, k=k, method="exact").value
        for method, seen in ratios.items():
            a = allocate(scores, p, model=model, k=k, method=method)
            assert not a.exact and a.method == method
            true_ratio = a.value / opt if opt > 0 else 1.0
            seen.append(true_ratio)
            assert true_ratio >= GUARANTEES[method] - 1e-12, (method, true_ratio)
            assert a.value <= opt * (1 + 1e-12) + 1e-15
            # the certificate: a true upper bound, hence a true lower bound on the ratio
            assert a.upper_bound == pytest.approx(independent_upper_bound(scores, p, k), rel=1e-12)
            assert a.upper_bound >= opt * (1 - 1e-12)
            assert a.ratio == pytest.approx(a.value / a.upper_bound if a.upper_bound > 0 else 1.0)
            assert a.ratio <= true_ratio + 1e-12
    for method, seen in ratios.items():
        worst, mean = float(np.min(seen)), float(np.mean(seen))
        record_property(f"{method}_worst_ratio", worst)
        record_property(f"{method}_mean_ratio", mean)
        print(f"{method}: worst ratio {worst:.6f}, mean {mean:.6f} over {len(seen)} instances")
    assert np.mean(ratios["local_search"]) >= np.mean(ratios["greedy"])
    assert all(ls >= g - 1e-12 for g, ls in zip(ratios["greedy"], ratios["local_search"]))


@pytest.mark.parametrize("model", MODELS[1:], ids=repr)
def test_heuristics_are_certified_where_no_ratio_is_proven(model):
    """decay < 1 or text order: no guarantee, but feasible, below the optimum, and certified."""
    rng = np.random.default_rng(23)
    for _ in range(60):
        scores, p, k = random_instance(rng, max_n=5, max_m=4)
        opt, _ = brute_force_optimum(scores, p, model, k)
        for method in ("greedy", "local_search"):
            a = allocate(scores, p, model=model, k=k, method=method)
            shown = a.assignment[a.assignment >= 0]
            assert shown.size <= k and np.unique(shown).size == shown.size
            assert a.value <= opt + 1e-12 and a.upper_bound >= opt - 1e-12
            np.testing.assert_allclose(a.ctr, model.ctr(p, a.assignment, a.order), rtol=0, atol=0)


def test_local_search_never_worse_than_greedy():
    rng = np.random.default_rng(24)
    for model in MODELS:
        for _ in range(40):
            scores, p, k = random_instance(rng)
            g = allocate(scores, p, model=model, k=k, method="greedy").value
            assert allocate(scores, p, model=model, k=k, method="local_search").value >= g - 1e-12


def test_rendering_order_of_approximations():
    rng = np.random.default_rng(25)
    for _ in range(50):
        scores, p, k = random_instance(rng)
        for method in ("greedy", "local_search"):
            a = allocate(scores, p, model=Cascade(), k=k, method=method)
            met = [i for i, _ in pairs_of(a.assignment, a.order)]
            assert np.all(np.diff(scores[met]) <= 0)
            t = allocate(scores, p, model=Cascade(order="text"), k=k, method=method)
            assert t.order.tolist() == sorted(t.order.tolist())


def test_larger_instances_are_certified():
    rng = np.random.default_rng(26)
    for (n, m, k), method in (((60, 40, 10), "greedy"), ((30, 25, 6), "local_search")):
        scores, p = rng.uniform(0, 1, n), rng.uniform(0.0, 0.3, (n, m))
        a = allocate(scores, p, model=Cascade(), k=k)  # beyond the exact budget
        assert a.method == method and not a.exact
        assert a.assignment[a.assignment >= 0].size == k
        assert 0 < a.ratio <= 1 and a.upper_bound >= a.value


# ---------------------------------------------------------------------------------------
# Monotonicity of the rules, and the threshold mechanisms


def ctr_curve(method, bids, p, i, k, zs):
    out = []
    for z in zs:
        b = np.array(bids, dtype=float)
        b[i] = z
        out.append(allocate(b, p, model=Cascade(), k=k, method=method).ctr[i])
    return np.array(out)


def test_greedy_is_not_monotone():
    """Bidder 2 bids more and its CTR falls: greedy swaps bidder 1 for bidder 0, whose
    higher bid renders it ahead of bidder 2."""
    p = np.array([[0.184, 0.394], [0.112, 0.779], [0.754, 0.169]])
    low, high = ctr_curve("greedy", [0.574, 0.332, 0.0], p, 2, 2, [0.342, 0.349])
    assert low == pytest.approx(0.754) and high == pytest.approx(0.754 * (1 - 0.394))
    assert not MONOTONE["greedy"]
    assert MECHANISMS["cascade_greedy"].truthful_under == ()


def test_local_search_is_not_monotone():
    p = np.array([[0.15109364, 0.14697224, 0.53982757, 0.70124019],
                  [0.81498092, 0.48790794, 0.03500659, 0.07147377],
                  [0.66446033, 0.15622826, 0.59401748, 0.02631188],
                  [0.21497212, 0.57755555, 0.49836925, 0.61656073]])
    bids = [0.67312341, 0.0, 0.66887874, 0.36068381]
    low, high = ctr_curve("local_search", bids, p, 1, 4, [0.42095798, 0.43775630])
    assert high < low - 0.01
    assert not MONOTONE["local_search"]
    assert MECHANISMS["cascade_local_search"].truthful_under == ()


def test_threshold_mechanisms_feasible_and_rational():
    rng = np.random.default_rng(27)
    for _ in range(15):
        n, m = rng.integers(2, 6), rng.integers(2, 5)
        k = int(rng.integers(1, m + 1))
        bids, p = rng.uniform(0, 1, n), rng.uniform(0.02, 0.8, (n, m))
        for mech, method in ((cascade_greedy, "greedy"), (cascade_local_search, "local_search")):
            out = mech(bids, p, model=Cascade(), k=k)
            assert out.allocation.method == method and not out.allocation.exact
            assert np.all(out.payments >= 0) and np.all(out.payments <= bids * out.ctr + 1e-12)
            assert np.all(out.payments[out.assignment < 0] == 0)
            assert out.welfare <= vcg(bids, p, model=Cascade(), k=k).welfare + 1e-12


def test_threshold_payment_on_a_monotone_rule_is_exact():
    """On the exact rule the bisection payments equal VCG's, to about 1e-12."""
    rng = np.random.default_rng(28)
    bids, p = rng.uniform(0.1, 1, 5), rng.uniform(0.05, 0.8, (5, 3))
    out = threshold_auction(bids, p, model=Cascade(), k=2, method="exact")
    np.testing.assert_allclose(out.payments, vcg(bids, p, model=Cascade(), k=2).payments, atol=1e-11)


def test_step_threshold_payment_closed_form():
    # two steps: CTR 0.2 above 0.3, 0.5 above 0.7; bid 1: pay 0.5 - (0.2 * 0.4 + 0.5 * 0.3)
    ctr = lambda z: 0.5 if z > 0.7 else (0.2 if z > 0.3 else 0.0)  # noqa: E731
    assert step_threshold_payment(ctr, 1.0, 0.5) == pytest.approx(0.27, abs=1e-11)
    assert step_threshold_payment(ctr, 1.0, 0.0) == 0.0
    assert step_threshold_payment(ctr, 0.0, 0.5) == 0.0


def test_threshold_mechanisms_need_a_cascade():
    with pytest.raises(TypeError, match="model"):
        cascade_greedy([1.0, 0.5], np.full((2, 2), 0.3), model=MNL(), k=1)
    assert not MECHANISMS["cascade_greedy"].runs(MNL()) and MECHANISMS["cascade_greedy"].runs(Cascade())
