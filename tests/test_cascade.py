"""The cascade model (SPEC §2.2) and its exact winner determination and mechanisms (§3.3, §4).

Oracles: exhaustive search over all augmented allocations, every order included
(``tests/oracles.py``), and plain-Python twins of the kernels (``tests/cascade_twins.py``).
"""
from __future__ import annotations

import itertools
import math
import zlib

import numpy as np
import pytest
import scipy.stats as st

from auctions import _kernels, allocate, exact_cost, myerson, step_threshold_payment, vcg
from auctions.cascade import EXACT_BUDGET, MAX_TABLE, choose, subset_lattice
from models import MNL, Cascade, Independent
from cascade_twins import chain_dp_twin, lattice_twin, pair_dp_twin
from oracles import all_allocations, brute_force_optimum, brute_force_vcg

MODELS = [Cascade(), Cascade(decay=0.6), Cascade(order="text"), Cascade(decay=0.8, order="text")]


def spec_ctr(p, assignment, order, decay):
    """SPEC §2.2 word for word: walk the occupied positions in order."""
    who = {j: i for i, j in enumerate(assignment) if j >= 0}
    pi, surv = np.zeros(len(assignment)), 1.0
    for j in order:
        i = who[j]
        pi[i] = p[i, j] * surv
        surv *= decay * (1.0 - p[i, j])
    return pi


def count_allocations(n, m, k):
    return sum(math.comb(n, r) * math.perm(m, r) * math.factorial(r) for r in range(min(k, n, m) + 1))


def small_instances(count, seed, *, max_nm=6, max_allocations=4000):
    """Random (scores, p, k) with n, m <= 6; scores include negative virtual values, and
    some CTRs are zero. Sizes are drawn so that exhaustive search stays cheap."""
    rng = np.random.default_rng(seed)
    out = []
    while len(out) < count:
        n, m = rng.integers(1, max_nm + 1, size=2)
        k = int(rng.integers(1, m + 1))
        if count_allocations(n, m, k) > max_allocations:
            continue
        p = rng.uniform(0.0, 0.9, (n, m)) * (rng.random((n, m)) > 0.15)
        scores = rng.normal(0.4, 0.6, n)
        out.append((scores, p, k))
    return out


# ---------------------------------------------------------------------------------------
# The model


class TestModel:
    def test_ctr_matches_spec_for_every_augmented_allocation(self):
        rng = np.random.default_rng(0)
        p = rng.uniform(0.0, 0.95, (4, 3))
        for decay in (1.0, 0.7, 0.0):
            free, text = Cascade(decay=decay), Cascade(decay=decay, order="text")
            for assignment, order in all_allocations(4, 3, 3, orders=True):
                np.testing.assert_allclose(free.ctr(p, assignment, order),
                                           spec_ctr(p, assignment, order, decay), rtol=0, atol=1e-15)
                in_text = np.sort(order)
                np.testing.assert_allclose(free.ctr(p, assignment), spec_ctr(p, assignment, in_text, decay),
                                           rtol=0, atol=1e-15)
                # order="text" ignores the order it is given
                np.testing.assert_allclose(text.ctr(p, assignment, order),
                                           spec_ctr(p, assignment, in_text, decay), rtol=0, atol=1e-15)

    def test_one_click_at_most(self):
        rng = np.random.default_rng(1)
        p = rng.uniform(0.0, 0.99, (5, 5))
        for assignment, order in itertools.islice(all_allocations(5, 5, 5, orders=True), 0, None, 97):
            assert Cascade().ctr(p, assignment, order).sum() <= 1.0 + 1e-12

    def test_bounded_by_independent(self):
        rng = np.random.default_rng(2)
        p = rng.uniform(0.0, 0.9, (4, 4))
        for assignment, order in all_allocations(4, 4, 4, orders=True):
            assert np.all(Cascade(decay=0.9).ctr(p, assignment, order) <= Independent().ctr(p, assignment) + 1e-15)

    @pytest.mark.parametrize("kwargs, error, word", [
        ({"decay": 1.5}, ValueError, "decay"),
        ({"decay": -0.1}, ValueError, "decay"),
        ({"decay": float("nan")}, ValueError, "decay"),
        ({"decay": "1"}, TypeError, "decay"),
        ({"decay": True}, TypeError, "decay"),
        ({"order": "random"}, ValueError, "order"),
    ])
    def test_bad_arguments(self, kwargs, error, word):
        with pytest.raises(error, match=word):
            Cascade(**kwargs)

    def test_bad_order_argument(self):
        p = np.full((2, 3), 0.3)
        with pytest.raises(ValueError, match="order"):
            Cascade().ctr(p, [0, 2], order=[0, 1])
        with pytest.raises(ValueError, match="order"):
            Cascade().ctr(p, [0, 2], order=[0, 2, 2])
        with pytest.raises(ValueError, match="order"):
            Cascade().ctr(p, [0, 2], order=[0.0, 2.0])

    def test_value_semantics(self):
        assert Cascade() == Cascade(1.0, "free") and Cascade() != Cascade(decay=0.5)
        assert Cascade(order="text") != Cascade() and Cascade() != MNL()
        assert len({Cascade(), Cascade(), Cascade(decay=0.5)}) == 2
        assert repr(Cascade()) == "Cascade()"
        assert repr(Cascade(decay=0.5, order="text")) == "Cascade(decay=0.5, order='text')"
        assert Cascade().order_sensitive


