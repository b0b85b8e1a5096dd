#!/usr/bin/python3
"""NumPy oracle for numpy_oracle.tc (driven by numpy_oracle.test).

  numpy_oracle.py make-inputs IN_DIR      write IN_DIR/NAME.npy for every fed input
  numpy_oracle.py feeds IN_DIR            print the matching `-i NAME=PATH` arguments
  numpy_oracle.py check IN_DIR OUT_DIR    recompute every output with NumPy and compare

Integers must match exactly (NumPy's fixed-width wrap-around). Floats are recomputed in float64
and must lie within  c * eps(dtype) * (sqrt(K) + 1) * M  of it per element, where M is the same
expression evaluated on the absolute values of the inputs and K the number of products summed
per element. Legacy batch_dot is implemented literally from spec/semantics.md; the other ops use
np.dot / np.matmul / np.tensordot / np.einsum.
"""
import os
import sys

import numpy as np

# name: (dtype, shape, values) with values 'unit' (uniform [-1, 1)) or 'wide' (full integer range).
INPUTS = {
    'a': ('float32', (3, 4), 'unit'), 'b': ('float32', (4, 5), 'unit'), 'v': ('float32', (4,), 'unit'),
    'r5': ('float32', (5,), 'unit'), 's': ('float32', (), 'unit'),
    'x4': ('float32', (1, 2, 3, 4), 'unit'), 'y4': ('float32', (8, 7, 4, 5), 'unit'),
    'e': ('float32', (2, 4, 6), 'unit'), 'w': ('float32', (10, 12, 4, 5), 'unit'),
    'k': ('float32', (10, 12, 5, 8), 'unit'), 'p': ('float32', (32, 10, 5), 'unit'),
    'q': ('float32', (32, 5), 'unit'), 'sq': ('float32', (4, 4), 'unit'),
    'fa': ('float64', (5, 3, 4), 'unit'), 'fb': ('float64', (5, 4, 2), 'unit'),
    'fu': ('float64', (6, 3, 4), 'unit'), 'ft': ('float64', (6, 3, 5), 'unit'),
    'ft2': ('float64', (6, 5, 4), 'unit'), 'fm': ('float64', (7, 6), 'unit'), 'fn': ('float64', (7, 6), 'unit'),
    'ia': ('int32', (3, 4), 'wide'), 'ib': ('int32', (4, 5), 'wide'),
    'ic': ('int32', (2, 3, 4), 'wide'), 'id': ('int32', (2, 4, 3), 'wide'),
    'la': ('int64', (3, 4), 'wide'), 'lb': ('int64', (4, 5), 'wide'),
    'lc': ('int64', (2, 3, 4), 'wide'), 'ld': ('int64', (2, 4, 3), 'wide'),
}
# Inputs tcc fills itself from --seed; they are outputs too, so the check reads them back.
SEEDED = {'g': ('float32', (2, 3))}



def batch_dot_axes(axes, rx, ry, default):
    """batch_dot's axes as (a0, a1): None -> default, an int a -> (a, a), negatives + rank."""
    if axes is None:
        a0, a1 = default
    elif isinstance(axes, int):
        a0 = a1 = axes
    else:
        a0, a1 = axes
    return (a0 + rx if a0 < 0 else a0), (a1 + ry if a1 < 0 else a1)


def legacy_batch_dot(x, y, axes=None):
    """Keras <= 2.2.4 batch_dot, step by step as semantics.md lists it."""
    rx, ry = x.ndim, y.ndim
    a0, a1 = batch_dot_axes(axes, rx, ry, (rx - 1, ry - 2))
    r = max(rx, ry)
    xp = x.reshape(x.shape + (1,) * (r - rx))
    yp = y.reshape(y.shape + (1,) * (r - ry))
    if r == 2:
        assert a0 == a1, 'legacy rank-2 batch_dot needs equal axes'
        out = np.sum(xp * yp, axis=a0)
    else:
        assert xp.shape[:-2] == yp.shape[:-2], 'legacy batch dims must be identical'
        xa = np.swapaxes(xp, -1, -2) if a0 != r - 1 else xp     # adjoint_a
        yb = np.swapaxes(yp, -1, -2) if a1 == r - 1 else yp     # adjoint_b
        out = np.matmul(xa, yb)
    d = abs(rx - ry)
    if d:
        i = rx + ry - 3 if rx > ry else rx - 1
        out = np.squeeze(out, axis=tuple(range(i, i + d)))
    if out.ndim == 1:
        out = out.reshape(out.shape[0], 1)
    return out


def modern_batch_dot(x, y, axes=None):
    """Keras >= 2.2.5: per batch element, tensordot(x[b], y[b], axes=(a0-1, a1-1))."""
    rx, ry = x.ndim, y.ndim
    a0, a1 = batch_dot_axes(axes, rx, ry, (rx - 1, ry - 1 if ry == 2 else ry - 2))
    out = np.stack([np.tensordot(x[i], y[i], axes=([a0 - 1], [a1 - 1])) for i in range(x.shape[0])])
    if out.ndim == 1:
        out = out.reshape(out.shape[0], 1)
    return out


