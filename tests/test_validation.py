"""Bad input raises ValueError or TypeError naming the argument; nothing is clipped (SPEC §6)."""
import numpy as np
import pytest
import scipy.stats as st

from auctions import allocate, myerson, vcg
from models import MNL

P = np.array([[0.2, 0.1], [0.3, 0.05]])


@pytest.mark.parametrize(
    "bids, p, k, error, name",
    [
        ([1.0], P, None, ValueError, "bids"),
        ([[1.0, 2.0]], P, None, ValueError, "bids"),
        ([1.0, np.nan], P, None, ValueError, "bids"),
        ([1.0, np.inf], P, None, ValueError, "bids"),
        ([1.0, -0.1], P, None, ValueError, "bids"),
        (["a", 1.0], P, None, TypeError, "bids"),
        ([1.0, 1.0], P[0], None, ValueError, "p"),
        ([1.0, 1.0], np.array([[0.2, 1.0], [0.1, 0.1]]), None, ValueError, "p"),
        ([1.0, 1.0], np.array([[0.2, -0.1], [0.1, 0.1]]), None, ValueError, "p"),
        ([1.0, 1.0], np.array([[0.2, np.nan], [0.1, 0.1]]), None, ValueError, "p"),
        ([1.0, 1.0], np.zeros((2, 0)), None, ValueError, "p"),
        ([1.0, 1.0], P, 0, ValueError, "k"),
        ([1.0, 1.0], P, 3, ValueError, "k"),
        ([1.0, 1.0], P, 1.5, TypeError, "k"),
        ([1.0, 1.0], P, True, TypeError, "k"),
    ],
)
def test_bad_input_names_the_argument(bids, p, k, error, name):
    with pytest.raises(error, match=name):
        vcg(bids, p, model=MNL(), k=k)
    with pytest.raises(error, match=name):
        myerson(bids, p, model=MNL(), k=k, priors=st.uniform(0, 1))


def test_bad_model_method_and_rho():
    with pytest.raises(TypeError, match="model"):
        vcg([1.0, 1.0], P, model="mnl")
    with pytest.raises(ValueError, match="method"):
        allocate([1.0, 1.0], P, model=MNL(), method="simplex")
    with pytest.raises(ValueError, match="rho"):
        MNL(rho=[1.0, 2.0])
    with pytest.raises(ValueError, match="rho"):
        vcg([1.0, 1.0], P, model=MNL(rho=np.zeros((3, 2))))


def test_scores_may_be_negative_but_bids_may_not():
    assert allocate([-1.0, 0.5], P, model=MNL()).assignment[0] == -1
