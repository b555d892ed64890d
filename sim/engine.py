"""The Monte-Carlo engine: :func:`simulate` and :class:`SimulationResult` (SPEC §7).

Reproducibility does not depend on how the work is split. The auctions are cut into *draw
blocks* of ``block_size`` auctions (default :data:`BLOCK_SIZE`); block ``b`` draws from its
own generator, ``SeedSequence(entropy, spawn_key=(b,))``, so its draws depend only on the
seed and ``b``. A *chunk* (one task for a worker) is a run of whole blocks. Each block's
results are reduced to sums in a fixed order, and blocks are combined with exactly-rounded
sums (:func:`math.fsum`), so a seeded result is bit-identical for any number of workers,
any chunk size, local processes or a Dask cluster.

With ``checkpoint=DIR`` every finished block is written atomically (a temporary file, then
:func:`os.replace`) under a key made of the scenario's fingerprint, the seed and the block
size; a run interrupted by Ctrl-C or a killed worker resumes from the finished blocks
without redoing them. A longer run of the same scenario and seed reuses them too.
"""
from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import hashlib
import math
import multiprocessing
import os
import pickle
import re
import tempfile
import time
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from .batch import METRICS, REALIZED, clicks_shape, run_block
from .scenario import Scenario

__all__ = ["BLOCK_SIZE", "SimulationResult", "simulate"]

#: Auctions per draw block. Part of a result's identity: a different block size draws
#: different numbers (as a different seed would).
BLOCK_SIZE = 4096

SUMMARY_COLUMNS = ("welfare", "welfare_se", "revenue", "revenue_se", "clicks", "shown",
                   "welfare_share", "ratio_mean", "ratio_worst")


@dataclasses.dataclass(frozen=True)
class SimulationResult:
    """What :func:`simulate` returns.

    Attributes
    ----------
    summary : pandas.DataFrame
        Indexed by mechanism. ``welfare``, ``revenue``, ``clicks`` (expected clicks),
        ``shown`` (creatives shown): means per auction; ``welfare_se``, ``revenue_se``:
        their standard errors; ``welfare_share``: total welfare over the total first-best
        welfare on the same draws; ``ratio_mean``, ``ratio_worst``: the mean and the worst
        per-auction ratio of welfare to the first best (approximation ratios). With
        ``realized=True`` also ``realized_clicks``, ``realized_clicks_se`` and
        ``realized_revenue``: clicks sampled from the user model and the per-click prices
        they pay.
    first_best : float
        Mean first-best welfare per auction.
    auctions : int
    scenario : Scenario
    seed : tuple
        The entropy and spawn key the blocks were derived from.
    block_size : int
    per_auction : pandas.DataFrame or None
        With ``per_auction=True``: one row per auction, columns ``(mechanism, metric)``,
        including ``("first_best", "welfare")``.
    elapsed : float
        Wall-clock seconds.
    computed_blocks : int
        Blocks computed by this call (the rest came from the checkpoint).
    """

    summary: pd.DataFrame
    first_best: float
    auctions: int
    scenario: Scenario
    seed: tuple
    block_size: int
    per_auction: pd.DataFrame | None
    elapsed: float
    computed_blocks: int

    def rse(self) -> float:
        """The largest relative standard error of a welfare or revenue mean."""
        s = self.summary
        out = 0.0
        for col in ("welfare", "revenue"):
            mean = s[col].abs().to_numpy()
            se = s[col + "_se"].to_numpy()
            rel = np.divide(se, mean, out=np.zeros_like(se), where=mean > 0)
            out = max(out, float(rel.max()))
        return out


# --- seeds and blocks ----------------------------------------------------------------------

def _seed_of(rng) -> tuple:
    """``(entropy, spawn_key)`` from an int, a SeedSequence or a Generator."""
    if isinstance(rng, np.random.SeedSequence):
        return int(rng.entropy), tuple(int(x) for x in rng.spawn_key)
    if isinstance(rng, np.random.Generator):
        hi, lo = rng.integers(0, 2**63, size=2)
        return (int(hi) << 63) | int(lo), ()
    if rng is None:
        raise ValueError("rng must be given (an int seed, SeedSequence or Generator): "
                         "seeded runs are the point of the simulator")
    if isinstance(rng, (bool, np.bool_)) or not isinstance(rng, (int, np.integer)) or rng < 0:
        raise ValueError(f"rng must be a non-negative int, a SeedSequence or a Generator, got {rng!r}")
    return int(rng), ()


