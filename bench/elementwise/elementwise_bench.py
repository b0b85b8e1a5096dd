"""Element-wise chains and softmax (issue 15's targets): tcc against NumPy evaluating the same
expression, 1 and 2 threads, medians of interleaved rounds, results checked.

    PYTHONPATH=build/python python3 -P bench/elementwise/elementwise_bench.py [--rounds R] [--smoke]

tcc runs a compiled graph (the chain is one kernel), each call allocating its result as NumPy
allocates its temporaries; a second row per case reuses the result (a bound run: no page faults
on a fresh 64 MB array), which is the kernels' own speed. Bandwidth: the bytes every element
moves at least once (each operand read, the result written), over the median time; "of copy"
compares it with the bandwidth of a 64 MB copy (np.copyto, whose memcpy writes past the caches)
measured in the same interleaved rounds, on as many threads: the machine's bandwidth at that
moment (this VM's varies by 3x between runs), where shared/baselines gives it at another time.
"""
import argparse
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

import tcc


def median_ms(fn, rounds, inner):
    fn()
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        times.append((time.perf_counter() - t0) / inner * 1e3)
    return sorted(times)[len(times) // 2]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--rounds', type=int, default=9)
    parser.add_argument('--smoke', action='store_true')
    args = parser.parse_args()
    n = 1 << 12 if args.smoke else 1 << 24
    rows, cols = (16, 64) if args.smoke else (4096, 1024)
    rounds = 3 if args.smoke else args.rounds
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(n, dtype=np.float32), rng.standard_normal(n, dtype=np.float32)
    x = rng.standard_normal((rows, cols), dtype=np.float32) * 4

    g = tcc.Graph()
    ga, gb = g.input('a', np.float32, (n,)), g.input('b', np.float32, (n,))
    chain = g.compile([tcc.relu(ga * 2.0 + gb) - ga])
    gx = g.input('x', np.float32, (rows, cols))
    softmax = g.compile([tcc.softmax(gx)])

    def numpy_chain():
        return np.maximum(a * 2 + b, 0) - a

    def numpy_softmax():
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)

    copy_dst = np.empty_like(a)
    pool = ThreadPoolExecutor(2)

    def copy(threads):
        # Each thread copies its share (NumPy releases the GIL for the copy).
        if threads == 1:
            np.copyto(copy_dst, a)
            return
        bounds = np.linspace(0, n, threads + 1).astype(int)
        list(pool.map(lambda i: np.copyto(copy_dst[bounds[i]:bounds[i + 1]], a[bounds[i]:bounds[i + 1]]), range(threads)))

    ok = True
    print('| case | threads | tcc ms | NumPy ms | NumPy / tcc | tcc GB/s | of copy |')
    print('|---|---:|---:|---:|---:|---:|---:|')
    for threads in (1, 2):
        tcc.set_num_threads(threads)
        copy(threads)
        cases = [
            (f'relu(a*2+b)-a, {n} f32', chain, {'a': a, 'b': b}, numpy_chain, 3 * n * 4, True),
            (f'softmax ({rows}, {cols}) f32', softmax, {'x': x}, numpy_softmax, 2 * rows * cols * 4, False),
        ]
        for name, compiled, feeds, reference, nbytes, streams in cases:
            def run(compiled=compiled, feeds=feeds):
                return compiled(feeds)
            got = np.asarray(run()[0])
            want = reference()
            if not np.allclose(got, want, rtol=1e-5, atol=1e-6):
                print(f'elementwise_bench: {name}: tcc differs from NumPy', file=sys.stderr)
                ok = False
            t_tcc, t_np, t_bound, t_copy = [], [], [], []
            for r in range(rounds):
                group = [(run, t_tcc), (reference, t_np), (None, t_bound)]
                if streams:
                    group.append((lambda: copy(threads), t_copy))
                for fn, times in (group if r % 2 == 0 else group[::-1]):
                    if fn is None:
                        times.append(tcc._tcc._bound_run_seconds(compiled, feeds, 3) * 1e3)
                    else:
                        times.append(median_ms(fn, 1, 3))
            mt, mn, mb = (sorted(t)[len(t) // 2] for t in (t_tcc, t_np, t_bound))
            copy_gbs = 2 * n * 4 / sorted(t_copy)[len(t_copy) // 2] / 1e6 if streams else None

            def of_copy(ms):
                return f'{nbytes / ms / 1e6 / copy_gbs:.0%}' if streams else ''
            print(f'| {name} | {threads} | {mt:.2f} | {mn:.2f} | {mn / mt:.2f} | {nbytes / mt / 1e6:.1f} | {of_copy(mt)} |')
            print(f'| {name}, result reused | {threads} | {mb:.2f} | {mn:.2f} | {mn / mb:.2f} | '
                  f'{nbytes / mb / 1e6:.1f} | {of_copy(mb)} |')
            if streams:
                print(f'| copy of {n} f32 (np.copyto) | {threads} | | | | {copy_gbs:.1f} | |')
            sys.stdout.flush()
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
