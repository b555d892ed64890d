"""Numba kernels for the CTR generators (:mod:`models.ctr`).

Kernels take arrays and scalars only; the generators validate and draw the random numbers.
Each has a plain NumPy twin in ``tests/test_ctr_kernels.py``.
"""
from __future__ import annotations

import numpy as np
from numba import njit

#: The largest float below 1: a CTR must stay in ``[0, 1)``.
BELOW_ONE = np.nextafter(1.0, 0.0)


@njit(cache=True)
def logistic_ctr_into(eps, s, alpha, offset, out):
    """``out[t, i, j] = sigmoid(eps[t, i, j] * s + alpha[t, i] - offset[j])``, below 1.

    One pass instead of a NumPy expression's eight: the simulator draws ~200,000 entries a
    block, and each NumPy pass streams them through memory again. The operations, and their
    order, are those of the NumPy twin, so the result is the same to the last bit.
    """
    B, n, m = eps.shape
    for t in range(B):
        for i in range(n):
            for j in range(m):
                x = eps[t, i, j] * s + alpha[t, i] - offset[j]
                out[t, i, j] = min(1.0 / (1.0 + np.exp(-x)), BELOW_ONE)