# ---------------------------------------------------------------------------------------
# Kernels against their twins


@pytest.mark.parametrize("ncol, k", [(1, 1), (4, 1), (5, 3), (6, 6), (7, 2), (9, 4)])
def test_subset_lattice_matches_twin(ncol, k):
    offset, nxt = subset_lattice(ncol, k)
    t_offset, t_nxt = lattice_twin(ncol, k)
    np.testing.assert_array_equal(offset, t_offset)
    np.testing.assert_array_equal(nxt, t_nxt)


def test_chain_dp_matches_twin():
    rng = np.random.default_rng(3)
    for _ in range(60):
        nrow, ncol = rng.integers(1, 7, size=2)
        k = int(rng.integers(1, min(nrow, ncol) + 1))
        val = rng.uniform(-0.2, 1.0, (nrow, ncol))
        cont = rng.uniform(0.0, 1.0, (nrow, ncol))
        offset, nxt = subset_lattice(int(ncol), k)
        g = np.empty((nrow + 1, offset[-1] + 1))
        value = _kernels.cascade_chain_dp(val, cont, k, nxt, offset, g)
        cols = np.empty(nrow, dtype=np.int64)
        count = _kernels.cascade_chain_path(val, cont, k, nxt, offset, g, cols)
        t_value, t_cols = chain_dp_twin(val, cont, k)
        assert value == pytest.approx(t_value, rel=1e-12, abs=1e-15)
        np.testing.assert_array_equal(cols, t_cols)
        assert count == np.count_nonzero(t_cols >= 0)


def test_pair_dp_matches_twin():
    rng = np.random.default_rng(4)
    for _ in range(40):
        n, m = rng.integers(1, 5, size=2)
        k = int(rng.integers(1, min(n, m) + 1))
        val = rng.uniform(-0.2, 1.0, (n, m))
        cont = rng.uniform(0.0, 1.0, (n, m))
        items = rng.permutation([(i, j) for i in range(n) for j in range(m)])
        ii, jj = items[:, 0].astype(np.int64), items[:, 1].astype(np.int64)
        off_a, nxt_a = subset_lattice(int(n), k)
        off_b, nxt_b = subset_lattice(int(m), k)
        off2 = np.concatenate(([0], np.cumsum([math.comb(n, r) * math.comb(m, r) for r in range(k + 1)])))
        g = np.empty((ii.size + 1, off2[-1]))
        value = _kernels.cascade_pair_dp(val, cont, ii, jj, k, off_a, nxt_a, off_b, nxt_b, off2, g)
        take = np.empty(ii.size, dtype=np.bool_)
        _kernels.cascade_pair_path(val, cont, ii, jj, k, off_a, nxt_a, off_b, nxt_b, off2, g, take)
        t_value, t_take = pair_dp_twin(val, cont, tuple(ii), tuple(jj), k)
        assert value == pytest.approx(t_value, rel=1e-12, abs=1e-15)
        np.testing.assert_array_equal(take, t_take)


# ---------------------------------------------------------------------------------------
# Exact winner determination against exhaustive search


@pytest.mark.parametrize("model", MODELS, ids=repr)
def test_exact_equals_brute_force_over_all_allocations_and_orders(model):
    for scores, p, k in small_instances(40, seed=zlib.crc32(repr(model).encode())):
        best, _ = brute_force_optimum(scores, p, model, k)
        alloc = allocate(scores, p, model=model, k=k, method="exact")
        assert alloc.value == pytest.approx(best, rel=1e-10, abs=1e-12)
        assert alloc.exact and alloc.method == "exact" and alloc.ratio == 1.0
        # the reported CTRs are the model's for the reported augmented allocation
        np.testing.assert_allclose(alloc.ctr, model.ctr(p, alloc.assignment, alloc.order), rtol=0, atol=0)
        assert not np.any(alloc.assignment[scores <= 0] >= 0), "a non-positive score was shown"


