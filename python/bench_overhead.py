#!/usr/bin/python3
"""The Python call overhead on the seed blog's matmul, (10,12,4,5)·(10,12,5,8) float32:
tcc.matmul against the C++ BoundRun call on the same kernel and memory, and against
numpy.matmul. Issue 16's targets: tcc.matmul within 1.5 µs of BoundRun, and faster than
numpy.matmul.

    PYTHONPATH=build/python /usr/bin/python3 python/bench_overhead.py [--tcc build/bin/tcc]

Run it on an otherwise idle machine. A shared VM's speed drifts by tens of percent over
seconds, so the candidates are timed in turn, about 20 ms each, for 40 rounds, and each figure
is the median over rounds (the overhead: the median of the per-round differences). BoundRun is
timed in this process by a C++ loop (tcc._tcc._bound_run_seconds), and, as a cross-check,
by `tcc bench` in its own process. The kernels use tcc's default thread count. Inputs are
measured 64-byte aligned (tcc.aligned_memory) and as NumPy allocates them (16-byte aligned
here); both are read in place.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import timeit

import numpy as np

# The package sources beside this script lack the extension: import the built one (PYTHONPATH).
_here = os.path.dirname(os.path.abspath(__file__))
sys.path = [p for p in sys.path if os.path.abspath(p or '.') != _here]
import tcc  # noqa: E402

SEED_TC = """input w: f32[10, 12, 4, 5]
input k: f32[10, 12, 5, 8]
m = matmul(w, k)
output m
"""


def python_us(fn):
    """Microseconds per call of fn, timed for about `seconds`."""
    loops = max(1, int(0.02 / max(timeit.timeit(fn, number=20) / 20, 1e-9)))
    return lambda: timeit.timeit(fn, number=loops) / loops * 1e6


def in_process_bound_run_us(compiled, feeds):
    calls = max(1, int(0.02 / max(tcc._tcc._bound_run_seconds(compiled, feeds, 100), 1e-9)))
    return lambda: tcc._tcc._bound_run_seconds(compiled, feeds, calls) * 1e6


def interleaved(candidates, rounds=40):
    samples = {name: [] for name in candidates}
    for _ in range(rounds):
        for name, measure in candidates.items():
            samples[name].append(measure())
    return samples


def median(values):
    values = sorted(values)
    return values[len(values) // 2]


def bound_run_us(tcc_binary, threads):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, 'seed_matmul.tc')
        with open(path, 'w') as f:
            f.write(SEED_TC)
        medians = []
        for _ in range(5):  # the median of five `tcc bench` runs, each itself a median
            out = subprocess.run([tcc_binary, 'bench', path, '--threads', str(threads)], check=True,
                                 capture_output=True, text=True).stdout
            medians.append(float(re.search(r'median_us=([0-9.]+)', out).group(1)))
        return sorted(medians)[len(medians) // 2]


def misaligned_copy(array):
    raw = np.empty(array.nbytes + 128, np.uint8)
    start = (-raw.ctypes.data) % 64 + 16
    view = raw[start:start + array.nbytes].view(array.dtype).reshape(array.shape)
    view[...] = array
    return view


def main():
    default_tcc = os.path.join(os.path.dirname(tcc.__file__), '..', '..', 'bin', 'tcc')
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--tcc', default=default_tcc, help='the tcc binary whose `bench` times BoundRun')
    args = parser.parse_args()

    rng = np.random.default_rng(1)
    with tcc.aligned_memory():
        w = rng.uniform(-1, 1, (10, 12, 4, 5)).astype(np.float32)
        k = rng.uniform(-1, 1, (10, 12, 5, 8)).astype(np.float32)
        out = np.empty((10, 12, 4, 8), np.float32)
    w16, k16 = misaligned_copy(w), misaligned_copy(k)
    assert tcc.is_zero_copy(w) and tcc.is_zero_copy(k) and tcc.is_zero_copy(w16)
    np.testing.assert_allclose(tcc.matmul(w, k), np.matmul(w, k), rtol=1e-5, atol=1e-6)
    g = tcc.Graph()
    f = g.compile([tcc.matmul(g.input('w', 'float32', w.shape), g.input('k', 'float32', k.shape))])

    threads = tcc.num_threads()
    bound = 'C++ BoundRun, in this process'
    samples = interleaved({
        bound: in_process_bound_run_us(f, {'w': w, 'k': k}),
        'tcc.matmul(w, k)': python_us(lambda: tcc.matmul(w, k)),
        'tcc.matmul(w, k, out=out)': python_us(lambda: tcc.matmul(w, k, out=out)),
        'tcc.matmul, 16-byte-aligned inputs': python_us(lambda: tcc.matmul(w16, k16)),
        'Graph.compile(...)(w=w, k=k)': python_us(lambda: f(w=w, k=k)),
        'numpy.matmul(w, k)': python_us(lambda: np.matmul(w, k)),
        'numpy.matmul(w, k, out=out)': python_us(lambda: np.matmul(w, k, out=out)),
    })
    print('seed matmul (10,12,4,5)·(10,12,5,8) float32, %d kernel threads, numpy %s, python %s; '
          'medians of %d interleaved rounds'
          % (threads, np.__version__, sys.version.split()[0], len(samples[bound])))
    for name, values in samples.items():
        overhead = median([v - b for v, b in zip(values, samples[bound])])
        print('  %-46s %8.3f us%s' % (name, median(values), '' if name == bound else '   (+%.3f)' % overhead))
    print('  %-46s %8.3f us' % ('C++ BoundRun, `tcc bench` (own process)', bound_run_us(args.tcc, threads)))
    call = samples['tcc.matmul(w, k)']
    print('tcc.matmul - BoundRun = %.3f us (target <= 1.5); numpy.matmul / tcc.matmul = %.2fx (target > 1)'
          % (median([v - b for v, b in zip(call, samples[bound])]),
             median([n / t for n, t in zip(samples['numpy.matmul(w, k)'], call)])))


if __name__ == '__main__':
    main()
