"""The whole flow of SPEC §8 on one answer of the example corpus.

Split the answer into insertion points, score every creative against every point with the
shipped sentence-transformers model, run VCG under the MNL user model, and print the answer
with the winners inserted, then the winners and their prices.

    python examples/place_ads.py [ANSWER_NAME] [--k K]

ANSWER_NAME is a file stem under examples/data/answers/ (default health-running-beginners). The
same flow is one command: aigc-auctions place ANSWER.md examples/data/ads.csv
"""
from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np

from auctions import vcg
from models import MNL
from models.context import ContextScorer
from models.text import Creative, insert_creatives, split_positions

DATA = Path(__file__).resolve().parent / "data"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("answer", nargs="?", default="health-running-beginners")
    parser.add_argument("--k", type=int, default=2)
    args = parser.parse_args()

    answer = (DATA / "answers" / f"{args.answer}.md").read_text(encoding="utf-8")
    with (DATA / "ads.csv").open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    creatives = [Creative(r["id"], r["text"], r["url"] or None) for r in rows]
    bids = np.array([float(r["bid"]) for r in rows])

    positions = split_positions(answer)           # m insertion points, in text order
    scorer = ContextScorer()                      # all-MiniLM-L6-v2, GPU if present
    p = scorer.ctr(creatives, positions)          # (n, m) standalone CTRs
    out = vcg(bids, p, model=MNL(), k=args.k)     # winners, positions, prices

    shown = np.flatnonzero(out.assignment >= 0)
    placements = {int(out.assignment[i]): creatives[i] for i in shown}
    print(insert_creatives(answer, positions, placements))
    print(f"{len(creatives)} creatives, {len(positions)} positions, device {scorer.device}")
    for i in sorted(shown, key=lambda i: out.assignment[i]):
        j = out.assignment[i]
        print(f"  position {j:2d} ({positions[j].kind:8s}) {creatives[i].id:18s} bid {bids[i]:.2f}"
              f"  p {p[i, j]:.3f}  CTR {out.ctr[i]:.3f}  price/click {out.price_per_click[i]:.3f}")
    print(f"welfare {out.welfare:.4f}, revenue {out.revenue:.4f} per impression")


if __name__ == "__main__":
    main()
