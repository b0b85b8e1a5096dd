#!/usr/bin/python3
"""NumPy oracle for elementwise.tc (driven by elementwise.test).

  elementwise_check.py make-inputs TC IN_DIR    write IN_DIR/NAME.npy for every input of TC
  elementwise_check.py check TC IN_DIR OUT_DIR  evaluate every binding of TC as Python with NumPy
                                                 and compare with OUT_DIR/NAME.npy

Each binding `NAME = EXPR` of the .tc file is evaluated as the Python expression EXPR over the
inputs (floats in float64, integers in their own dtype, wrapping as NumPy's), with the .tc
functions defined below: operator precedence is therefore Python's by construction. Integers
must match exactly, floats to 1e-5 relative to the magnitude of the result (at least 1).
"""
import math
import os
import re
import sys

import numpy as np

DTYPES = {'f32': np.float32, 'f64': np.float64, 'i32': np.int32, 'i64': np.int64}
erf = np.vectorize(math.erf)
FUNCTIONS = {
    'relu': lambda a: np.maximum(a, 0), 'neg': np.negative, 'abs': np.abs, 'square': np.square,
    'sqrt': np.sqrt, 'rsqrt': lambda a: 1 / np.sqrt(a), 'exp': np.exp, 'log': np.log, 'tanh': np.tanh,
    'sigmoid': lambda a: 1 / (1 + np.exp(-a)), 'maximum': np.maximum, 'minimum': np.minimum, 'pow': np.power,
    'gelu': lambda a, approximate=False: (
        0.5 * a * (1 + np.tanh(math.sqrt(2 / math.pi) * (a + 0.044715 * a ** 3))) if approximate
        else 0.5 * a * (1 + erf(a / math.sqrt(2)))),
}


def statements(tc_path):
    """(inputs {name: (dtype, shape)}, bindings [(name, expr)]) of the .tc file."""
    inputs, bindings = {}, []
    for line in open(tc_path):
        line = line.split('#')[0].strip()
        m = re.match(r'input (\w+): (\w+)\[([\d, ]*)\]$', line)
        if m:
            inputs[m[1]] = (DTYPES[m[2]], tuple(int(d) for d in m[3].split(',') if d.strip()))
        elif re.match(r'\w+ = ', line):
            name, expr = line.split(' = ', 1)
            bindings.append((name, expr))
    return inputs, bindings


def make_inputs(tc_path, in_dir):
    os.makedirs(in_dir, exist_ok=True)
    rng = np.random.default_rng(15)
    for name, (dtype, shape) in statements(tc_path)[0].items():
        if np.issubdtype(dtype, np.integer):
            arr = rng.integers(-100000, 100000, size=shape, dtype=dtype)   # i * i wraps
        elif name == 'pos':
            arr = rng.uniform(0.1, 2, size=shape).astype(dtype)            # for sqrt, log, pow
        else:
            arr = rng.uniform(-1, 1, size=shape).astype(dtype)
        np.save(os.path.join(in_dir, name + '.npy'), arr)


def check(tc_path, in_dir, out_dir):
    inputs, bindings = statements(tc_path)
    env = {}
    for name, (dtype, _) in inputs.items():
        a = np.load(os.path.join(in_dir, name + '.npy'))
        env[name] = a.astype(np.float64) if a.dtype.kind == 'f' else a
    failures = []
    for name, expr in bindings:
        with np.errstate(over='ignore'):
            want = np.asarray(eval(expr, dict(FUNCTIONS), dict(env)))
        got = np.load(os.path.join(out_dir, name + '.npy'))
        if got.shape != want.shape:
            failures.append('%s: shape %s, NumPy gives %s' % (name, got.shape, want.shape))
        elif got.dtype.kind != 'f':
            if got.dtype != want.dtype or not np.array_equal(got, want):
                failures.append('%s: %s differs from NumPy\'s %s' % (name, got.dtype, want.dtype))
        else:
            err = np.max(np.abs(got.astype(np.float64) - want) / np.maximum(1.0, np.abs(want)), initial=0)
            if not err <= 1e-5:
                failures.append('%s: relative error %.3g' % (name, err))
    if failures:
        print('elementwise_check: FAIL:\n  ' + '\n  '.join(failures))
        return 1
    print('elementwise_check: all %d values match NumPy' % len(bindings))
    return 0


if __name__ == '__main__':
    if len(sys.argv) == 4 and sys.argv[1] == 'make-inputs':
        sys.exit(make_inputs(sys.argv[2], sys.argv[3]))
    if len(sys.argv) == 5 and sys.argv[1] == 'check':
        sys.exit(check(sys.argv[2], sys.argv[3], sys.argv[4]))
    print(__doc__)
    sys.exit(2)
