"""Element-wise chains and softmax (issue 15's targets): tcc against NumPy evaluating the same
expression, 1 and 2 threads, medians of interleaved rounds, results checked.

    PYTHONPATH=build/python python3 -P bench/elementwise/elementwise_bench.py [--rounds R] [--smoke]

tcc runs a compiled graph (the chain is one kernel), each call allocating its result as NumPy
allocates its temporaries; a second row per case reuses the result (a bound run: no page faults
on a fresh 64 MB array), which is the kernels' own speed. Bandwidth: the bytes every element
moves at least once (each operand read, the result written), over the median time.
"""
import argparse
import sys
import time

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

    ok = True
    print('| case | threads | tcc ms | NumPy ms | NumPy / tcc | tcc GB/s |')
    print('|---|---:|---:|---:|---:|---:|')
    for threads in (1, 2):
        tcc.set_num_threads(threads)
        cases = [
            (f'relu(a*2+b)-a, {n} f32', chain, {'a': a, 'b': b}, numpy_chain, 3 * n * 4),
            (f'softmax ({rows}, {cols}) f32', softmax, {'x': x}, numpy_softmax, 2 * rows * cols * 4),
        ]
        for name, compiled, feeds, reference, nbytes in cases:
            def run(compiled=compiled, feeds=feeds):
                return compiled(feeds)
            got = np.asarray(run()[0])
            want = reference()
            if not np.allclose(got, want, rtol=1e-5, atol=1e-6):
                print(f'elementwise_bench: {name}: tcc differs from NumPy', file=sys.stderr)
                ok = False
            t_tcc, t_np = [], []
            for r in range(rounds):
                pair = [(run, t_tcc), (reference, t_np)]
                for fn, times in (pair if r % 2 == 0 else pair[::-1]):
                    times.append(median_ms(fn, 1, 3))
            mt, mn = sorted(t_tcc)[len(t_tcc) // 2], sorted(t_np)[len(t_np) // 2]
            print(f'| {name} | {threads} | {mt:.2f} | {mn:.2f} | {mn / mt:.2f} | {nbytes / mt / 1e6:.1f} |')
            bound = sorted(tcc._tcc._bound_run_seconds(compiled, feeds, 3) * 1e3 for _ in range(rounds))[rounds // 2]
            print(f'| {name}, result reused | {threads} | {bound:.2f} | {mn:.2f} | {mn / bound:.2f} | '
                  f'{nbytes / bound / 1e6:.1f} |')
            sys.stdout.flush()
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