def test_exact_on_the_largest_brute_force_instances():
    """n = m = 6 with k = 2, and 4 x 4 with every k: all allocations, all orders."""
    rng = np.random.default_rng(5)
    for (n, m, k), model in itertools.product([(6, 6, 2), (4, 4, 4)], MODELS[:3]):
        scores, p = rng.normal(0.5, 0.5, n), rng.uniform(0.0, 0.9, (n, m))
        best, _ = brute_force_optimum(scores, p, model, k)
        assert allocate(scores, p, model=model, k=k, method="exact").value == pytest.approx(best, rel=1e-10)


def test_feasible():
    for scores, p, k in small_instances(30, seed=6):
        for model in MODELS:
            a = allocate(scores, p, model=model, k=k)
            shown = a.assignment[a.assignment >= 0]
            assert shown.size <= k and np.unique(shown).size == shown.size
            assert sorted(a.order) == sorted(shown)


def test_order_lists_creatives_by_score_descending():
    rng = np.random.default_rng(7)
    for _ in range(200):
        n, m = rng.integers(2, 8), rng.integers(2, 6)
        k = int(rng.integers(1, m + 1))
        scores, p = rng.uniform(0.0, 1.0, n), rng.uniform(0.01, 0.9, (n, m))
        a = allocate(scores, p, model=Cascade(), k=k)
        who = {j: i for i, j in enumerate(a.assignment) if j >= 0}
        met = [who[j] for j in a.order]
        assert np.all(np.diff(scores[met]) <= 0)


def test_ties_break_by_lowest_index():
    p = np.full((3, 2), 0.4)
    a = allocate([1.0, 1.0, 1.0], p, model=Cascade(), k=2)
    assert a.assignment.tolist() == [0, 1, -1]
    assert a.order.tolist() == [0, 1]
    # equal scores are met in index order even when the lower index sits lower on the page
    p = np.array([[0.2, 0.5], [0.5, 0.1]])
    a = allocate([1.0, 1.0], p, model=Cascade(), k=2)
    assert a.assignment.tolist() == [1, 0] and a.order.tolist() == [1, 0]


def test_text_order_is_text_order():
    rng = np.random.default_rng(8)
    for _ in range(50):
        scores, p = rng.uniform(0.0, 1.0, 5), rng.uniform(0.0, 0.9, (5, 4))
        a = allocate(scores, p, model=Cascade(order="text", decay=0.9), k=3)
        assert a.order.tolist() == sorted(a.order.tolist())


def test_empty_and_degenerate():
    p = np.full((3, 2), 0.3)
    for model in MODELS:
        a = allocate([-1.0, 0.0, -2.0], p, model=model, k=2)
        assert a.assignment.tolist() == [-1, -1, -1] and a.value == 0.0 and a.order.size == 0
        a = allocate([1.0, 2.0, 3.0], np.zeros((3, 2)), model=model, k=2)
        assert a.value == 0.0 and a.order.size == 0
    # decay 0: only the first creative met can be clicked
    a = allocate([1.0, 0.9], np.array([[0.5, 0.4], [0.5, 0.4]]), model=Cascade(decay=0.0), k=2)
    assert a.value == pytest.approx(0.5)


# ---------------------------------------------------------------------------------------
# Mechanisms on the exact rule


@pytest.mark.parametrize("model", MODELS[:3], ids=repr)
def test_vcg_equals_brute_force_vcg(model):
    for scores, p, k in small_instances(20, seed=9, max_allocations=1500):
        bids = np.abs(scores)
        welfare, pay = brute_force_vcg(bids, p, model, k)
        out = vcg(bids, p, model=model, k=k)
        assert out.welfare == pytest.approx(welfare, rel=1e-10, abs=1e-12)
        np.testing.assert_allclose(out.payments, pay, rtol=1e-9, atol=1e-12)
        assert out.allocation.exact and out.mechanism == "vcg"


