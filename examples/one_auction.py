"""Run one auction of every registered mechanism and print what each decides.

    python examples/one_auction.py [--model mnl|independent] [--seed 0]
"""
from __future__ import annotations

import argparse

import numpy as np
import scipy.stats as st

import models
from auctions import MECHANISMS


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="mnl", choices=["mnl", "independent", "cascade"])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    model = {"mnl": models.MNL, "independent": models.Independent}.get(args.model) or models.Cascade
    model = model()
    rng = np.random.default_rng(args.seed)
    n, m, k = 6, 4, 2
    prior = st.uniform(0, 1)
    values = prior.rvs(size=n, random_state=rng)
    p = rng.uniform(0.02, 0.3, (n, m))
    np.set_printoptions(precision=3, suppress=True)
    print(f"{n} advertisers, {m} positions, k={k}, users follow {model!r}")
    print("bids:", values)
    for name, mech in MECHANISMS.items():
        if not mech.runs(model):
            continue
        out = mech(values, p, model=model, k=k, priors=prior if mech.needs_priors else None)
        print(f"\n== {name}: {mech.description}")
        print("  assignment      ", out.assignment)
        print("  rendering order ", out.order)
        print("  CTR             ", out.ctr)
        print("  price per click ", out.price_per_click)
        print(f"  welfare {out.welfare:.4f}   revenue {out.revenue:.4f}")


if __name__ == "__main__":
    main()
