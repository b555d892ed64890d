"""One contract for every registered mechanism (SPEC §5), under every user model it supports."""
import numpy as np
import pytest
import scipy.stats as st

import models
from auctions import MECHANISMS, vcg

PRIOR = st.uniform(0, 1)
MODELS = [models.MNL(), models.Independent()] + ([models.Cascade()] if hasattr(models, "Cascade") else [])


def run(mech, bids, p, model, k):
    return mech(bids, p, model=model, k=k, priors=PRIOR if mech.needs_priors else None)


def instances(seed, count):
    rng = np.random.default_rng(seed)
    for _ in range(count):
        n, m = int(rng.integers(1, 6)), int(rng.integers(1, 5))
        k = int(rng.integers(1, m + 1))
        values = rng.uniform(0, 1, n)
        if rng.uniform() < 0.3:
            values[rng.integers(n)] = 0.0
        yield values, rng.uniform(0, 0.8, (n, m)), k, rng


@pytest.mark.parametrize("model", MODELS, ids=repr)
@pytest.mark.parametrize("name", sorted(MECHANISMS))
def test_feasible_individually_rational_and_losers_pay_nothing(name, model):
    mech = MECHANISMS[name]
    if not mech.runs(model):
        pytest.skip(f"{name} does not run under {model!r}")
    for values, p, k, _ in instances(0, 25):
        out = run(mech, values, p, model, k)
        shown = out.assignment[out.assignment >= 0]
        assert len(shown) <= k and len(set(shown)) == len(shown)
        assert np.array_equal(np.sort(out.order), np.sort(shown))
        assert np.all(out.payments >= 0)
        assert np.all(out.payments[out.assignment < 0] == 0)
        assert np.all(out.payments <= values * out.ctr + 1e-12)
        np.testing.assert_allclose(out.ctr, model.ctr(p, out.assignment, out.order), rtol=1e-12)
        assert out.revenue == pytest.approx(out.payments.sum())


@pytest.mark.parametrize("model", MODELS, ids=repr)
@pytest.mark.parametrize("name", sorted(MECHANISMS))
def test_no_profitable_misreport_for_truthful_mechanisms(name, model):
    mech = MECHANISMS[name]
    if not mech.is_truthful(model):
        pytest.skip(f"{name} does not claim truthfulness under {model!r}")
    for values, p, k, rng in instances(1, 12):
        out = run(mech, values, p, model, k)
        utility = values * out.ctr - out.payments
        for i in range(len(values)):
            for report in np.concatenate([rng.uniform(0, 1.5, 4), [0.0, values[i] * 1.01]]):
                bids = values.copy()
                bids[i] = report
                dev = run(mech, bids, p, model, k)
                gain = values[i] * dev.ctr[i] - dev.payments[i] - utility[i]
                assert gain <= 1e-9 * max(1.0, abs(utility[i])), (i, report, gain)


@pytest.mark.parametrize("model", MODELS, ids=repr)
def test_vcg_welfare_is_highest(model):
    for values, p, k, _ in instances(2, 25):
        best = vcg(values, p, model=model, k=k).welfare
        for name, mech in MECHANISMS.items():
            if mech.runs(model):
                assert run(mech, values, p, model, k).welfare <= best + 1e-12, name
