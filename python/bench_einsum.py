#!/usr/bin/env python3
"""tcc.einsum against numpy.einsum(optimize=True) on the einsums of bench/formulations' groups.

Every group of bench/formulations/formulations.py is one contraction written several ways; this
takes the ways that are one einsum call on arrays (the group's own spec, permuted operand and
output layouts, multi-operand einsums) and calls them from Python, on NumPy arrays, both ways:
`tcc.einsum(spec, *arrays)` and `numpy.einsum(spec, *arrays, optimize=True)`. Operands in
another layout are NumPy views of the canonical arrays (`x.transpose(1, 2, 0)`), as a NumPy
user would pass them: tcc reads them in place as strided inputs. One thread each (tcc's
threads and OpenBLAS's, which NumPy's einsum calls through tensordot). Each call is checked
against the float64 einsum of the group, then both are timed in turn for `--rounds` rounds of
about 20 ms each; a figure is the median over rounds, the first call (tcc's compile) excluded.

    PYTHONPATH=build/python /usr/bin/python3 python/bench_einsum.py [--quick] [--groups a,b]
"""
import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # before NumPy loads OpenBLAS

import argparse
import importlib.util
import re
import sys

_here = os.path.dirname(os.path.abspath(__file__))


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# First: it picks OpenBLAS's kernels for this CPU (OPENBLAS_CORETYPE) before NumPy loads it.
formulations = _load('formulations', os.path.join(_here, '..', 'bench', 'formulations', 'formulations.py'))
overhead = _load('bench_overhead', os.path.join(_here, 'bench_overhead.py'))  # imports the built tcc
tcc = overhead.tcc
import numpy as np  # noqa: E402

# einsum("spec", a, b, ...) on plain input names: what a NumPy call can spell alike.
EINSUM_CALL = re.compile(r'^einsum\("([^"]+)",\s*([A-Za-z_]\w*(?:\s*,\s*[A-Za-z_]\w*)*)\)$')


def einsum_cases(group):
    """(label, spec, operand names) of the group's one-call einsums, its reference spec first."""
    spec, names = group.ref
    cases = [('ref', spec, list(names))]
    for form in group.forms:
        if len(form.stmts) != 1:
            continue
        call = EINSUM_CALL.match(form.stmts[0].strip())
        if call and (call.group(1), call.group(2).replace(' ', '').split(',')) != (spec, list(names)):
            cases.append((form.fid, call.group(1), call.group(2).replace(' ', '').split(',')))
    return cases


def arrays_of(group, rng):
    arrays = {name: rng.uniform(-1, 1, size=shape).astype(np.float32) for name, shape in group.inputs.items()}
    for name, make in group.derived.items():
        arrays[name] = make(arrays)  # a view, as NumPy makes it
    return arrays


def check(result, spec, operands):
    want = np.einsum(spec, *[o.astype(np.float64) for o in operands], optimize=True)
    scale = np.einsum(spec, *[np.abs(o).astype(np.float64) for o in operands], optimize=True)
    if not np.all(np.abs(np.asarray(result, np.float64) - want) <= 1e-4 * scale + 1e-6):
        raise SystemExit('tcc.einsum(%r) differs from NumPy' % spec)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--quick', action='store_true', help='the groups\' small sizes, 3 rounds')
    parser.add_argument('--groups', default='all', help='comma-separated group names')
    parser.add_argument('--rounds', type=int, default=15)
    args = parser.parse_args()
    rounds = min(3, args.rounds) if args.quick else args.rounds
    tcc.set_num_threads(1)
    rng = np.random.default_rng(1)
    wanted = None if args.groups == 'all' else set(args.groups.split(','))
    rows = []
    for group in formulations.groups(args.quick):
        if wanted and group.name not in wanted:
            continue
        arrays = arrays_of(group, rng)
        for label, spec, names in einsum_cases(group):
            operands = [arrays[n] for n in names]
            check(tcc.einsum(spec, *operands), spec, operands)  # and compiles it
            samples = overhead.interleaved({
                'tcc': overhead.python_us(lambda: tcc.einsum(spec, *operands)),
                'numpy': overhead.python_us(lambda: np.einsum(spec, *operands, optimize=True)),
            }, rounds)
            ours, numpys = overhead.median(samples['tcc']), overhead.median(samples['numpy'])
            rows.append((group.name, label, spec, ours, numpys))
            print('%-8s %-12s %-28s tcc %10.1f us  numpy %10.1f us  numpy/tcc %6.2f' %
                  (group.name, label, spec, ours, numpys, numpys / ours), flush=True)
    print('\n| group | form | spec | tcc.einsum µs | np.einsum(optimize=True) µs | numpy/tcc |')
    print('|---|---|---|---:|---:|---:|')
    for name, label, spec, ours, numpys in rows:
        print('| %s | %s | `%s` | %.1f | %.1f | %.2f |' % (name, label, spec, ours, numpys, numpys / ours))
    ratios = [numpys / ours for *_, ours, numpys in rows]
    print('\n%d einsums; numpy/tcc: min %.2f, median %.2f (>= 1: tcc faster)' %
          (len(rows), min(ratios), overhead.median(ratios)))


if __name__ == '__main__':
    sys.exit(main())