def test_vcg_shortcut_equals_generic_path():
    """The one-pass VCG of Cascade() equals re-solving without each winner."""
    rng = np.random.default_rng(10)
    for _ in range(30):
        n, m = rng.integers(2, 9), rng.integers(2, 7)
        k = int(rng.integers(1, m + 1))
        bids, p = rng.uniform(0.0, 1.0, n), rng.uniform(0.0, 0.8, (n, m))
        out = vcg(bids, p, model=Cascade(), k=k)
        alloc = allocate(bids, p, model=Cascade(), k=k, method="exact")
        np.testing.assert_array_equal(out.assignment, alloc.assignment)
        np.testing.assert_array_equal(out.order, alloc.order)
        np.testing.assert_allclose(out.ctr, alloc.ctr, rtol=0, atol=0)
        for i in np.flatnonzero(alloc.assignment >= 0):
            without = bids.copy()
            without[i] = 0.0
            w_minus = allocate(without, p, model=Cascade(), k=k, method="exact").value
            assert out.payments[i] == pytest.approx(w_minus - (alloc.value - bids[i] * alloc.ctr[i]), abs=1e-12)


def test_vcg_payments_are_threshold_payments():
    """For an exact rule, VCG's payment is b pi(b) - integral of pi: computed here by
    bisection on the rule itself, independently of the envelope and the re-solves."""
    rng = np.random.default_rng(11)
    for model in MODELS[:3]:
        bids, p = rng.uniform(0.1, 1.0, 5), rng.uniform(0.05, 0.8, (5, 3))
        out = vcg(bids, p, model=model, k=2)
        for i in np.flatnonzero(out.assignment >= 0):
            def ctr_of(z, i=i):
                b = bids.copy()
                b[i] = z
                return allocate(b, p, model=model, k=2, method="exact").ctr[i]
            assert out.payments[i] == pytest.approx(step_threshold_payment(ctr_of, bids[i], out.ctr[i]), abs=1e-10)


def test_myerson_payments_are_threshold_payments():
    rng = np.random.default_rng(12)
    prior = st.uniform(0, 1)
    for model in MODELS[:3]:
        bids, p = rng.uniform(0.3, 1.0, 5), rng.uniform(0.05, 0.8, (5, 3))
        out = myerson(bids, p, model=model, k=2, priors=prior)
        np.testing.assert_allclose(out.scores, 2 * bids - 1)
        for i in np.flatnonzero(out.assignment >= 0):
            def ctr_of(z, i=i):
                b = bids.copy()
                b[i] = z
                return allocate(2 * b - 1, p, model=model, k=2, method="exact").ctr[i]
            assert out.payments[i] == pytest.approx(step_threshold_payment(ctr_of, bids[i], out.ctr[i]), abs=1e-9)
        assert np.all(out.assignment[bids <= 0.5] < 0)  # reserve 1/2


def test_exact_rule_is_monotone():
    rng = np.random.default_rng(13)
    for model in MODELS:
        for _ in range(5):
            b, p = rng.uniform(0.1, 1.0, 4), rng.uniform(0.05, 0.9, (4, 3))
            i = int(rng.integers(4))
            ctrs = []
            for z in np.linspace(0.0, 2.0, 81):
                b[i] = z
                ctrs.append(allocate(b, p, model=model, k=2, method="exact").ctr[i])
            assert np.all(np.diff(ctrs) >= -1e-12)


# ---------------------------------------------------------------------------------------
# The batch kernel


def test_vcg_batch_equals_vcg_serial_and_parallel():
    rng = np.random.default_rng(14)
    for n, m, k in [(10, 5, 3), (6, 4, 4), (3, 6, 2), (1, 1, 1)]:
        size = 300
        bids = rng.uniform(0.0, 1.0, (size, n)) * (rng.random((size, n)) > 0.1)
        p = rng.uniform(0.0, 0.6, (size, n, m)) * (rng.random((size, n, m)) > 0.05)
        outs = []
        for kernel in (_kernels.cascade_vcg_batch, _kernels.cascade_vcg_batch_parallel):
            assign, ctr, pay = np.empty((size, n), dtype=np.int64), np.empty((size, n)), np.empty((size, n))
            welfare = kernel(bids, p, k, assign, ctr, pay)
            outs.append((assign, ctr, pay, welfare))
        for a, b in zip(*outs):
            np.testing.assert_array_equal(a, b)  # bit-identical
        assign, ctr, pay, welfare = outs[0]
        for t in range(0, size, 10):
            out = vcg(bids[t], p[t], model=Cascade(), k=k)
            np.testing.assert_array_equal(assign[t], out.assignment)
            np.testing.assert_allclose(ctr[t], out.ctr, rtol=0, atol=0)
            np.testing.assert_allclose(pay[t], out.payments, rtol=0, atol=1e-15)
            assert welfare[t] == pytest.approx(out.welfare, rel=1e-12, abs=1e-15)


