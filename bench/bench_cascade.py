"""Cascade benchmarks (SPEC §3.3): batch VCG at n=10, m=5, k=3 and the exact DP at n=50, m=16, k=16.

    python bench/bench_cascade.py [--auctions N] [--workers W] [--reference R] [--repeats K]

1. VCG under ``Cascade()`` for n=10, m=5, k=3, target >= 200,000 auctions/s on 2 cores:
   ``sim.simulate`` with ``workers`` processes, and the batch kernels alone (serial, and
   over Numba threads). The reference, in this process on the same draws, is the
   per-auction public ``auctions.vcg`` in a Python loop (the same DP, called once per
   auction); the script checks that both give the same outcomes before timing.
2. The exact DP for n=50, m=16, k=16 (every position subset: 2**16 states), target < 1 s per
   auction: ``allocate(method="exact")`` and the whole VCG mechanism, median of ``repeats``.
3. For scale, greedy and local search on instances beyond the exact budget.

Wall time on a shared machine depends on the load, so the process CPU time is printed too:
auctions per CPU-second is what one idle core delivers.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import numba
import numpy as np
import scipy.stats as st

from auctions import _kernels, allocate, vcg
from models import Cascade

N, M, K = 10, 5, 3


def timed(fn):
    start, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - start, time.process_time() - cpu


def batch_kernels(auctions, rng):
    bids = rng.uniform(0.0, 1.0, (auctions, N))
    p = rng.uniform(0.01, 0.5, (auctions, N, M))
    outs = {}
    for name, kernel in (("serial", _kernels.cascade_vcg_batch),
                         ("threads", _kernels.cascade_vcg_batch_parallel)):
        arrays = (np.empty((auctions, N), dtype=np.int64), np.empty((auctions, N)), np.empty((auctions, N)))
        kernel(bids[:64], p[:64], K, *(a[:64] for a in arrays))  # compile / load
        _, wall, cpu = timed(lambda: kernel(bids, p, K, *arrays))
        outs[name] = (arrays, wall, cpu)
    for a, b in zip(outs["serial"][0], outs["threads"][0]):
        np.testing.assert_array_equal(a, b)
    return bids, p, outs


def reference(bids, p, arrays, count):
    """The public per-auction ``vcg`` on the first ``count`` auctions; checks equality."""
    assign, ctr, pay = arrays
    vcg(bids[0], p[0], model=Cascade(), k=K)  # compile / load
    _, wall, cpu = timed(lambda: [vcg(bids[t], p[t], model=Cascade(), k=K) for t in range(count)])
    for t in range(count):
        out = vcg(bids[t], p[t], model=Cascade(), k=K)
        np.testing.assert_array_equal(out.assignment, assign[t])
        np.testing.assert_allclose(out.payments, pay[t], rtol=0, atol=1e-15)
    return wall, cpu


def simulator(auctions, workers):
    from sim import Scenario, simulate

    sc = Scenario(n=N, m=M, k=K, model=Cascade(), values=st.uniform(0, 1), mechanisms=("vcg",))
    simulate(sc, auctions=2 * 4096, rng=1, workers=workers)  # compile / load
    res, wall, _ = timed(lambda: simulate(sc, auctions=auctions, rng=0, workers=workers))
    return wall, float(res.summary.loc["vcg", "welfare"])


def exact_dp(repeats, rng):
    n, m, k = 50, 16, 16
    bids, p = rng.uniform(0.0, 1.0, n), rng.uniform(0.01, 0.5, (n, m))
    allocate(bids[:4], p[:4, :4], model=Cascade(), k=2, method="exact")  # compile / load
    rows = {}
    for name, fn in (("allocate(method='exact')", lambda: allocate(bids, p, model=Cascade(), k=k, method="exact")),
                     ("vcg (one pass)", lambda: vcg(bids, p, model=Cascade(), k=k))):
        walls, cpus = [], []
        for _ in range(repeats):
            _, wall, cpu = timed(fn)
            walls.append(wall)
            cpus.append(cpu)
        rows[name] = (statistics.median(walls), statistics.median(cpus))
    return rows


def approximations(rng):
    small, ps = rng.uniform(0, 1, 4), rng.uniform(0, 0.5, (4, 3))
    for method in ("greedy", "local_search"):  # compile / load
        allocate(small, ps, model=Cascade(), k=2, method=method)
    rows = []
    for n, m, k in ((30, 25, 6), (60, 40, 10), (200, 60, 10)):
        bids, p = rng.uniform(0.0, 1.0, n), rng.uniform(0.01, 0.3, (n, m))
        for method in ("greedy", "local_search", "auto"):
            if method == "local_search" and n * m > 2000:
                continue
            a, wall, _ = timed(lambda: allocate(bids, p, model=Cascade(), k=k, method=method))
            rows.append((n, m, k, method, a.method, wall, a.value, a.ratio))
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--auctions", type=int, default=400_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--reference", type=int, default=2000, help="auctions for the Python loop")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--skip-sim", action="store_true", help="time the kernels only")
    args = ap.parse_args(argv)
    rng = np.random.default_rng(0)
    print(f"{platform.machine()}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}, "
          f"Numba threads {numba.get_num_threads()}")

    print(f"\n1. Cascade() VCG, n={N} m={M} k={K} (target >= 200,000 auctions/s on 2 cores)")
    if not args.skip_sim:
        wall, welfare = simulator(args.auctions, args.workers)
        print(f"  sim.simulate, workers={args.workers}: {args.auctions / wall:12,.0f} auctions/s "
              f"(VCG welfare {welfare:.5f})")
    bids, p, outs = batch_kernels(args.auctions, rng)
    for name, (_, wall, cpu) in outs.items():
        print(f"  cascade_vcg_batch ({name:7}): {args.auctions / wall:12,.0f} auctions/s wall, "
              f"{args.auctions / cpu:12,.0f} per CPU-second")
    ref_wall, ref_cpu = reference(bids, p, outs["serial"][0], args.reference)
    print(f"  per-auction auctions.vcg   : {args.reference / ref_wall:12,.0f} auctions/s wall, "
          f"{args.reference / ref_cpu:12,.0f} per CPU-second (reference, same outcomes)")
    print(f"  batch kernel / reference   : {(args.auctions / outs['serial'][1]) / (args.reference / ref_wall):8.1f}x")

    print("\n2. Exact DP, n=50 m=16 k=16 (target < 1 s per auction), median of", args.repeats)
    for name, (wall, cpu) in exact_dp(args.repeats, rng).items():
        print(f"  {name:26}: {wall:7.3f} s wall, {cpu:7.3f} s CPU")

    print("\n3. Beyond the exact budget")
    for n, m, k, method, used, wall, value, ratio in approximations(rng):
        print(f"  n={n:3} m={m:2} k={k:2} {method:12} -> {used:12} {wall:7.3f} s  value {value:.4f}  "
              f"certified ratio >= {ratio:.3f}")


if __name__ == "__main__":
    main()
