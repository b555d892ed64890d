"""Seeded results are bit-identical for any workers, chunk size, or a Dask cluster; resume."""
from __future__ import annotations

import pandas as pd
import pytest
import scipy.stats as st

from models import MNL
from sim import Scenario, simulate

SC = Scenario(n=6, m=4, k=2, model=MNL(), values=st.uniform(0, 1), s=1.0,
              mechanisms=("vcg", "myerson", "gsp_separable", "vcg_independent"), name="det")
RUN = dict(auctions=1000, rng=11, block_size=128, realized=True)


@pytest.fixture(scope="module")
def reference():
    return simulate(SC, **RUN, workers=1, chunk_blocks=1)


@pytest.mark.parametrize("workers, chunk_blocks", [(1, 3), (2, 1), (2, 2), (2, None)])
def test_bit_identical_across_workers_and_chunks(reference, workers, chunk_blocks):
    res = simulate(SC, **RUN, workers=workers, chunk_blocks=chunk_blocks)
    pd.testing.assert_frame_equal(res.summary, reference.summary, check_exact=True)


def test_bit_identical_through_dask_local_cluster(reference):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        res = simulate(SC, **RUN, executor=client, chunk_blocks=2)
    pd.testing.assert_frame_equal(res.summary, reference.summary, check_exact=True)


def test_seed_changes_results(reference):
    res = simulate(SC, **{**RUN, "rng": 12})
    assert not res.summary.equals(reference.summary)


class Interrupt(Exception):
    pass


@pytest.mark.parametrize("workers", [1, 2])
def test_resume_after_interruption_equals_uninterrupted_run(tmp_path, reference, workers):
    seen = []

    def stop_after_three(done, total):
        seen.append(done)
        if len(seen) == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        simulate(SC, **RUN, workers=workers, chunk_blocks=1, checkpoint=tmp_path,
                 callback=stop_after_three)
    saved = len(list(tmp_path.glob("*/block-*.pkl")))
    assert 3 <= saved < 8
    res = simulate(SC, **RUN, workers=workers, chunk_blocks=2, checkpoint=tmp_path)
    assert res.computed_blocks == 8 - saved           # finished blocks are not redone
    pd.testing.assert_frame_equal(res.summary, reference.summary, check_exact=True)
    again = simulate(SC, **RUN, checkpoint=tmp_path)
    assert again.computed_blocks == 0
    pd.testing.assert_frame_equal(again.summary, reference.summary, check_exact=True)


def test_longer_run_reuses_checkpointed_blocks(tmp_path):
    short = simulate(SC, auctions=512, rng=3, block_size=128, checkpoint=tmp_path)
    assert short.computed_blocks == 4
    long = simulate(SC, auctions=1024, rng=3, block_size=128, checkpoint=tmp_path)
    assert long.computed_blocks == 4
    fresh = simulate(SC, auctions=1024, rng=3, block_size=128)
    pd.testing.assert_frame_equal(long.summary, fresh.summary, check_exact=True)


@pytest.mark.parametrize("todo, workers", [(196, 2), (7, 1), (1, 8), (500, 3)])
def test_default_tasks_cover_every_block_once_and_shrink_to_one(todo, workers):
    from sim.engine import _chunks

    chunks = _chunks(list(range(todo)), workers, None)
    assert [b for c in chunks for b in c] == list(range(todo))
    sizes = [len(c) for c in chunks]
    assert max(sizes) <= 16 and sizes[-1] == 1
    assert sizes == sorted(sizes, reverse=True)
