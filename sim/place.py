"""``aigc-auctions place``: run an auction on an answer's text and write the winners into it.

    aigc-auctions place ANSWER.(txt|md) ADS.csv [--k K] [--model mnl|cascade|independent]
                        [--mechanism vcg|myerson] [--json]

The answer is split into candidate positions (:func:`models.text.split_positions`), every
creative is scored against every position (:class:`models.context.ContextScorer`, SPEC §8),
the mechanism picks the winners and their prices, and each winner is inserted at its position
as a Markdown block marked Sponsored. ``ADS.csv`` has the columns ``id, text, bid`` and an
optional ``url``; malformed rows are reported as ``ADS.csv:LINE: problem`` and the command
exits with status 2.
"""
from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from models.text import Creative, Position, insert_creatives, split_positions

from .argtypes import positive_float, positive_int

if TYPE_CHECKING:
    from auctions import Outcome

__all__ = ["AdsError", "Placement", "Winner", "add_parser", "place", "read_ads", "run"]

#: At most this many creatives per answer unless ``--k`` says otherwise: an answer is not a
#: results page, and with MNL every extra creative takes clicks from the others.
DEFAULT_K = 2

REQUIRED_COLUMNS = ("id", "text", "bid")


class AdsError(ValueError):
    """A malformed ads file; ``problems`` holds one ``path:line: problem`` string per fault."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


def read_ads(path) -> tuple[tuple[Creative, ...], np.ndarray]:
    """Read ``id, text, bid[, url]`` rows: the creatives and their bids per click.

    Every malformed row is reported, not only the first: a missing column, an empty id or
    text, a bid that is not a non-negative finite number, a repeated id.

    Raises
    ------
    OSError
        If the file cannot be read.
    AdsError
        If the header or any row is malformed.
    """
    path = Path(path)
    problems: list[str] = []
    creatives, bids, first_line = [], [], {}
    # utf-8-sig: spreadsheet exports often start with a byte-order mark.
    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f)
        header, line = None, 0
        while True:
            start = reader.line_num + 1  # a quoted field may span lines: report the first
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                problems.append(f"{path}:{start}: {exc}")
                break
            if not any(cell.strip() for cell in row):
                continue
            if header is None:
                header = [cell.strip().lower() for cell in row]
                missing = [c for c in REQUIRED_COLUMNS if c not in header]
                if missing:
                    problems.append(f"{path}:{start}: header lacks column(s) {', '.join(missing)}")
                    break
                continue
            line = start
            problem = _row_problem(dict(zip(header, row)), len(row), len(header), first_line)
            if problem:
                problems.append(f"{path}:{line}: {problem}")
                continue
            record = dict(zip(header, (cell.strip() for cell in row)))
            first_line[record["id"]] = line
            creatives.append(Creative(record["id"], record["text"], record.get("url") or None))
            bids.append(float(record["bid"]))
    if header is None:
        problems.append(f"{path}:1: empty file, expected the header id,text,bid[,url]")
    elif not problems and not creatives:
        problems.append(f"{path}: no creatives after the header")
    if problems:
        raise AdsError(problems)
    return tuple(creatives), np.array(bids)


def _row_problem(record: dict, got: int, expected: int, first_line: dict) -> str | None:
    if got < expected:
        return f"missing column(s): expected {expected} fields, got {got}"
    if got > expected:
        return f"too many fields: expected {expected}, got {got}"
    record = {key: value.strip() for key, value in record.items()}
    if not record["id"]:
        return "empty id"
    if record["id"] in first_line:
        return f"duplicate id {record['id']!r} (first on line {first_line[record['id']]})"
    if not record["text"]:
        return "empty text"
    try:
        bid = float(record["bid"])
    except ValueError:
        return f"bid {record['bid']!r} is not a number"
    if not math.isfinite(bid):
        return f"bid {record['bid']!r} is not finite"
    if bid < 0:
        return f"negative bid {bid:g}"
    return None


@dataclass(frozen=True)
class Winner:
    """One creative shown in the answer, and what it costs.

    Attributes
    ----------
    id, text, url :
        The creative.
    position, offset, kind :
        Where it is shown: index ``j``, character offset in the original answer, and the
        position's kind (see :class:`models.text.Position`).
    bid : float
        Bid per click.
    p : float
        Standalone CTR at its position.
    ctr : float
        ``pi_i``, its click probability under the user model, next to the other winners.
    payment, price_per_click : float
        Expected payment per impression, and the same charged per click.
    """

    id: str
    text: str
    url: str | None
    position: int
    offset: int
    kind: str
    bid: float
    p: float
    ctr: float
    payment: float
    price_per_click: float


@dataclass(frozen=True)
class Placement:
    """The answer rewritten with its winners, and the auction behind it.

    Attributes
    ----------
    answer : str
        The answer with the winning creatives inserted.
    winners : tuple of Winner
        In text order.
    positions : tuple of Position
        The candidate positions of the original answer.
    p : (n, m) ndarray
        The standalone CTRs the auction ran on.
    outcome : auctions.Outcome
    """

    answer: str
    winners: tuple[Winner, ...]
    positions: tuple[Position, ...]
    p: np.ndarray
    outcome: Outcome

    def to_json(self, **meta) -> dict:
        """A JSON-ready dict: ``meta``, the rewritten answer, the winners and the totals."""
        return {
            **meta,
            "positions": len(self.positions),
            "welfare": self.outcome.welfare,
            "revenue": self.outcome.revenue,
            "winners": [asdict(w) for w in self.winners],
            "answer": self.answer,
        }


def place(answer: str, creatives, bids, *, scorer, model, mechanism="vcg", k=None,
          priors=None) -> Placement:
    """Score, auction and insert: the whole flow of SPEC §8 on one answer.

    Parameters
    ----------
    answer : str
        Plain text or Markdown.
    creatives : sequence of Creative
    bids : (n,) array_like
        Bids per click.
    scorer : ContextScorer
    model : UserModel
    mechanism : {"vcg", "myerson"}
    k : int, optional
        At most ``k`` creatives; ``None`` means ``min(n, m)``.
    priors : scipy.stats frozen distribution(s)
        Needed by ``"myerson"``.

    Examples
    --------
    >>> import numpy as np
    >>> from models import MNL
    >>> from models.context import ContextScorer
    >>> from models.text import Creative
    >>> from sim.place import place
    >>> scorer = ContextScorer(lambda ts: np.array([[t.count("a"), t.count("o"), 1.0] for t in ts]))
    >>> ads = [Creative("a", "Pasta and pans"), Creative("b", "Cloud storage")]
    >>> result = place("Cook pasta. Add salt.", ads, [1.0, 0.5], scorer=scorer, model=MNL(), k=1)
    >>> [(w.id, w.position) for w in result.winners]
    [('a', 0)]
    """
    from auctions import myerson, vcg  # here: importing sim.place stays cheap for the CLI

    positions = split_positions(answer)
    if not positions:
        raise ValueError("answer has no insertion position (is it only a heading?)")
    p = scorer.ctr(creatives, positions)
    if mechanism == "vcg":
        outcome = vcg(bids, p, model=model, k=k)
    elif mechanism == "myerson":
        if priors is None:
            raise ValueError("priors are needed by the myerson mechanism")
        outcome = myerson(bids, p, model=model, priors=priors, k=k)
    else:
        raise ValueError(f"mechanism must be 'vcg' or 'myerson', got {mechanism!r}")
    bids = np.asarray(bids, dtype=float)
    # Text order, so that the table reads like the page.
    shown = sorted(np.flatnonzero(outcome.assignment >= 0), key=lambda i: outcome.assignment[i])
    winners = []
    for i in shown:
        j, c = int(outcome.assignment[i]), creatives[i]
        winners.append(Winner(
            id=c.id, text=c.text, url=c.url, position=j, offset=positions[j].offset,
            kind=positions[j].kind, bid=float(bids[i]), p=float(p[i, j]),
            ctr=float(outcome.ctr[i]), payment=float(outcome.payments[i]),
            price_per_click=float(outcome.price_per_click[i]),
        ))
    page = insert_creatives(answer, positions,
                            {int(outcome.assignment[i]): creatives[i] for i in shown})
    return Placement(answer=page, winners=tuple(winners), positions=positions, p=p,
                     outcome=outcome)


# --- command line -------------------------------------------------------------------------

def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register the ``place`` subcommand on an ``argparse`` subparsers object.

    The parser's default ``func`` is :func:`run`.
    """
    parser = subparsers.add_parser(
        "place",
        help="insert the winning creatives into an AI answer",
        description=(
            "Score each creative against each insertion point of an answer (sentence "
            "embeddings, SPEC 8), run the auction, and print the answer with the winners "
            "inserted as blocks marked Sponsored, then a table of winners and prices."
        ),
    )
    parser.add_argument("answer", metavar="ANSWER", help="the answer, a .txt or .md file")
    parser.add_argument("ads", metavar="ADS.csv", help="creatives: columns id,text,bid[,url]")
    parser.add_argument("--k", type=positive_int, default=None,
                        help=f"show at most K creatives (default {DEFAULT_K}, or m if fewer)")
    parser.add_argument("--model", choices=("mnl", "cascade", "independent"), default="mnl",
                        help="user model (default mnl)")
    parser.add_argument("--mechanism", choices=("vcg", "myerson"), default="vcg",
                        help="auction (default vcg)")
    parser.add_argument("--prior-mean", type=positive_float, default=None, metavar="MU",
                        help="myerson: values ~ exponential with mean MU "
                             "(default the mean bid); the reserve price is MU")
    parser.add_argument("--theta", type=float, nargs=3, default=None,
                        metavar=("T0", "T1", "T2"),
                        help="CTR model p = sigmoid(T0 + T1 cos + T2 / depth); "
                             "default -4.5 4 1")
    parser.add_argument("--json", action="store_true", help="print JSON instead of Markdown")
    parser.set_defaults(func=run)
    return parser


