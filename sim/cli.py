"""The ``aigc-auctions`` command line.

    aigc-auctions reproduce [--out DIR] [--quick] [--workers W] [--seed S] [--scheduler ADDRESS]
    aigc-auctions simulate SCENARIO.toml [--auctions N] [--seed S] [--workers W]
                           [--scheduler ADDRESS] [--out DIR] [--realized]
    aigc-auctions place ANSWER ADS.csv [...]          (see sim.place)

Bad arguments or files exit with status 2 and a one-line message naming the problem.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from . import place
from .argtypes import nonnegative_int, positive_int

__all__ = ["main"]


class _Parser(argparse.ArgumentParser):
    """argparse, but errors are one line (and exit 2)."""

    def error(self, message):
        raise _UsageError(f"{self.prog}: error: {message}")


class _UsageError(Exception):
    pass


def _parser():
    parser = _Parser(prog="aigc-auctions", description=(
        "Position auctions for sponsored creatives in AI-generated answers: simulator and tables."))
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    rep = sub.add_parser("reproduce", help="run the built-in scenarios and write the tables")
    rep.add_argument("--out", default="results", type=Path, help="output folder (default results/)")
    rep.add_argument("--quick", action="store_true", help="small run (under 2 minutes on 2 cores)")
    rep.add_argument("--workers", type=positive_int, default=None, help="local worker processes")
    rep.add_argument("--seed", type=nonnegative_int, default=2025, help="base seed (default 2025)")
    rep.add_argument("--scheduler", default=None, help="Dask scheduler address, e.g. tcp://host:8786")

    simp = sub.add_parser("simulate", help="simulate one scenario file")
    simp.add_argument("scenario", type=Path, help="scenario TOML file")
    simp.add_argument("--auctions", type=positive_int, default=100_000, help="number of auctions")
    simp.add_argument("--seed", type=nonnegative_int, default=0, help="seed (default 0)")
    simp.add_argument("--workers", type=positive_int, default=None, help="local worker processes")
    simp.add_argument("--scheduler", default=None, help="Dask scheduler address")
    simp.add_argument("--out", type=Path, default=None,
                      help="write summary.csv and summary.md here (and keep checkpoints)")
    simp.add_argument("--realized", action="store_true", help="also sample realized clicks")

    place.add_parser(sub)
    return parser


def _cmd_reproduce(args) -> int:
    from .tables import reproduce

    started = time.perf_counter()
    reproduce(args.out, size="quick" if args.quick else "full", seed=args.seed,
              workers=args.workers, executor=args.scheduler)
    print(f"wrote tables and plots to {args.out}/ in {time.perf_counter() - started:.1f} s")
    return 0


def _cmd_simulate(args) -> int:
    from .engine import atomic_write_text, simulate
    from .scenario import load_scenario

    sc = load_scenario(args.scenario)
    checkpoint = None
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        checkpoint = args.out / ".checkpoints"
    res = simulate(sc, auctions=args.auctions, rng=args.seed, workers=args.workers,
                   executor=args.scheduler, realized=args.realized, checkpoint=checkpoint)
    md = res.summary.to_markdown(floatfmt=".6g") if _has_tabulate() else res.summary.to_string()
    print(md)
    print(f"{res.auctions} auctions, seed {args.seed}, {res.elapsed:.1f} s")
    if args.out is not None:
        atomic_write_text(args.out / "summary.csv", res.summary.to_csv(float_format="%.10g"))
        atomic_write_text(args.out / "summary.md", md + "\n")
    return 0


def _has_tabulate():
    try:
        import tabulate  # noqa: F401
    except ImportError:
        return False
    return True


def main(argv=None) -> int:
    """Entry point of ``aigc-auctions``; returns the exit status."""
    from .scenario import ScenarioError

    try:
        args = _parser().parse_args(argv)
        if args.command == "reproduce":
            return _cmd_reproduce(args)
        if args.command == "simulate":
            return _cmd_simulate(args)
        return place.run(args)
    except _UsageError as exc:
        print(exc, file=sys.stderr)
        return 2
    except ScenarioError as exc:
        print(f"aigc-auctions: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("aigc-auctions: interrupted; rerun the same command to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
