"""The NumPy oracle's cases (tests/cli/numpy_oracle.tc and .py) through the module: every output
of numpy_oracle.tc computed with tcc's Python functions, on arrays (one op at a time) and as one
lazy Graph, then checked by numpy_oracle.check with its own tolerances (integers exactly, with
wrap-around; floats within eps * sqrt(K) of |a||b|)."""
import os

import numpy as np
import pytest

import numpy_oracle
import tcc


# numpy_oracle.tc, op for op: the same functions take arrays and graph values.
def t(x, perm=None):
    return tcc.transpose(x, perm)


OUTPUTS = {
    'd_mm': lambda E: tcc.dot(E['a'], E['b']),
    'd_seed': lambda E: tcc.dot(E['x4'], E['y4']),
    'd_scalar': lambda E: tcc.dot(E['s'], E['a']),
    'd_vv': lambda E: tcc.dot(E['v'], E['v']),
    'd_mv': lambda E: tcc.dot(E['a'], E['v']),
    'd_vm': lambda E: tcc.dot(E['v'], E['y4']),
    'm_seed': lambda E: tcc.matmul(E['w'], E['k']),
    'm_flags': lambda E: tcc.matmul(E['b'], E['a'], transpose_a=True, transpose_b=True),
    'm_bcast': lambda E: tcc.matmul(E['x4'], E['e']),
    'at_mm': lambda E: tcc.np.matmul(E['a'], E['b']),
    'at_vm': lambda E: tcc.np.matmul(E['v'], E['b']),
    'at_mv': lambda E: tcc.np.matmul(E['a'], E['v']),
    'at_vv': lambda E: tcc.np.matmul(E['v'], E['v']),
    'bd_seed': lambda E: tcc.batch_dot(E['w'], E['k']),
    'bdl_seed': lambda E: tcc.batch_dot(E['w'], E['k'], legacy=True),
    'bd_pq': lambda E: tcc.batch_dot(E['p'], E['q']),
    'bdl_pq': lambda E: tcc.batch_dot(E['p'], E['q'], legacy=True),
    'td_pair': lambda E: tcc.tensordot(E['x4'], E['y4'], axes=([3], [2])),
    'td_int': lambda E: tcc.tensordot(E['a'], E['b'], axes=1),
    'td_outer': lambda E: tcc.tensordot(E['v'], E['v'], axes=0),
    'es_mm': lambda E: tcc.einsum('ij,jk->ik', E['a'], E['b']),
    'es_ell': lambda E: tcc.einsum('...ij,...jk->...ik', E['x4'], E['e']),
    'es_diag': lambda E: tcc.einsum('ii->i', E['sq']),
    'es_trace': lambda E: tcc.einsum('ii', E['sq']),
    'es_three': lambda E: tcc.einsum('ij,jk,k->i', E['a'], E['b'], E['r5']),
    'tr': lambda E: t(E['x4'], [3, 1, 0, 2]),
    'tr_rev': lambda E: t(E['y4']),
    'rs': lambda E: tcc.reshape(E['w'], [-1, 40]),
    'chain': lambda E: tcc.matmul(tcc.reshape(t(E['w'], [0, 1, 3, 2]), [120, 5, 4]), tcc.reshape(E['k'], [120, 5, 8]),
                                  transpose_a=True),
    'g': lambda E: t(t(E['g'])),  # numpy_oracle.tc writes its seeded input back; here: an identity
    'gg': lambda E: tcc.dot(E['g'], t(E['g'])),
    'f_bd': lambda E: tcc.batch_dot(E['fa'], E['fb']),
    'f_bd_ax1': lambda E: tcc.batch_dot(E['fu'], E['ft'], axes=1),
    'f_bdl_ax1': lambda E: tcc.batch_dot(E['fu'], E['ft'], axes=1, legacy=True),
    'f_bdl_ax22': lambda E: tcc.batch_dot(E['fu'], E['ft2'], axes=(2, 2), legacy=True),
    'f_bdl_r2': lambda E: tcc.batch_dot(E['fm'], E['fn'], axes=1, legacy=True),
    'f_bd_r2': lambda E: tcc.batch_dot(E['fm'], E['fn']),
    'f_td': lambda E: tcc.tensordot(E['fa'], E['fb'], axes=([0, 2], [0, 1])),
    'f_es': lambda E: tcc.einsum('bij,bjk->bik', E['fa'], E['fb']),
    'f_mm': lambda E: tcc.np.matmul(E['fa'], E['fb']),
    'f_dot': lambda E: tcc.dot(E['fa'], E['fb']),
    'i_dot': lambda E: tcc.dot(E['ia'], E['ib']),
    'i_mm': lambda E: tcc.matmul(E['ic'], E['id']),
    'i_bd': lambda E: tcc.batch_dot(E['ic'], E['id']),
    'i_bdl': lambda E: tcc.batch_dot(E['ic'], E['id'], legacy=True),
    'i_td': lambda E: tcc.tensordot(E['ia'], E['ib'], axes=1),
    'i_es': lambda E: tcc.einsum('bij,bjk->bik', E['ic'], E['id']),
    'i_at': lambda E: tcc.np.matmul(E['ia'], E['ib']),
    'i_tr': lambda E: t(E['ic']),
    'i_rs': lambda E: tcc.reshape(E['ic'], [4, -1]),
    'l_dot': lambda E: tcc.dot(E['la'], E['lb']),
    'l_mm': lambda E: tcc.matmul(E['lc'], E['lc'], transpose_b=True),
    'l_bdl': lambda E: tcc.batch_dot(E['lc'], E['ld'], legacy=True),
    'l_bd': lambda E: tcc.batch_dot(E['lc'], E['ld'], axes=(2, 1)),
    'l_es': lambda E: tcc.einsum('ij,kj->ik', E['la'], E['la']),
    'l_td': lambda E: tcc.tensordot(E['la'], E['lb'], axes=([1], [0])),
    'l_dot3': lambda E: tcc.dot(E['lc'], E['ld']),
}


