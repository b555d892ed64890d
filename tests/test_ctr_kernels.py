"""The CTR generator kernel against its NumPy twin."""
import numpy as np
import pytest

from models._kernels import BELOW_ONE, logistic_ctr_into


def numpy_twin(eps, s, alpha, offset):
    x = eps * s + alpha[:, :, None] - offset
    with np.errstate(over="ignore"):  # exp(800) = inf, and 1 / inf = 0 is the answer
        return np.minimum(1.0 / (1.0 + np.exp(-x)), BELOW_ONE)


@pytest.mark.parametrize("s", [0.0, 0.5, 3.0])
def test_logistic_ctr_matches_numpy(s):
    rng = np.random.default_rng(7)
    eps = rng.standard_normal((50, 6, 4))
    eps[0, 0, :] = [40.0, -800.0, 0.0, 1e-300]  # rounds to 1 (clamped), underflows, exact 1/2
    alpha = rng.normal(-2.5, 2.0, (50, 6))
    offset = 0.35 * np.arange(4)
    out = np.empty_like(eps)
    logistic_ctr_into(eps, s, alpha, offset, out)
    np.testing.assert_array_max_ulp(out, numpy_twin(eps, s, alpha, offset), maxulp=2)
    assert np.all((out >= 0.0) & (out < 1.0))


def test_in_place_is_allowed():
    rng = np.random.default_rng(8)
    eps = rng.standard_normal((5, 3, 2))
    alpha = rng.normal(size=(5, 3))
    offset = np.arange(2.0)
    expected = numpy_twin(eps, 0.7, alpha, offset)
    logistic_ctr_into(eps, 0.7, alpha, offset, eps)
    np.testing.assert_array_max_ulp(eps, expected, maxulp=2)