def t(x):
    return np.swapaxes(x, -1, -2)


# name: (dtype, expression over the inputs, K = products summed per output element)
OUTPUTS = {
    'd_mm': ('float32', lambda E: np.dot(E['a'], E['b']), 4),
    'd_seed': ('float32', lambda E: np.dot(E['x4'], E['y4']), 4),
    'd_scalar': ('float32', lambda E: np.dot(E['s'], E['a']), 1),
    'd_vv': ('float32', lambda E: np.dot(E['v'], E['v']), 4),
    'd_mv': ('float32', lambda E: np.dot(E['a'], E['v']), 4),
    'd_vm': ('float32', lambda E: np.dot(E['v'], E['y4']), 4),
    'm_seed': ('float32', lambda E: np.matmul(E['w'], E['k']), 5),
    'm_flags': ('float32', lambda E: np.matmul(t(E['b']), t(E['a'])), 4),
    'm_bcast': ('float32', lambda E: np.matmul(E['x4'], E['e']), 4),
    'at_mm': ('float32', lambda E: E['a'] @ E['b'], 4),
    'at_vm': ('float32', lambda E: E['v'] @ E['b'], 4),
    'at_mv': ('float32', lambda E: E['a'] @ E['v'], 4),
    'at_vv': ('float32', lambda E: E['v'] @ E['v'], 4),
    'bd_seed': ('float32', lambda E: modern_batch_dot(E['w'], E['k']), 5),
    'bdl_seed': ('float32', lambda E: legacy_batch_dot(E['w'], E['k']), 5),
    'bd_pq': ('float32', lambda E: modern_batch_dot(E['p'], E['q']), 5),
    'bdl_pq': ('float32', lambda E: legacy_batch_dot(E['p'], E['q']), 5),
    'td_pair': ('float32', lambda E: np.tensordot(E['x4'], E['y4'], axes=([3], [2])), 4),
    'td_int': ('float32', lambda E: np.tensordot(E['a'], E['b'], axes=1), 4),
    'td_outer': ('float32', lambda E: np.tensordot(E['v'], E['v'], axes=0), 1),
    'es_mm': ('float32', lambda E: np.einsum('ij,jk->ik', E['a'], E['b']), 4),
    'es_ell': ('float32', lambda E: np.einsum('...ij,...jk->...ik', E['x4'], E['e']), 4),
    'es_diag': ('float32', lambda E: np.einsum('ii->i', E['sq']), 1),
    'es_trace': ('float32', lambda E: np.einsum('ii', E['sq']), 4),
    'es_three': ('float32', lambda E: np.einsum('ij,jk,k->i', E['a'], E['b'], E['r5']), 20),
    'tr': ('float32', lambda E: np.transpose(E['x4'], (3, 1, 0, 2)), 1),
    'tr_rev': ('float32', lambda E: np.transpose(E['y4']), 1),
    'rs': ('float32', lambda E: np.reshape(E['w'], (-1, 40)), 1),
    'chain': ('float32', lambda E: np.matmul(t(np.reshape(t(E['w']), (120, 5, 4))), np.reshape(E['k'], (120, 5, 8))), 5),
    'g': ('float32', lambda E: E['g'], 1),
    'gg': ('float32', lambda E: np.dot(E['g'], E['g'].T), 3),
    'f_bd': ('float64', lambda E: modern_batch_dot(E['fa'], E['fb']), 4),
    'f_bd_ax1': ('float64', lambda E: modern_batch_dot(E['fu'], E['ft'], 1), 3),
    'f_bdl_ax1': ('float64', lambda E: legacy_batch_dot(E['fu'], E['ft'], 1), 3),
    'f_bdl_ax22': ('float64', lambda E: legacy_batch_dot(E['fu'], E['ft2'], (2, 2)), 4),
    'f_bdl_r2': ('float64', lambda E: legacy_batch_dot(E['fm'], E['fn'], 1), 6),
    'f_bd_r2': ('float64', lambda E: modern_batch_dot(E['fm'], E['fn']), 6),
    'f_td': ('float64', lambda E: np.tensordot(E['fa'], E['fb'], axes=([0, 2], [0, 1])), 20),
    'f_es': ('float64', lambda E: np.einsum('bij,bjk->bik', E['fa'], E['fb']), 4),
    'f_mm': ('float64', lambda E: E['fa'] @ E['fb'], 4),
    'f_dot': ('float64', lambda E: np.dot(E['fa'], E['fb']), 4),
    'i_dot': ('int32', lambda E: np.dot(E['ia'], E['ib']), 0),
    'i_mm': ('int32', lambda E: np.matmul(E['ic'], E['id']), 0),
    'i_bd': ('int32', lambda E: modern_batch_dot(E['ic'], E['id']), 0),
    'i_bdl': ('int32', lambda E: legacy_batch_dot(E['ic'], E['id']), 0),
    'i_td': ('int32', lambda E: np.tensordot(E['ia'], E['ib'], axes=1), 0),
    'i_es': ('int32', lambda E: np.einsum('bij,bjk->bik', E['ic'], E['id']), 0),
    'i_at': ('int32', lambda E: E['ia'] @ E['ib'], 0),
    'i_tr': ('int32', lambda E: np.transpose(E['ic']), 0),
    'i_rs': ('int32', lambda E: np.reshape(E['ic'], (4, -1)), 0),
    'l_dot': ('int64', lambda E: np.dot(E['la'], E['lb']), 0),
    'l_mm': ('int64', lambda E: np.matmul(E['lc'], t(E['lc'])), 0),
    'l_bdl': ('int64', lambda E: legacy_batch_dot(E['lc'], E['ld']), 0),
    'l_bd': ('int64', lambda E: modern_batch_dot(E['lc'], E['ld'], (2, 1)), 0),
    'l_es': ('int64', lambda E: np.einsum('ij,kj->ik', E['la'], E['la']), 0),
    'l_td': ('int64', lambda E: np.tensordot(E['la'], E['lb'], axes=([1], [0])), 0),
    'l_dot3': ('int64', lambda E: np.dot(E['lc'], E['ld']), 0),
}