def test_the_table_covers_every_oracle_output():
    assert set(OUTPUTS) == set(numpy_oracle.OUTPUTS)


@pytest.fixture
def oracle_inputs(tmp_path):
    """numpy_oracle's inputs (its own generator), plus the seeded `g` tcc fills in the .tc run."""
    in_dir = tmp_path / 'in'
    numpy_oracle.make_inputs(str(in_dir))
    arrays = {n: np.load(in_dir / (n + '.npy')) for n in numpy_oracle.INPUTS}
    for name, (dtype, shape) in numpy_oracle.SEEDED.items():
        arrays[name] = np.random.default_rng(3).uniform(-1, 1, size=shape).astype(dtype)
    return in_dir, arrays


def check_with_oracle(in_dir, out_dir, results, capsys):
    os.makedirs(out_dir, exist_ok=True)
    for name, value in results.items():
        np.save(os.path.join(out_dir, name + '.npy'), np.asarray(value))
    try:
        numpy_oracle.check(str(in_dir), str(out_dir))
    except SystemExit:
        pytest.fail(capsys.readouterr().out)
    assert 'all %d outputs match NumPy' % len(numpy_oracle.OUTPUTS) in capsys.readouterr().out


@pytest.mark.filterwarnings('ignore::tcc.ConventionWarning')  # bdl_pq: legacy batch_dot ignores axes
def test_oracle_cases_on_arrays(oracle_inputs, tmp_path, capsys):
    in_dir, arrays = oracle_inputs
    results = {name: expr(arrays) for name, expr in OUTPUTS.items()}
    check_with_oracle(in_dir, tmp_path / 'out-eager', results, capsys)


@pytest.mark.filterwarnings('ignore::tcc.ConventionWarning')
def test_oracle_cases_as_one_graph(oracle_inputs, tmp_path, capsys):
    in_dir, arrays = oracle_inputs
    g = tcc.Graph()
    values = {name: g.input(name, a.dtype, a.shape) for name, a in arrays.items()}
    outputs = {name: expr(values) for name, expr in OUTPUTS.items()}
    run = g.compile(list(outputs.values()))
    results = dict(zip(outputs, run(arrays)))
    check_with_oracle(in_dir, tmp_path / 'out-graph', results, capsys)
