"""The built-in welfare/revenue tables and plots (``aigc-auctions reproduce``, SPEC §7).

Four products, each from scenarios under ``sim/scenarios/`` swept over a grid:

1. ``table1_mnl``: MNL; VCG, Myerson, GSP-separable, VCG-independent across ``(n, m, k)``
   in {(6, 4, 2), (12, 6, 3), (30, 10, 5)} and non-separability ``s`` in {0, 0.5, 1}.
2. ``table2_cascade``: Cascade (free order); the same mechanisms plus VCG run on the
   approximate rules (greedy, local search), with approximation ratios (worst, mean)
   against the exact optimum.
3. ``table3_asymmetric``: lognormal advertisers of two sizes; Myerson's revenue gain over
   VCG and its welfare cost.
4. ``plots``: welfare share and revenue against ``s`` (from table 1) and against ``k``.

Sizes: ``"quick"`` (a few thousand auctions a row; minutes), ``"full"`` (each row grows,
in whole draw blocks, until every standard error of welfare and revenue is below 0.5% of
its mean) and ``"golden"`` (tiny, for ``tests/golden``). Every row has its own seed,
``SeedSequence(seed, spawn_key=(table, row))``, so rows are reproducible one by one.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from .engine import atomic_write_bytes, atomic_write_text, simulate
from .scenario import load_scenario

__all__ = ["PROFILES", "TABLES", "build_table", "reproduce", "to_markdown"]


@dataclass(frozen=True)
class Profile:
    """How many auctions a row gets."""

    auctions: int          # first (or only) round
    block_size: int
    target_rse: float | None = None   # grow until every SE is below this share of its mean
    max_auctions: int = 0
    cascade_factor: float = 1.0        # cascade rows run per auction in Python: fewer


PROFILES = {
    "golden": Profile(auctions=240, block_size=120, cascade_factor=0.5),
    "quick": Profile(auctions=2048, block_size=1024, cascade_factor=0.25),
    "full": Profile(auctions=32768, block_size=4096, target_rse=0.005, max_auctions=4_000_000,
                    cascade_factor=0.25),
}

MNL_MECHANISMS = ("vcg", "myerson", "gsp_separable", "vcg_independent")


def _scenario(name):
    with resources.as_file(resources.files("sim") / "scenarios" / f"{name}.toml") as path:
        return load_scenario(path)


def _grid(table):
    """``[(row label dict, Scenario), ...]`` of a table."""
    rows = []
    if table == "table1_mnl":
        base = _scenario("mnl")
        for n, m, k in ((6, 4, 2), (12, 6, 3), (30, 10, 5)):
            for s in (0.0, 0.5, 1.0):
                rows.append(({"n": n, "m": m, "k": k, "s": s},
                             base.replace(n=n, m=m, k=k, s=s, name=f"mnl-{n}x{m}k{k}-s{s:g}")))
    elif table == "table2_cascade":
        base = _scenario("cascade")
        for n, m, k in ((6, 4, 2), (12, 6, 3)):
            rows.append(({"n": n, "m": m, "k": k, "s": base.s},
                         base.replace(n=n, m=m, k=k, name=f"cascade-{n}x{m}k{k}")))
    elif table == "table3_asymmetric":
        for name in ("asymmetric_symmetric", "asymmetric_two_sizes", "asymmetric_one_large"):
            sc = _scenario(name)
            rows.append(({"priors": sc.name}, sc))
    elif table == "sweep_k":
        base = _scenario("mnl")
        for k in range(1, 6):
            rows.append(({"n": 10, "m": 5, "k": k, "s": 0.5},
                         base.replace(n=10, m=5, k=k, s=0.5, name=f"mnl-10x5k{k}")))
    else:
        raise ValueError(f"table must be one of {TABLES}, got {table!r}")
    return rows


TABLES = ("table1_mnl", "table2_cascade", "table3_asymmetric", "sweep_k")


def _run_row(sc, profile: Profile, seed, *, workers, executor, checkpoint, cascade):
    factor = profile.cascade_factor if cascade else 1.0
    bs = max(1, int(profile.block_size * factor))
    n_auctions = max(bs, int(profile.auctions * factor) // bs * bs)
    while True:
        res = simulate(sc, auctions=n_auctions, rng=seed, workers=workers, executor=executor,
                       block_size=bs, checkpoint=checkpoint, progress=None)
        if profile.target_rse is None:
            return res
        rse = res.rse()
        limit = int(profile.max_auctions * factor)
        if rse <= profile.target_rse or n_auctions >= limit:
            return res
        # Grow by whole blocks; the blocks already done come back from the checkpoint.
        need = n_auctions * (rse / profile.target_rse) ** 2 * 1.1
        n_auctions = min(limit, max(2 * bs + n_auctions, math.ceil(need / bs) * bs))


def build_table(table, *, size="quick", seed=2025, workers=None, executor=None,
                checkpoint=None) -> pd.DataFrame:
    """Simulate every row of ``table`` and return the long table (one row per mechanism).

    Examples
    --------
    >>> from sim.tables import build_table
    >>> t = build_table("table3_asymmetric", size="golden")
    >>> sorted(set(t["mechanism"]))
    ['myerson', 'vcg']
    """
    profile = PROFILES[size]
    t_index = TABLES.index(table)
    frames = []
    for r, (labels, sc) in enumerate(_grid(table)):
        seed_r = np.random.SeedSequence(seed, spawn_key=(t_index, r))
        res = _run_row(sc, profile, seed_r, workers=workers, executor=executor,
                       checkpoint=checkpoint, cascade=table == "table2_cascade")
        frame = res.summary.reset_index()
        for key, value in reversed(list(labels.items())):
            frame.insert(0, key, value)
        frame["auctions"] = res.auctions
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


# --- formatting ------------------------------------------------------------------------------

_TITLES = {
    "table1_mnl": "Table 1. MNL users: welfare share of first best, revenue, clicks, creatives shown",
    "table2_cascade": "Table 2. Cascade users (free order): exact and approximate rules",
    "table3_asymmetric": "Table 3. Asymmetric lognormal priors: Myerson against VCG",
    "sweep_k": "Welfare and revenue against k (MNL, n=10, m=5, s=0.5)",
}


def _pm(mean, se, digits=4):
    return f"{mean:.{digits}f} ± {se:.{digits}f}"


def to_markdown(table, df: pd.DataFrame) -> str:
    """The Markdown version of a long table (means ± standard errors)."""
    out = df.copy()
    if table == "table3_asymmetric":
        rows = []
        for prior, g in out.groupby("priors", sort=False):
            v = g.set_index("mechanism")
            gain = v.loc["myerson", "revenue"] / v.loc["vcg", "revenue"] - 1
            cost = 1 - v.loc["myerson", "welfare"] / v.loc["vcg", "welfare"]
            rows.append({
                "priors": prior,
                "VCG revenue": _pm(v.loc["vcg", "revenue"], v.loc["vcg", "revenue_se"]),
                "Myerson revenue": _pm(v.loc["myerson", "revenue"], v.loc["myerson", "revenue_se"]),
                "revenue gain": f"{100 * gain:+.1f}%",
                "welfare cost": f"{100 * cost:.1f}%",
                "auctions": int(v.loc["vcg", "auctions"]),
            })
        view = pd.DataFrame(rows)
    else:
        keys = [c for c in ("n", "m", "k", "s") if c in out.columns]
        view = out[keys + ["mechanism"]].copy()
        view["welfare share"] = out["welfare_share"].map(lambda x: f"{x:.4f}")
        view["welfare"] = [_pm(a, b) for a, b in zip(out["welfare"], out["welfare_se"])]
        view["revenue"] = [_pm(a, b) for a, b in zip(out["revenue"], out["revenue_se"])]
        view["clicks"] = out["clicks"].map(lambda x: f"{x:.4f}")
        view["shown"] = out["shown"].map(lambda x: f"{x:.2f}")
        if table == "table2_cascade":
            view["ratio worst"] = out["ratio_worst"].map(lambda x: f"{x:.4f}")
            view["ratio mean"] = out["ratio_mean"].map(lambda x: f"{x:.4f}")
        view["auctions"] = out["auctions"]
    header = "| " + " | ".join(map(str, view.columns)) + " |"
    rule = "|" + "|".join("---" for _ in view.columns) + "|"
    lines = ["| " + " | ".join(str(x) for x in row) + " |" for row in view.itertuples(index=False)]
    return f"### {_TITLES[table]}\n\n" + "\n".join([header, rule] + lines) + "\n"


def plot(tables: dict, out: Path) -> list[Path]:
    """PNG plots: welfare share and revenue against ``s`` and against ``k``."""
    import matplotlib

    matplotlib.use("Agg")
    import io

    import matplotlib.pyplot as plt

    written = []

    def save(fig, name):
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=120, bbox_inches="tight")
        plt.close(fig)
        path = out / name
        atomic_write_bytes(path, buf.getvalue())
        written.append(path)

    def plot_pair(df, x, xlabel, title, name):
        """Welfare share and revenue of each mechanism against column ``x``."""
        fig, axes = plt.subplots(1, 2, figsize=(10, 4))
        for mech, g in df.groupby("mechanism", sort=False):
            axes[0].plot(g[x], g["welfare_share"], marker="o", label=mech)
            axes[1].errorbar(g[x], g["revenue"], yerr=g["revenue_se"], marker="o", label=mech)
        axes[0].set(xlabel=xlabel, ylabel="welfare / first best", title=title)
        axes[1].set(xlabel=xlabel, ylabel="revenue per auction", title=title)
        axes[0].legend()
        save(fig, name)

    t1 = tables.get("table1_mnl")
    if t1 is not None:
        plot_pair(t1[t1["n"] == 12], "s", "non-separability s", "MNL, n=12, m=6, k=3",
                  "welfare_revenue_vs_s.png")
    tk = tables.get("sweep_k")
    if tk is not None:
        plot_pair(tk, "k", "k (most creatives shown)", "MNL, n=10, m=5, s=0.5", "welfare_revenue_vs_k.png")
    return written


def reproduce(out="results", *, size="quick", seed=2025, workers=None, executor=None,
              tables=TABLES, echo=print) -> dict:
    """Build every table, write CSV + Markdown + PNG into ``out``; return the tables.

    Finished blocks are kept under ``out/.checkpoints``, so an interrupted run resumes.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    checkpoint = out / ".checkpoints"
    built = {}
    for table in tables:
        df = build_table(table, size=size, seed=seed, workers=workers, executor=executor,
                         checkpoint=checkpoint)
        built[table] = df
        atomic_write_text(out / f"{table}.csv", df.to_csv(index=False, float_format="%.10g"))
        md = to_markdown(table, df)
        atomic_write_text(out / f"{table}.md", md)
        if echo is not None:
            echo(md)
    plot(built, out)
    return built