def make_inputs(in_dir):
    os.makedirs(in_dir, exist_ok=True)
    rng = np.random.default_rng(20240601)
    for name, (dtype, shape, kind) in INPUTS.items():
        if kind == 'unit':
            arr = np.asarray(rng.uniform(-1, 1, size=shape), dtype=dtype).reshape(shape)
        else:
            info = np.iinfo(dtype)
            arr = np.asarray(rng.integers(info.min, info.max, size=shape, dtype=dtype, endpoint=True)).reshape(shape)
        np.save(os.path.join(in_dir, name + '.npy'), arr.copy(order='C'))


def feeds(in_dir):
    print(' '.join('-i %s=%s' % (n, os.path.join(in_dir, n + '.npy')) for n in INPUTS))


def load(path, what):
    if not os.path.exists(path):
        fail('%s: missing file %s' % (what, path))
    return np.load(path, allow_pickle=False)


def fail(message):
    print('numpy_oracle: FAIL: ' + message)
    sys.exit(1)


def check(in_dir, out_dir):
    env = {n: load(os.path.join(in_dir, n + '.npy'), 'input ' + n) for n in INPUTS}
    for n, (dtype, shape) in SEEDED.items():
        env[n] = load(os.path.join(out_dir, n + '.npy'), 'seeded input ' + n + ' (written back as an output)')
        if env[n].dtype != np.dtype(dtype) or env[n].shape != shape:
            fail('seeded input %s: expected %s%s, got %s%s' % (n, dtype, shape, env[n].dtype, env[n].shape))
    # The wide integer inputs must really make the exact results leave the dtype's range.
    exact = np.dot(env['ia'].astype(object), env['ib'].astype(object))
    if not np.any(exact != np.dot(env['ia'], env['ib']).astype(object)):
        fail('the i32 inputs do not overflow; the wrap-around check would be vacuous')

    floats = {n: a.astype(np.float64) for n, a in env.items() if a.dtype.kind == 'f'}
    magnitudes = {n: np.abs(a) for n, a in floats.items()}
    failures = []
    for name, (dtype, expr, products) in OUTPUTS.items():
        got = load(os.path.join(out_dir, name + '.npy'), 'output ' + name)
        if np.dtype(dtype).kind == 'f':
            want = np.asarray(expr({**env, **floats}), dtype=np.float64)
            mag = np.asarray(expr({**env, **magnitudes}), dtype=np.float64)
        else:
            want = np.asarray(expr(env)).astype(dtype)  # np.sum upcasts small ints; wrap back
            mag = None
        if got.dtype != np.dtype(dtype) or got.shape != want.shape:
            failures.append('%s: expected %s%s, got %s%s' % (name, dtype, want.shape, got.dtype, got.shape))
            continue
        if mag is None:
            bad = np.argwhere(got != want)
            if bad.size:
                i = tuple(bad[0])
                failures.append('%s: %d of %d elements differ; first at %s: expected %d, got %d'
                                % (name, len(bad), want.size, list(i), want[i], got[i]))
            continue
        eps = np.finfo(dtype).eps
        allowed = 2.0 * eps * (np.sqrt(products) + 2.0) * mag + np.finfo(dtype).tiny
        err = np.abs(got.astype(np.float64) - want)
        bad = np.argwhere(~(err <= allowed))
        if bad.size:
            i = tuple(bad[0])
            failures.append('%s: %d of %d elements out of tolerance; first at %s: expected %.9g, got %.9g '
                            '(error %.3g, allowed %.3g)' % (name, len(bad), want.size, list(i), want[i], got[i],
                                                            err[i], allowed[i]))
    if failures:
        fail('%d of %d outputs differ from NumPy:\n  ' % (len(failures), len(OUTPUTS)) + '\n  '.join(failures))
    print('numpy_oracle: all %d outputs match NumPy' % len(OUTPUTS))


def main(argv):
    if len(argv) == 3 and argv[1] == 'make-inputs':
        make_inputs(argv[2])
    elif len(argv) == 3 and argv[1] == 'feeds':
        feeds(argv[2])
    elif len(argv) == 4 and argv[1] == 'check':
        check(argv[2], argv[3])
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