def _blocks(auctions: int, block_size: int) -> list[tuple[int, int]]:
    full, rest = divmod(auctions, block_size)
    out = [(b, block_size) for b in range(full)]
    if rest:
        out.append((full, rest))
    return out


def _draw_and_run(scenario: Scenario, seed: tuple, index: int, size: int, realized: bool,
                  keep: bool) -> dict:
    """Draw block ``index`` and run every mechanism on it; reduce to block statistics."""
    entropy, key = seed
    gen = np.random.default_rng(np.random.SeedSequence(entropy, spawn_key=key + (index,)))
    values = scenario.draw_values(gen, size)
    p = scenario.draw_ctr(gen, size)
    u = gen.random(clicks_shape(scenario.model, size, scenario.n)) if realized else None
    raw = run_block(scenario, values, p, u)
    stats = {"n": size, "first_best": float(np.sum(raw["first_best"]))}
    for spec in scenario.mechanisms:
        for metric, x in raw[spec].items():
            s = float(np.sum(x))
            mean = s / size
            stats[(spec, metric)] = (s, float(np.sum((x - mean) ** 2)), float(np.min(x)))
    if keep:
        stats["arrays"] = raw
    return stats


def _chunks(todo: list, n_workers: int, chunk_blocks: int | None) -> list[list]:
    """Split the blocks to run into tasks: ``chunk_blocks`` each, or by default shrinking
    ones (guided scheduling: a quarter of what is left per worker, 1 to 16 blocks), so that
    the first tasks amortise their sending cost and the last leave no worker idle for long."""
    if chunk_blocks is not None:
        return [todo[i:i + chunk_blocks] for i in range(0, len(todo), chunk_blocks)]
    chunks, start = [], 0
    while start < len(todo):
        size = max(1, min(16, (len(todo) - start) // (4 * n_workers)))
        chunks.append(todo[start:start + size])
        start += size
    return chunks


def _warm_up(scenario):
    gen = np.random.default_rng(0)
    run_block(scenario, scenario.draw_values(gen, 2), scenario.draw_ctr(gen, 2))


def _run_chunk(scenario, seed, blocks, realized, keep):
    """One task: a list of ``(index, size)`` blocks -> ``[(index, size, stats), ...]``."""
    return [(b, size, _draw_and_run(scenario, seed, b, size, realized, keep)) for b, size in blocks]


# --- checkpoints ---------------------------------------------------------------------------

class _Store:
    """Finished blocks, in memory and (optionally) on disk, written atomically."""

    def __init__(self, root, scenario, seed, block_size, realized, keep):
        self.mem: dict[tuple[int, int], dict] = {}
        self.dir = None
        if root is not None:
            ident = repr((scenario.fingerprint(), seed, block_size, realized, keep)).encode()
            label = re.sub(r"[^A-Za-z0-9_.-]+", "_", scenario.name or "scenario").strip("_")[:40]
            self.dir = Path(root) / f"{label}-{hashlib.sha256(ident).hexdigest()[:16]}"
            self.dir.mkdir(parents=True, exist_ok=True)

    def _path(self, b, size):
        return self.dir / f"block-{b:07d}-{size}.pkl"

    def load(self, b, size):
        if self.dir is None:
            return None
        path = self._path(b, size)
        if not path.exists():
            return None
        try:
            with open(path, "rb") as fh:
                return pickle.load(fh)
        except (OSError, pickle.UnpicklingError, EOFError):
            return None  # a torn file cannot happen (atomic writes), but never trust it

    def save(self, b, size, stats):
        self.mem[(b, size)] = stats
        if self.dir is not None:
            atomic_write_bytes(self._path(b, size), pickle.dumps(stats, protocol=pickle.HIGHEST_PROTOCOL))


def atomic_write_bytes(path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically: a temporary file in the same folder, then rename."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; results are ordinary files
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def atomic_write_text(path, text: str) -> None:
    """:func:`atomic_write_bytes` for text (UTF-8)."""
    atomic_write_bytes(path, text.encode("utf-8"))


# --- executors -----------------------------------------------------------------------------

def _is_dask_client(obj) -> bool:
    return type(obj).__name__ == "Client" and type(obj).__module__.startswith("distributed")


def _submit_all(executor, fn, tasks):
    """Submit ``fn(*task)`` for every task; yield results as they finish."""
    if _is_dask_client(executor):
        from distributed import as_completed

        futures = [executor.submit(fn, *task, pure=False) for task in tasks]
        try:
            for fut in as_completed(futures):
                yield fut.result()
        finally:
            for fut in futures:
                fut.cancel()
        return
    futures = [executor.submit(fn, *task) for task in tasks]
    try:
        for fut in cf.as_completed(futures):
            yield fut.result()
    finally:
        for fut in futures:
            fut.cancel()


def _pool(workers: int):
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    return cf.ProcessPoolExecutor(max_workers=workers, mp_context=ctx)


# --- the entry point -----------------------------------------------------------------------

def simulate(scenario: Scenario, *, auctions: int, rng, workers: int | None = None,
             executor=None, block_size: int = BLOCK_SIZE, chunk_blocks: int | None = None,
             realized: bool = False, per_auction: bool = False, checkpoint=None,
             progress: bool | None = None, callback: Callable | None = None) -> SimulationResult:
    """Simulate ``auctions`` auctions of ``scenario`` and compare its mechanisms.

    Every mechanism sees the same draws (common random numbers). Bids are truthful.

    Parameters
    ----------
    scenario : Scenario
    auctions : int
        How many auctions.
    rng : int, numpy.random.SeedSequence or numpy.random.Generator
        The seed. The result depends only on it, the scenario, ``auctions`` and
        ``block_size``.
    workers : int, optional
        Local worker processes; ``None`` or 1 runs in this process.
    executor : distributed.Client, str or concurrent.futures.Executor, optional
        Run the chunks there instead: a Dask client, a scheduler address (a client is made
        and closed), or any executor. Same results as locally.
    block_size : int
        Auctions per draw block (:data:`BLOCK_SIZE`).
    chunk_blocks : int, optional
        Blocks per task; by default shrinking tasks of 16 blocks down to 1 (see ``_chunks``).
    realized : bool
        Also sample realized clicks from the user model.
    per_auction : bool
        Keep the per-auction arrays (:attr:`SimulationResult.per_auction`).
    checkpoint : path, optional
        Folder for finished blocks; a rerun resumes from them.
    progress : bool, optional
        Show a progress bar (default: when stderr is a terminal and the run is long).
    callback : callable, optional
        ``callback(done_blocks, total_blocks)`` after every finished chunk.

    Returns
    -------
    SimulationResult

    Examples
    --------
    >>> import scipy.stats as st
    >>> from models import MNL
    >>> from sim import Scenario, simulate
    >>> sc = Scenario(n=6, m=4, k=2, model=MNL(), values=st.uniform(0, 1),
    ...               mechanisms=("vcg", "myerson"))
    >>> res = simulate(sc, auctions=2000, rng=0)
    >>> list(res.summary.index)
    ['vcg', 'myerson']
    >>> float(res.summary.loc["vcg", "welfare_share"])
    1.0
    >>> bool(res.summary.loc["myerson", "revenue"] > res.summary.loc["vcg", "revenue"])
    True
    """
    started = time.perf_counter()
    if not isinstance(scenario, Scenario):
        raise TypeError(f"scenario must be a Scenario, got {type(scenario).__name__}")
    for name, x, low in (("auctions", auctions, 1), ("block_size", block_size, 1)):
        if isinstance(x, bool) or not isinstance(x, (int, np.integer)) or x < low:
            raise ValueError(f"{name} must be a positive int, got {x!r}")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or workers < 1):
        raise ValueError(f"workers must be a positive int or None, got {workers!r}")
    if chunk_blocks is not None and (not isinstance(chunk_blocks, (int, np.integer)) or chunk_blocks < 1):
        raise ValueError(f"chunk_blocks must be a positive int or None, got {chunk_blocks!r}")
    auctions, block_size = int(auctions), int(block_size)
    seed = _seed_of(rng)
    blocks = _blocks(auctions, block_size)
    store = _Store(checkpoint, scenario, seed, block_size, realized, per_auction)
    todo = []
    for b, size in blocks:
        stats = store.load(b, size)
        if stats is None:
            todo.append((b, size))
        else:
            store.mem[(b, size)] = stats

    n_workers = int(workers or 1)
    own_client = None
    if isinstance(executor, str):
        from distributed import Client

        own_client = executor = Client(executor)
    if executor is not None and _is_dask_client(executor):
        n_workers = max(n_workers, len(executor.scheduler_info().get("workers", {})) or 1)
    chunks = _chunks(todo, n_workers, chunk_blocks)
    tasks = [(scenario, seed, chunk, realized, per_auction) for chunk in chunks]

    if progress is None:
        import sys

        progress = sys.stderr.isatty() and auctions >= 200_000
    from tqdm.auto import tqdm

    bar = tqdm(total=auctions, initial=auctions - sum(s for _, s in todo), unit="auction",
               unit_scale=True, disable=not progress, desc=scenario.name or "simulate", leave=False)
    done = len(blocks) - len(todo)
    pool = None
    try:
        if executor is None and n_workers > 1 and len(chunks) > 1:
            _warm_up(scenario)  # compile the kernels (and score a text corpus) once, before forking
            pool = executor = _pool(n_workers)
        results = (_run_chunk(*t) for t in tasks) if executor is None else _submit_all(executor, _run_chunk, tasks)
        for chunk_result in results:
            for b, size, stats in chunk_result:
                store.save(b, size, stats)
                bar.update(size)
            done += len(chunk_result)
            if callback is not None:
                callback(done, len(blocks))
    finally:
        bar.close()
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        if own_client is not None:
            own_client.close()

    ordered = [store.mem[(b, size)] for b, size in blocks]
    summary, first_best = _combine(scenario, ordered, auctions, realized)
    table = _per_auction_frame(scenario, ordered) if per_auction else None
    return SimulationResult(summary=summary, first_best=first_best, auctions=auctions,
                            scenario=scenario, seed=seed, block_size=block_size,
                            per_auction=table, elapsed=time.perf_counter() - started,
                            computed_blocks=len(todo))


def _moments(parts, total):
    """Mean, standard error and minimum from per-block ``(n, (sum, m2, min))``."""
    s = math.fsum(p[1][0] for p in parts)
    mean = s / total
    m2 = math.fsum([p[1][1] for p in parts] + [p[0] * (p[1][0] / p[0] - mean) ** 2 for p in parts])
    se = math.sqrt(m2 / (total - 1) / total) if total > 1 else float("nan")
    return mean, se, min(p[1][2] for p in parts)


def _combine(scenario, ordered, total, realized):
    fb_total = math.fsum(st["first_best"] for st in ordered)
    rows = {}
    for spec in scenario.mechanisms:
        row = {}
        for metric in METRICS + (REALIZED if realized else ()):
            mean, se, low = _moments([(st["n"], st[(spec, metric)]) for st in ordered], total)
            if metric == "ratio":
                row["ratio_mean"], row["ratio_worst"] = mean, low
            elif metric in ("welfare", "revenue", "realized_clicks"):
                row[metric], row[metric + "_se"] = mean, se
            else:
                row[metric] = mean
        welfare_total = math.fsum(st[(spec, "welfare")][0] for st in ordered)
        row["welfare_share"] = welfare_total / fb_total if fb_total > 0 else 1.0
        rows[spec] = row
    columns = list(SUMMARY_COLUMNS)
    if realized:
        columns += ["realized_clicks", "realized_clicks_se", "realized_revenue"]
    summary = pd.DataFrame.from_dict(rows, orient="index")[columns]
    summary.index.name = "mechanism"
    return summary, fb_total / total


def _per_auction_frame(scenario, ordered):
    cols = {("first_best", "welfare"): np.concatenate([st["arrays"]["first_best"] for st in ordered])}
    for spec in scenario.mechanisms:
        for metric in ordered[0]["arrays"][spec]:
            cols[(spec, metric)] = np.concatenate([st["arrays"][spec][metric] for st in ordered])
    frame = pd.DataFrame(cols)
    frame.columns = pd.MultiIndex.from_tuples(frame.columns, names=["mechanism", "metric"])
    frame.index.name = "auction"
    return frame
