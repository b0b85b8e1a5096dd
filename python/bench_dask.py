"""tcc.dask scaling: batch_dot over a batch of 4x5 . 5x8 matrices (default 10^6) on a
dask.distributed LocalCluster of 1 and of 2 worker processes (one thread each, tcc on one
thread per worker), the same chunks; medians of a few runs, the data already on the workers.

  PYTHONPATH=build/python /usr/bin/python3 -P python/bench_dask.py [--batch N] [--chunk C] [--runs R]
"""
import argparse
import os
import statistics
import time
import uuid

os.environ.setdefault("TCC_NUM_THREADS", "1")  # one tcc thread per single-threaded worker

import dask.array as da
import distributed
import numpy as np

import tcc.dask as tdask


def timed(client, x, y, runs):
    x, y = client.persist(x), client.persist(y)
    distributed.wait([x, y])
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        # A fresh key per run: the scheduler would hand back the previous run's blocks.
        tdask.einsum("bij,bjk->bik", x, y, name=f"bench-{uuid.uuid4()}").sum().compute()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--batch", type=int, default=1_000_000)
    p.add_argument("--chunk", type=int, default=50_000)
    p.add_argument("--runs", type=int, default=5)
    a = p.parse_args()
    rng = np.random.default_rng(0)
    w = rng.standard_normal((a.batch, 4, 5)).astype(np.float32)
    k = rng.standard_normal((a.batch, 5, 8)).astype(np.float32)
    result = {}
    for workers in (1, 2):
        with distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                      dashboard_address=None) as cluster, distributed.Client(cluster) as client:
            x = da.from_array(w, chunks=(a.chunk, 4, 5))
            y = da.from_array(k, chunks=(a.chunk, 5, 8))
            timed(client, x, y, 1)  # compile the block's kernel in every worker
            result[workers] = timed(client, x, y, a.runs)
        print(f"{workers} worker(s): {result[workers] * 1e3:.1f} ms")
    print(f"2 workers / 1 worker speed-up: {result[1] / result[2]:.2f}x "
          f"(batch {a.batch}, chunks of {a.chunk}, {a.runs} runs)")


if __name__ == "__main__":
    main()
