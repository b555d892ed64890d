"""Hypothesis strategies shared by the test modules: random auction instances."""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays


@st.composite
def instances(draw, max_n=5, max_m=4, ties=True):
    """``(bids, p, k)`` with ties, zero bids, ``k = m``, ``n < k``, one advertiser or position."""
    n = draw(st.integers(1, max_n))
    m = draw(st.integers(1, max_m))
    k = draw(st.integers(1, m))
    if ties and draw(st.booleans()):
        # coarse grids make exact ties in bids, CTRs and scores likely
        bids = np.array(draw(st.lists(st.sampled_from([0.0, 0.5, 1.0, 2.0]), min_size=n, max_size=n)))
        p = np.array(draw(st.lists(st.sampled_from([0.0, 0.1, 0.2, 0.4]), min_size=n * m, max_size=n * m)))
        p = p.reshape(n, m)
    else:
        bids = draw(arrays(float, n, elements=st.floats(0.0, 10.0)))
        p = draw(arrays(float, (n, m), elements=st.floats(0.0, 0.95)))
    return bids, p, k
