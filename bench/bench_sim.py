"""Benchmark: MNL VCG (n=10, m=5, k=3) through ``sim.simulate`` vs a per-auction Python loop.

    python bench/bench_sim.py [--auctions N] [--workers W] [--reference R] [--repeats K]

The reference is what one would write without the batch kernels: per auction, Dinkelbach's
method (SPEC §3.2) with each step a cardinality-constrained assignment solved by
``scipy.optimize.linear_sum_assignment`` (``tests/twins.py``), and VCG re-solving once per
winner. Both run in this process on the
same kind of draws; the script checks that they agree and prints auctions per second, the
best and the median of ``--repeats`` interleaved runs of each (this VM's speed drifts by up to
a third within minutes, so one run says little).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import scipy.stats as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from twins import lsa_vcg  # noqa: E402

from models import MNL  # noqa: E402
from sim import Scenario, simulate  # noqa: E402

N, M, K = 10, 5, 3


def vcg_reference(b, p, k):
    """Welfare and revenue of one auction by the SciPy twin (``tests/twins.py``)."""
    _, pi, pay = lsa_vcg(b, p / (1 - p), k, fractional=True)
    return float(np.dot(b, pi)), float(pay.sum())


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--auctions", type=int, default=400_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--reference", type=int, default=400, help="auctions for the Python loop")
    ap.add_argument("--repeats", type=int, default=5, help="interleaved runs of each")
    args = ap.parse_args(argv)

    sc = Scenario(n=N, m=M, k=K, model=MNL(), values=st.uniform(0, 1), mechanisms=("vcg",))
    simulate(sc, auctions=2 * 4096, rng=1, workers=args.workers)  # compile / load the kernels

    ref = simulate(sc, auctions=args.reference, rng=7, per_auction=True)
    gen = np.random.default_rng(np.random.SeedSequence(7, spawn_key=(0,)))
    values = sc.draw_values(gen, args.reference)
    p = sc.draw_ctr(gen, args.reference)

    rates_sim, rates_ref = [], []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        res = simulate(sc, auctions=args.auctions, rng=0, workers=args.workers)
        rates_sim.append(args.auctions / (time.perf_counter() - t0))
        t0 = time.perf_counter()
        out = [vcg_reference(values[t], p[t], K) for t in range(args.reference)]
        rates_ref.append(args.reference / (time.perf_counter() - t0))
    welfare = np.array([o[0] for o in out])
    revenue = np.array([o[1] for o in out])
    np.testing.assert_allclose(welfare, ref.per_auction[("vcg", "welfare")], rtol=1e-9)
    np.testing.assert_allclose(revenue, ref.per_auction[("vcg", "revenue")], rtol=1e-7, atol=1e-12)

    best_sim, med_sim = max(rates_sim), float(np.median(rates_sim))
    best_ref, med_ref = max(rates_ref), float(np.median(rates_ref))
    print(f"simulate (workers={args.workers}, {args.auctions} auctions): best {best_sim:,.0f}, "
          f"median {med_sim:,.0f} auctions/s over {args.repeats} runs")
    print(f"Python loop + linear_sum_assignment ({args.reference} auctions): best {best_ref:,.0f}, "
          f"median {med_ref:,.0f} auctions/s")
    print(f"speed-up: {best_sim / best_ref:.1f}x best to best, {med_sim / med_ref:.1f}x median to median"
          f"   (VCG welfare {res.summary.loc['vcg', 'welfare']:.5f})")
    return rates_sim, rates_ref


if __name__ == "__main__":
    main()
