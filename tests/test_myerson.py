"""Myerson (SPEC §4-5): closed forms, revenue equivalence, ironing and exact payments."""
import numpy as np
import pytest
import scipy.stats as st

from auctions import VirtualValue, myerson, vcg
from models import MNL, Independent

BIMODAL = st.rv_histogram((np.array([4.0, 0.2, 0.2, 4.0, 4.0]), np.linspace(0, 1, 6)))




def test_two_uniform_bidders_reserve_is_one_half():
    p = np.array([[0.2], [0.2]])
    u = st.uniform(0, 1)
    assert myerson([0.45, 0.3], p, model=Independent(), priors=u).shown == 0
    out = myerson([0.6, 0.3], p, model=Independent(), priors=u)
    assert out.price_per_click[0] == pytest.approx(0.5, rel=1e-12)
    out = myerson([0.8, 0.6], p, model=Independent(), priors=u)
    assert out.price_per_click[0] == pytest.approx(0.6, rel=1e-12)


def test_two_uniform_bidders_revenue_is_five_twelfths_of_ctr():
    rng = np.random.default_rng(0)
    ctr = 0.2
    p = np.full((2, 1), ctr)
    rev = np.array([myerson(rng.uniform(0, 1, 2), p, model=Independent(), priors=st.uniform(0, 1)).revenue
                    for _ in range(1500)])
    se = rev.std(ddof=1) / np.sqrt(rev.size)
    assert abs(rev.mean() - 5 / 12 * ctr) < 3 * se


@pytest.mark.parametrize("model", [MNL(), Independent()], ids=repr)
def test_revenue_equals_virtual_welfare_and_beats_vcg(model):
    rng = np.random.default_rng(1)
    prior = st.uniform(0, 1)
    phi = VirtualValue(prior)
    rev, virt, vcg_rev = [], [], []
    p_base = rng.uniform(0.05, 0.5, (4, 3))
    for _ in range(800):
        v = rng.uniform(0, 1, 4)
        out = myerson(v, p_base, model=model, k=2, priors=prior)
        rev.append(out.revenue)
        virt.append(float(np.dot(phi(v), out.ctr)))
        vcg_rev.append(vcg(v, p_base, model=model, k=2).revenue)
    rev, virt, vcg_rev = map(np.array, (rev, virt, vcg_rev))
    diff = rev - virt
    assert abs(diff.mean()) < 3 * diff.std(ddof=1) / np.sqrt(diff.size)
    gain = rev - vcg_rev
    assert gain.mean() > 0 and gain.mean() > 2 * gain.std(ddof=1) / np.sqrt(gain.size)


def test_ironing_of_a_bimodal_prior():
    phi = VirtualValue(BIMODAL)
    assert not phi.regular and len(phi.ironed) == 1
    z = np.linspace(0, 1, 20001)
    assert np.all(np.diff(phi(z)) >= 0)
    lo, hi, value = phi.ironed[0]
    assert phi(0.5 * (lo + hi)) == value
    assert VirtualValue(st.uniform(0, 1)).regular and VirtualValue(st.expon()).regular


@pytest.mark.parametrize("prior", [st.uniform(0, 1), st.expon(scale=0.5), BIMODAL], ids=["uniform", "expon", "bimodal"])
@pytest.mark.parametrize("model", [MNL(), Independent()], ids=repr)
def test_payments_equal_numerical_integral_of_the_allocation_curve(prior, model):
    rng = np.random.default_rng(2)
    for _ in range(3):
        bids, p = prior.rvs(size=4, random_state=rng) + 0.05, rng.uniform(0.05, 0.6, (4, 3))
        out = myerson(bids, p, model=model, k=2, priors=prior)
        for i in np.flatnonzero(out.assignment >= 0):
            grid = np.linspace(0, bids[i], 201)
            mids = 0.5 * (grid[1:] + grid[:-1])
            pis = []
            for z in mids:
                b = bids.copy()
                b[i] = z
                pis.append(myerson(b, p, model=model, k=2, priors=prior).ctr[i])
            integral = np.sum(pis) * (grid[1] - grid[0])
            # the midpoint rule errs by at most one grid cell per step of the curve
            assert out.payments[i] == pytest.approx(bids[i] * out.ctr[i] - integral, abs=4 * bids[i] / 200)


def test_per_advertiser_priors_and_bad_priors():
    p = np.array([[0.2, 0.1], [0.2, 0.1]])
    out = myerson([1.0, 1.0], p, model=MNL(), priors=[st.uniform(0, 1), st.uniform(0, 4)], k=1)
    # phi_1(1) = 1 > phi_2(1) = -2: the asymmetric priors decide the tie in bids
    assert out.assignment.tolist() == [0, -1]
    with pytest.raises(ValueError, match="priors"):
        myerson([1.0, 1.0], p, model=MNL(), priors=[st.uniform(0, 1)])
    with pytest.raises(TypeError, match="priors"):
        myerson([1.0, 1.0], p, model=MNL(), priors=st.poisson(3))
    with pytest.raises(TypeError, match="priors"):
        myerson([1.0, 1.0], p, model=MNL(), priors="uniform")