def test_vcg_batch_against_brute_force():
    rng = np.random.default_rng(15)
    size, n, m, k = 20, 4, 3, 2
    bids, p = rng.uniform(0.0, 1.0, (size, n)), rng.uniform(0.0, 0.8, (size, n, m))
    assign, ctr, pay = np.empty((size, n), dtype=np.int64), np.empty((size, n)), np.empty((size, n))
    _kernels.cascade_vcg_batch(bids, p, k, assign, ctr, pay)
    for t in range(size):
        welfare, bf_pay = brute_force_vcg(bids[t], p[t], Cascade(), k)
        assert np.dot(bids[t], ctr[t]) == pytest.approx(welfare, rel=1e-10)
        np.testing.assert_allclose(pay[t], bf_pay, rtol=1e-9, atol=1e-12)


# ---------------------------------------------------------------------------------------
# method="auto" and the budget


def test_auto_runs_exact_within_budget_and_says_so():
    rng = np.random.default_rng(16)
    scores, p = rng.uniform(0, 1, 10), rng.uniform(0, 0.5, (10, 5))
    for model in MODELS:
        a = allocate(scores, p, model=model, k=3)
        assert a.method == "exact" and a.exact
    out = vcg(scores, p, model=Cascade(), k=3)
    assert out.allocation.method == "exact"


def test_auto_falls_back_to_approximations_beyond_budget():
    rng = np.random.default_rng(17)
    scores, p = rng.uniform(0, 1, 30), rng.uniform(0, 0.3, (30, 25))
    a = allocate(scores, p, model=Cascade(), k=6)
    assert exact_cost(30, 25, 6, Cascade())[0] > EXACT_BUDGET
    assert a.method == "local_search" and not a.exact
    assert a.upper_bound >= a.value and a.ratio == pytest.approx(a.value / a.upper_bound)
    assert choose(None, np.zeros((300, 60)), Cascade(), 10).name == "greedy"


def test_auto_decision_ignores_the_scores():
    p = np.zeros((50, 16))
    rng = np.random.default_rng(18)
    names = {choose(rng.normal(size=50), p, Cascade(), 16).name for _ in range(5)}
    assert names == {"exact"}


@pytest.mark.parametrize("n, m, k, model", [
    (50, 16, 16, Cascade()), (10, 40, 3, Cascade()), (12, 30, 12, Cascade(order="text")),
    (6, 6, 6, Cascade(decay=0.5)), (5, 6, 3, Cascade(decay=0.5, order="text")),
])
def test_exact_cost_formula(n, m, k, model):
    kk = min(k, n, m)
    steps, table = exact_cost(n, m, k, model)
    if model.order == "text":
        states = sum(math.comb(n, r) for r in range(kk + 1))
        assert (steps, table) == (m * n * states, (m + 1) * states)
    elif model.decay == 1.0:
        states = sum(math.comb(m, r) for r in range(kk + 1))
        assert (steps, table) == (n * m * states, (n + 1) * states)
    else:
        states = sum(math.comb(n, r) * math.comb(m, r) for r in range(kk + 1))
        assert (steps, table) == (n * m * states, (n * m + 1) * states)


def test_exact_any_m_when_k_at_most_3():
    """k <= 3: the state space grows like m**3 only; m = 60 is exact and matches the
    independent upper bound's ceiling."""
    rng = np.random.default_rng(19)
    scores, p = rng.uniform(0, 1, 8), rng.uniform(0, 0.4, (8, 60))
    a = allocate(scores, p, model=Cascade(), k=3, method="exact")
    ls = allocate(scores, p, model=Cascade(), k=3, method="local_search")
    assert a.exact and a.value >= ls.value - 1e-12 and a.value <= ls.upper_bound + 1e-12


def test_exact_refuses_tables_beyond_the_limit():
    p = np.full((40, 26), 0.1)
    assert exact_cost(40, 26, 13, Cascade())[1] > MAX_TABLE
    with pytest.raises(ValueError, match="method"):
        allocate(np.ones(40), p, model=Cascade(), k=13, method="exact")


def test_unknown_method():
    with pytest.raises(ValueError, match="method"):
        allocate([1.0], [[0.5]], model=Cascade(), method="dinkelbach")
