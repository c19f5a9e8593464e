#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Benchmark row python_cook_2x735: shmchop.Reader.cook() of a live 2 x 735
segment from Python, the samples taken as the numpy view (no copy), to set
beside shmchop-bench's C cook rows (cook_1k is the nearest size). Prints one JSON row with the bench's
keys (name, p50_ns, p90_ns, p99_ns, p999_ns, max_ns, ...).

Usage: PYTHONPATH=build/python /usr/bin/python3 python/bench/bench_cook.py
           [--iterations N] [--json FILE] [--name N]
"""

import argparse
import json
import os
import sys
import time

import numpy as np

import shmchop

CHANS, LENGTH = 2, 735


def percentile(sorted_ns, q):
    """Nearest-rank percentile of an ascending list."""
    idx = min(len(sorted_ns) - 1, max(0, int(np.ceil(q * len(sorted_ns))) - 1))
    return int(sorted_ns[idx])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--iterations", type=int, default=100000)
    ap.add_argument("--json", help="also write the row into FILE")
    ap.add_argument("--name", help="Shared Mem Name to use (default bench_python_PID); "
                    "its mutex objects stay after the run (R2.8): `shmchop-in gc NAME`")
    a = ap.parse_args()
    if a.iterations < 1:
        ap.error("--iterations must be >= 1")
    name = a.name or "bench_python_%d" % os.getpid()
    times = np.empty(a.iterations, dtype=np.int64)
    data = np.random.default_rng(1).random((CHANS, LENGTH), dtype=np.float32)
    clock = time.perf_counter_ns
    with shmchop.Writer(name) as w, shmchop.Reader(name) as r:
        w.publish(data, rate=44100.0)
        now = time.monotonic_ns()
        for _ in range(min(1000, a.iterations)):  # warm up: buffers sized
            r.cook(now)
        sink = 0.0
        for i in range(a.iterations):
            t0 = clock()
            chop = r.cook(now + i)
            sink += chop.samples[1, -1]
            times[i] = clock() - t0
        if chop.samples.shape != (CHANS, LENGTH) or sink != sink:
            print("bench_cook: wrong output %r" % (chop,), file=sys.stderr)
            return 1
    s = sorted(times.tolist())
    row = {"name": "python_cook_2x735", "kind": "copy", "state": "ok",
           "what": "shmchop.Reader.cook() from Python, samples as a numpy view",
           "iterations": a.iterations,
           "nominal_bytes": CHANS * LENGTH * 4,
           "p50_ns": percentile(s, 0.50), "p90_ns": percentile(s, 0.90),
           "p99_ns": percentile(s, 0.99), "p999_ns": percentile(s, 0.999), "max_ns": s[-1],
           "mean_ns": float(np.mean(times))}
    line = json.dumps(row)
    print(line)
    if a.json:
        with open(a.json, "w") as f:
            f.write(line + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
