"""Context scoring speed: 20 creatives against a 12-position answer, uncached (SPEC §8).

Target: under 0.5 s on a 2-core CPU once the model is loaded. Also reports the embedder's
raw throughput in sentences per second on a larger batch (CPU, and CUDA when available).

    python bench/bench_context.py [--repeats R] [--device cpu|cuda] [--threads T] [--json]

Each timed call starts from an empty cache, so every creative and every context sentence is
embedded: the cost of scoring a fresh answer with fresh creatives.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402

from models.context import ContextScorer, SentenceTransformerEmbedder, load_corpus  # noqa: E402
from models.text import split_positions  # noqa: E402

ANSWER = "programming-git-undo"  # a corpus answer with exactly 12 positions
N_CREATIVES = 20
TARGET_S = 0.5


def time_scoring(scorer, creatives, positions, repeats):
    """Wall-clock and process CPU seconds of each uncached call.

    CPU time is reported too because a shared machine inflates wall time: with one torch
    thread it is the cost on an idle core.
    """
    times, cpu = [], []
    for _ in range(repeats):
        scorer.clear_cache()
        start, start_cpu = time.perf_counter(), time.process_time()
        p = scorer.ctr(creatives, positions)
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return times, cpu, p


def throughput(embedder, sentences, repeats):
    """Sentences per second of the raw embedder on one large list (best of ``repeats``)."""
    best = min(_timed(embedder, sentences) for _ in range(repeats))
    return len(sentences) / best


def _timed(embedder, sentences):
    start = time.perf_counter()
    embedder(sentences)
    return time.perf_counter() - start


def bench(device, repeats):
    answers, creatives, _ = load_corpus()
    positions = split_positions(answers[ANSWER])
    assert len(positions) == 12, len(positions)
    creatives = creatives[:N_CREATIVES]

    embedder = SentenceTransformerEmbedder(device=device)
    start = time.perf_counter()
    embedder(["warm-up sentence"])  # loads the model and runs one forward pass
    load_s = time.perf_counter() - start
    scorer = ContextScorer(embedder)
    time_scoring(scorer, creatives, positions, 2)  # warm-up: allocator, kernels

    load_before = os.getloadavg()[0]
    times, cpu, p = time_scoring(scorer, creatives, positions, repeats)
    texts = scorer.cache_size  # distinct texts embedded per uncached call
    all_sentences = [pos.before for a in answers.values() for pos in split_positions(a)]
    all_sentences += [c.text for c in load_corpus()[1]]
    rate = throughput(embedder, all_sentences, max(2, repeats // 3))
    import torch

    return {
        "device": embedder.device,
        "device_name": (torch.cuda.get_device_name() if embedder.device.startswith("cuda")
                        else platform.processor() or platform.machine()),
        "torch_threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "load_s": round(load_s, 3),
        "creatives": len(creatives),
        "positions": len(positions),
        "texts_embedded": texts,
        "median_s": round(statistics.median(times), 4),
        "min_s": round(min(times), 4),
        "max_s": round(max(times), 4),
        "median_cpu_s": round(statistics.median(cpu), 4),
        "load_average": round(load_before, 2),
        "scoring_sentences_per_s": round(texts / statistics.median(times), 1),
        "bulk_sentences": len(all_sentences),
        "bulk_sentences_per_s": round(rate, 1),
        "target_s": TARGET_S,
        "meets_target": statistics.median(times) < TARGET_S,
        "p_range": [round(float(p.min()), 4), round(float(p.max()), 4)],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--device", default=None, help="default: cuda when available, else cpu")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.threads is not None:
        import torch

        torch.set_num_threads(args.threads)
    devices = [args.device] if args.device else ["cpu"]
    if args.device is None:
        import torch

        if torch.cuda.is_available():
            devices.append("cuda")
    results = [bench(device, args.repeats) for device in devices]
    if args.json:
        print(json.dumps(results, indent=2))
        return
    for r in results:
        print(f"device {r['device']} ({r['device_name']}, {r['torch_threads']} torch threads, "
              f"{r['cpu_count']} CPUs); model load {r['load_s']:.2f} s")
        print(f"  score {r['creatives']} creatives x {r['positions']} positions, uncached "
              f"({r['texts_embedded']} texts): median {r['median_s']:.3f} s "
              f"[min {r['min_s']:.3f}, max {r['max_s']:.3f}] "
              f"-> {'meets' if r['meets_target'] else 'MISSES'} the {r['target_s']} s target")
        print(f"  process CPU time per call {r['median_cpu_s']:.3f} s; "
              f"1-min load average {r['load_average']} on {r['cpu_count']} CPUs")
        print(f"  {r['scoring_sentences_per_s']:.0f} sentences/s while scoring; "
              f"{r['bulk_sentences_per_s']:.0f} sentences/s on {r['bulk_sentences']} at once")


if __name__ == "__main__":
    main()