def _user_model(name: str):
    import models

    if name == "cascade":
        # Imported by name: the cascade model may be absent from this version of models.
        cascade = getattr(models, "Cascade", None)
        if cascade is None:
            raise LookupError("the cascade user model is not available (models.Cascade is missing)")
        return cascade()
    return {"mnl": models.MNL, "independent": models.Independent}[name]()


def run(args, *, scorer=None) -> int:
    """Run ``place`` for parsed ``args``; returns the exit status.

    ``scorer`` replaces the default :class:`~models.context.ContextScorer` (tests inject a
    small deterministic embedder through it).
    """
    def fail(message: str, status: int = 2) -> int:
        print(f"aigc-auctions place: {message}", file=sys.stderr)
        return status

    try:
        answer = Path(args.answer).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return fail(f"cannot read ANSWER {args.answer}: {exc}")
    if not answer.strip():
        return fail(f"ANSWER {args.answer} is empty")
    try:
        creatives, bids = read_ads(args.ads)
    except AdsError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 2
    except (OSError, UnicodeDecodeError) as exc:
        return fail(f"cannot read ADS.csv {args.ads}: {exc}")

    positions = split_positions(answer)
    if not positions:
        return fail(f"ANSWER {args.answer} has no insertion position")
    m = len(positions)
    if args.k is not None and args.k > m:
        return fail(f"--k {args.k} exceeds the {m} insertion positions of {args.answer}")
    k = args.k if args.k is not None else min(DEFAULT_K, m, len(creatives))
    try:
        model = _user_model(args.model)
    except (ImportError, LookupError) as exc:
        return fail(str(exc))
    priors = None
    if args.mechanism == "myerson":
        import scipy.stats

        mean = args.prior_mean if args.prior_mean is not None else float(np.mean(bids))
        if mean <= 0:
            return fail("myerson needs a positive prior mean: all bids are 0; pass --prior-mean")
        priors = scipy.stats.expon(scale=mean)
    if scorer is None:
        from models.context import DEFAULT_THETA, ContextScorer

        scorer = ContextScorer(theta=args.theta if args.theta is not None else DEFAULT_THETA)
    try:
        result = place(answer, creatives, bids, scorer=scorer, model=model,
                       mechanism=args.mechanism, k=k, priors=priors)
    except ImportError as exc:
        return fail(str(exc), status=1)

    meta = {"mechanism": args.mechanism, "model": args.model, "k": k}
    if args.json:
        print(json.dumps(result.to_json(**meta), indent=2, ensure_ascii=False))
    else:
        print(result.answer.rstrip("\n"))
        print()
        print(_table(result, **meta))
    return 0


def _table(result: Placement, *, mechanism: str, model: str, k: int) -> str:
    """The winners as a Markdown table, in text order, then the totals."""
    lines = [
        "| ad | position | kind | bid | p | CTR | price per click |",
        "|---|---:|---|---:|---:|---:|---:|",
    ]
    for w in result.winners:
        lines.append(f"| {w.id} | {w.position} | {w.kind} | {w.bid:.2f} | {w.p:.3f} | "
                     f"{w.ctr:.3f} | {w.price_per_click:.3f} |")
    if not result.winners:
        lines.append("| (no winner) | | | | | | |")
    out = result.outcome
    lines.append("")
    lines.append(f"{mechanism}, {model} model, k={k}, {len(result.positions)} positions: "
                 f"welfare {out.welfare:.4f}, revenue {out.revenue:.4f} per impression")
    return "\n".join(lines)
