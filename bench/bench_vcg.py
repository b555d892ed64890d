"""Single-call ``vcg`` against the same computation written with SciPy, in one process.

MNL, n=10, m=5, k=3. The reference is ``tests/twins.py``: Dinkelbach with each matching
solved by ``scipy.optimize.linear_sum_assignment`` on a padded matrix, VCG by re-solving per
winner, in a per-auction Python loop. Both see the same instances; the outcomes are checked
equal before anything is timed. Prints the median of several interleaved rounds.

    python bench/bench_vcg.py [--auctions 2000] [--rounds 5]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from twins import lsa_vcg  # noqa: E402

from auctions import vcg  # noqa: E402
from models import MNL  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--auctions", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    n, m, k = 10, 5, 3
    bids = rng.uniform(0, 1, (args.auctions, n))
    p = rng.uniform(0.01, 0.3, (args.auctions, n, m))
    model = MNL()
    weights = [model.weights(pp) for pp in p]

    def ours():
        return [vcg(b, pp, model=model, k=k) for b, pp in zip(bids, p)]

    def reference():
        return [lsa_vcg(b, w, k, fractional=True) for b, w in zip(bids, weights)]

    for out, (_, _, pay) in zip(ours(), reference()):  # warm-up doubles as the equality check
        np.testing.assert_allclose(out.payments, pay, rtol=1e-9, atol=1e-14)
    times = {"vcg": [], "scipy": []}
    for _ in range(args.rounds):
        for name, fn in (("vcg", ours), ("scipy", reference)):
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    t_ours, t_ref = (statistics.median(times[x]) for x in ("vcg", "scipy"))
    print(f"MNL VCG n={n} m={m} k={k}, {args.auctions} auctions x {args.rounds} rounds (median)")
    print(f"  auctions.vcg          {1e6 * t_ours / args.auctions:8.1f} us/auction")
    print(f"  SciPy LSA reference   {1e6 * t_ref / args.auctions:8.1f} us/auction")
    print(f"  speed-up              {t_ref / t_ours:8.1f}x")


if __name__ == "__main__":
    main()
