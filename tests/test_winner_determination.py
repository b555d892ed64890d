"""Exact winner determination (SPEC §3.1-3.2) against brute force, the LP and the SciPy twin."""
import numpy as np
import pytest
from hypothesis import given, settings
from oracles import brute_force_optimum
from strategies import instances
from twins import lsa_optimum

from auctions import allocate, methods
from auctions import _kernels
from models import MNL, Independent

MODELS = [MNL(), Independent()]


def random_instance(seed, max_n=6, max_m=6):
    rng = np.random.default_rng(seed)
    n, m = rng.integers(1, max_n + 1), rng.integers(1, max_m + 1)
    k = int(rng.integers(1, m + 1))
    scores = rng.uniform(-0.5, 1.0, n)  # negative scores: virtual values below the reserve
    p = rng.uniform(0.0, 0.9, (n, m))
    return scores, p, k


@pytest.mark.parametrize("model", MODELS, ids=repr)
@pytest.mark.parametrize("seed", range(60))
def test_exact_methods_equal_brute_force(model, seed):
    scores, p, k = random_instance(seed)
    best, _ = brute_force_optimum(scores, p, model, k)
    for method in methods(model):
        alloc = allocate(scores, p, model=model, k=k, method=method)
        assert alloc.value == pytest.approx(best, rel=1e-9, abs=1e-12), method
        assert alloc.exact and alloc.ratio == 1.0
        assert np.all(alloc.assignment[scores <= 0] == -1)  # never show a non-positive score


@pytest.mark.parametrize("seed", range(100))
def test_dinkelbach_kernel_equals_scipy_twin(seed):
    scores, p, k = random_instance(seed, max_n=12, max_m=8)
    w = MNL().weights(p)
    assign = np.empty(len(scores), dtype=np.int64)
    value = _kernels.optimum(_kernels.MNL, scores, w, k, assign)
    assert value == pytest.approx(lsa_optimum(scores, w, k, fractional=True)[1], rel=1e-12)


def test_mnl_optimum_shows_only_scores_above_the_optimum():
    """SPEC §3.2: at the optimum only creatives with a_i > W* are shown, so k need not bind."""
    rng = np.random.default_rng(7)
    for _ in range(50):
        scores, p = rng.uniform(0, 1, 8), rng.uniform(0.05, 0.9, (8, 5))
        alloc = allocate(scores, p, model=MNL(), k=5)
        shown = alloc.assignment >= 0
        assert np.all(scores[shown] > alloc.value)


def test_mnl_rho_calibration():
    p = np.array([[0.2, 0.1], [0.3, 0.05]])
    a = allocate([1.0, 1.0], p, model=MNL(rho=np.log(p / (1 - p))), k=2)
    b = allocate([1.0, 1.0], p, model=MNL(), k=2)
    assert np.array_equal(a.assignment, b.assignment) and a.value == pytest.approx(b.value)


@given(instances())
@settings(max_examples=150, deadline=None)
def test_property_optimal_and_feasible(instance):
    bids, p, k = instance
    for model in MODELS:
        alloc = allocate(bids, p, model=model, k=k)
        shown = alloc.assignment[alloc.assignment >= 0]
        assert len(shown) <= k and len(set(shown)) == len(shown)
        assert alloc.value == pytest.approx(brute_force_optimum(bids, p, model, k)[0], abs=1e-12)
        assert np.array_equal(np.sort(shown), alloc.order)


def test_independent_welfare_bounds_mnl():
    rng = np.random.default_rng(3)
    for _ in range(50):
        bids, p = rng.uniform(0, 1, 6), rng.uniform(0, 0.9, (6, 4))
        a = allocate(bids, p, model=MNL(), k=3)
        assert Independent().welfare(bids, p, a.assignment) >= a.value - 1e-12
        assert allocate(bids, p, model=Independent(), k=3).value >= a.value - 1e-12
