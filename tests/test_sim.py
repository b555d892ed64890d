"""The simulator's batch kernels against the per-auction public functions, and its API."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.stats as st

from auctions import gsp_separable, myerson, vcg, vcg_independent
from models import MNL, Independent
from models.ctr import nonseparable, separable
from sim import Scenario, ScenarioError, parse_scenario, simulate
from sim import _kernels as sk
from sim.batch import _Block, _runner, first_best, inverse_virtual_value

TOL = dict(rtol=1e-12, atol=1e-12)
REFERENCE = {"vcg": vcg, "myerson": myerson, "gsp_separable": gsp_separable,
             "vcg_independent": vcg_independent}


def _draws(sc, size, seed):
    gen = np.random.default_rng(seed)
    return sc.draw_values(gen, size), sc.draw_ctr(gen, size)


PRIORS = {
    "uniform": st.uniform(0, 1),
    "lognormal-two-sizes": [st.lognorm(0.6, scale=2.0)] * 2 + [st.lognorm(0.6, scale=0.5)] * 4,
    "exponential": st.expon(scale=0.5),
}


@pytest.mark.parametrize("model", [MNL(), Independent()], ids=["mnl", "independent"])
@pytest.mark.parametrize("mech", sorted(REFERENCE))
@pytest.mark.parametrize("prior", sorted(PRIORS))
def test_batch_equals_per_auction_functions(model, mech, prior):
    """Batch kernel == the per-auction public function, auction by auction (NumPy twin)."""
    sc = Scenario(n=6, m=4, k=2, model=model, values=PRIORS[prior], s=1.0, mechanisms=(mech,))
    values, p = _draws(sc, 60 if mech == "myerson" else 150, 1)
    block = _Block(sc, values, p)
    assign, pi, pay = _runner(block, mech)(block)
    kw = {"priors": sc.priors} if mech == "myerson" else {}
    for t in range(values.shape[0]):
        out = REFERENCE[mech](values[t], p[t], model=model, k=sc.k, **kw)
        np.testing.assert_array_equal(assign[t], out.assignment)
        np.testing.assert_allclose(pi[t], out.ctr, **TOL)
        np.testing.assert_allclose(pay[t], out.payments, **TOL)


def test_first_best_is_vcg_welfare_and_upper_bound():
    sc = Scenario(n=8, m=4, k=3, mechanisms=("vcg", "vcg_independent", "gsp_separable"))
    res = simulate(sc, auctions=600, rng=5, per_auction=True)
    pa = res.per_auction
    np.testing.assert_allclose(pa[("vcg", "welfare")], pa[("first_best", "welfare")], rtol=1e-12)
    for mech in ("vcg_independent", "gsp_separable"):
        assert np.all(pa[(mech, "welfare")] <= pa[("first_best", "welfare")] * (1 + 1e-12))
    assert res.summary.loc["vcg", "welfare_share"] == pytest.approx(1.0, rel=1e-12)


def test_first_best_kernel_matches_allocate():
    sc = Scenario(n=6, m=3, k=2, model=MNL())
    values, p = _draws(sc, 50, 2)
    assign, pi = first_best(_Block(sc, values, p))
    for t in range(50):
        ref = vcg(values[t], p[t], model=MNL(), k=2)
        np.testing.assert_array_equal(assign[t], ref.assignment)


def test_inverse_virtual_value_matches_preimage():
    from auctions import VirtualValue

    for prior in (st.uniform(0, 1), st.lognorm(0.6, scale=2.0), st.expon(scale=0.5)):
        vv = VirtualValue(prior)
        bids = prior.ppf(np.linspace(0.3, 0.99, 40))
        c = vv(bids) * np.linspace(0.0, 1.0, 40)
        got = inverse_virtual_value(vv, c, bids)
        ref, _ = vv.preimage(c, 1.0)
        ref = np.array([vv.preimage(ci, bi)[0][0] for ci, bi in zip(c, bids)])
        np.testing.assert_allclose(got, ref, rtol=1e-13, atol=1e-14)


def test_summary_columns_and_realized_clicks():
    sc = Scenario(n=6, m=4, k=2, model=MNL(), values=st.uniform(0, 1))
    res = simulate(sc, auctions=3000, rng=0, realized=True)
    s = res.summary
    for col in ("welfare", "welfare_se", "revenue", "revenue_se", "clicks", "shown",
                "welfare_share", "realized_clicks", "realized_revenue"):
        assert col in s.columns
    # realized clicks estimate the expected clicks
    for mech in s.index:
        assert abs(s.loc[mech, "realized_clicks"] - s.loc[mech, "clicks"]) < 5 * s.loc[mech, "realized_clicks_se"]
    assert (s["shown"] <= 2).all()
    # Myerson's revenue beats VCG's, its welfare does not
    assert s.loc["myerson", "revenue"] > s.loc["vcg", "revenue"]
    assert s.loc["myerson", "welfare"] <= s.loc["vcg", "welfare"]


def test_independent_realized_clicks_can_exceed_one():
    sc = Scenario(n=6, m=4, k=3, model=Independent(), mechanisms=("vcg",))
    res = simulate(sc, auctions=500, rng=1, realized=True, per_auction=True)
    assert res.per_auction[("vcg", "realized_clicks")].max() >= 1


def test_ctr_generators():
    p = nonseparable(10, 5, 0.5, rng=0, size=2000)
    assert p.shape == (2000, 10, 5) and np.all((p >= 0) & (p < 1))
    assert 0.02 < p.mean() < 0.2
    assert np.all(np.diff(p.mean(axis=(0, 1))) < 0)  # deeper positions are clicked less
    q = separable(4, 3, rng=1)
    assert np.linalg.matrix_rank(q) == 1
    np.testing.assert_array_equal(nonseparable(4, 3, 1.0, rng=7), nonseparable(4, 3, 1.0, rng=7))
    with pytest.raises(ValueError, match="s must"):
        nonseparable(4, 3, -1.0, rng=0)


def test_fixed_ctr_matrix_and_generator_rng():
    p = np.full((3, 2), 0.1)
    sc = Scenario(n=3, m=2, k=1, p=p, mechanisms=("vcg",))
    assert sc.ctr == "fixed"
    res = simulate(sc, auctions=100, rng=np.random.default_rng(3))
    assert res.summary.loc["vcg", "clicks"] == pytest.approx(0.1)


@pytest.mark.parametrize("kw, key", [
    (dict(n=0, m=2), "n"), (dict(n=3, m=2, k=3), "k"), (dict(n=3, m=2, s=-1.0), "s"),
    (dict(n=3, m=2, mechanisms=("nope",)), "mechanisms"), (dict(n=3, m=2, ctr="wild"), "ctr"),
    (dict(n=3, m=2, values=st.norm(0, 1)), "values"), (dict(n=3, m=2, values=[st.uniform()] * 2), "values"),
    (dict(n=3, m=2, model="mnl"), "model"),
])
def test_scenario_rejects_bad_values(kw, key):
    with pytest.raises(ScenarioError, match=key):
        Scenario(**kw)


@pytest.mark.parametrize("data, key", [
    ({"n": 3, "m": 2, "colour": 1}, "colour"),
    ({"m": 2}, "'n'"),
    ({"n": 3, "m": 2, "values": {"dist": "uniform", "wobble": 2}}, "wobble"),
    ({"n": 3, "m": 2, "values": {"dist": "no_such_dist"}}, "values.dist"),
    ({"n": 3, "m": 2, "values": [{"dist": "uniform", "count": 2}]}, "values"),
    ({"n": 3, "m": 2, "model": {"name": "cascade", "decay": 2.0}}, "model"),
    ({"n": 3, "m": 2, "model": "nope"}, "model"),
    ({"n": 3, "m": 2, "mechanisms": ["vcg:nope"]}, "nope"),
])
def test_toml_rejects_unknown_keys_and_bad_values(data, key):
    with pytest.raises(ScenarioError, match=key):
        parse_scenario(data)


def test_toml_per_advertiser_groups():
    sc = parse_scenario({"n": 5, "m": 2, "model": "independent",
                         "values": [{"dist": "lognorm", "s": 0.5, "scale": 2.0, "count": 2},
                                    {"dist": "lognorm", "s": 0.5, "scale": 0.5, "count": 3}]})
    assert len(sc.priors) == 5 and sc.priors[0].kwds["scale"] == 2.0
    assert isinstance(sc.model, Independent)


def test_simulate_rejects_bad_arguments():
    sc = Scenario(n=3, m=2)
    with pytest.raises(ValueError, match="auctions"):
        simulate(sc, auctions=0, rng=0)
    with pytest.raises(ValueError, match="rng"):
        simulate(sc, auctions=10, rng=None)
    with pytest.raises(ValueError, match="workers"):
        simulate(sc, auctions=10, rng=0, workers=0)
