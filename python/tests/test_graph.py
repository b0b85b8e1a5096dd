"""The lazy Graph API, mirroring the C++ one: inputs (dtype and shape spellings, symbolic
dimensions), values, constants, compile and call, a symbolic batch at several sizes with one
compile, and the kernel cache shared with every other compile in the process."""
import numpy as np
import pytest

import tcc
from conftest import assert_matches, random_array
from numpy_oracle import modern_batch_dot


def test_seed_blog_graph(rng):
    g = tcc.Graph()
    w = g.input('w', 'float32', (10, 12, 4, 5))
    k = g.input('k', np.float32, (10, 12, 5, 8))
    z, zl = tcc.batch_dot(w, k), tcc.batch_dot(w, k, legacy=True)
    zt, ze = tcc.matmul(w, w, transpose_b=True), tcc.einsum('abij,abjk->abik', w, k)
    assert z.shape == (10, 12, 4, 12, 8) and zl.shape == (10, 12, 4, 8) and zt.shape == (10, 12, 4, 4)
    fn = g.compile([z, zl, zt, ze])
    wt, kt = random_array(rng, (10, 12, 4, 5), 'float32'), random_array(rng, (10, 12, 5, 8), 'float32')
    outs = fn({'w': wt, 'k': kt})
    assert isinstance(outs, list) and len(outs) == 4
    assert_matches(outs[1], np.matmul(wt, kt))
    assert_matches(outs[2], np.matmul(wt, np.swapaxes(wt, -1, -2)))
    assert_matches(outs[3], np.matmul(wt, kt))
    assert_matches(outs[0], modern_batch_dot(wt, kt))


def test_values_expose_shape_dtype_and_repr():
    g = tcc.Graph()
    a = g.input('a', 'f32', ('N', 4, 5))
    b = g.input('b', np.dtype('float32'), ('N', 5, 8))
    c = tcc.matmul(a, b)
    assert c.shape == ('N', 4, 8) and c.ndim == 3
    assert c.dtype == np.dtype('float32')
    assert repr(c) == 'tcc.Value(f32[N,4,8])'
    assert isinstance(c, tcc.Value) and c.graph is g
    spellings = [('float64', np.float64), ('f64', np.float64), (np.int32, np.int32), ('i8', np.int64), (float, np.float64)]
    for i, (spelling, dtype) in enumerate(spellings):
        assert g.input('x%d' % i, spelling, (2,)).dtype == np.dtype(dtype)
    assert g.inputs()[:2] == [('a', np.dtype('float32'), ('N', 4, 5)), ('b', np.dtype('float32'), ('N', 5, 8))]


def test_symbolic_batch_runs_at_two_sizes_with_one_compile(rng):
    g = tcc.Graph()
    a = g.input('a', 'float32', ('N', 4, 5))
    b = g.input('b', 'float32', ('N', 5, 8))
    before = tcc.stats()['graphs_compiled']
    f = g.compile([tcc.matmul(a, b)])
    assert tcc.stats()['graphs_compiled'] == before + 1
    for n in (3, 1000):
        x, y = random_array(rng, (n, 4, 5), 'float32'), random_array(rng, (n, 5, 8), 'float32')
        (c,) = f(a=x, b=y)
        assert_matches(c, np.matmul(x, y))
    assert tcc.stats()['graphs_compiled'] == before + 1
    assert f.inputs == [('a', np.dtype('float32'), ('N', 4, 5)), ('b', np.dtype('float32'), ('N', 5, 8))]
    with pytest.raises(tcc.InputError, match='but N is 3'):
        f(a=np.ones((3, 4, 5), np.float32), b=np.ones((4, 5, 8), np.float32))


def test_matmul_operator_is_numpys(rng):
    g = tcc.Graph()
    a, v = g.input('a', 'float64', (3, 4)), g.input('v', 'float64', (4,))
    m = random_array(rng, (4, 2), 'float64')
    at, ar = random_array(rng, (3, 4), 'float64'), random_array(rng, (4,), 'float64')
    outs = g.compile([a @ v, v @ v, a @ m, m.T @ v])(a=at, v=ar)
    for got, want in zip(outs, [at @ ar, ar @ ar, at @ m, m.T @ ar]):
        assert_matches(got, want)


def test_arrays_among_graph_values_become_constants(rng):
    g = tcc.Graph()
    x = g.input('x', 'float32', (3, 4))
    w = random_array(rng, (4, 5), 'float32')
    y = tcc.matmul(x, w)
    w[...] = 0  # the constant is a copy
    xt = random_array(rng, (3, 4), 'float32')
    (got,) = g.eval([y], {'x': xt})
    assert np.any(got != 0)
    c = g.constant(np.eye(3, dtype=np.float32))
    assert_matches(g.eval(tcc.matmul(c, x), x=xt)[0], xt)


def test_values_of_two_graphs_do_not_mix():
    a = tcc.Graph().input('a', 'float32', (3, 3))
    b = tcc.Graph().input('b', 'float32', (3, 3))
    with pytest.raises(tcc.ArgumentError, match='different graphs'):
        tcc.matmul(a, b)


def test_values_keep_their_graph_alive(rng):
    def build():
        g = tcc.Graph()
        return tcc.dot(g.input('a', 'int64', (2, 3)), g.input('b', 'int64', (3,)))
    y = build()
    a, b = random_array(rng, (2, 3), 'int64'), random_array(rng, (3,), 'int64')
    assert_matches(y.graph.compile(y)(a=a, b=b)[0], np.dot(a, b))


def test_kernels_are_shared_by_every_compile_of_the_process(rng):
    def compile_once():
        g = tcc.Graph()
        a, b = g.input('a', 'float64', (7, 9, 11)), g.input('b', 'float64', (7, 11, 13))
        return g.compile([tcc.einsum('bij,bjk->bik', a, b)])
    compile_once()
    second = compile_once()
    assert second.stats['kernels'] >= 1
    assert second.stats['compiled'] == 0  # found in the process's JIT: nothing for LLVM to do
    assert second.stats['memory_hits'] == second.stats['kernels']
    # The eager path finds the same kernels.
    before = tcc.stats()
    x, y = random_array(rng, (7, 9, 11), 'float64'), random_array(rng, (7, 11, 13), 'float64')
    tcc.clear_cache()
    assert_matches(tcc.einsum('bij,bjk->bik', x, y), np.einsum('bij,bjk->bik', x, y))
    after = tcc.stats()
    assert after['graphs_compiled'] == before['graphs_compiled'] + 1
    assert after['kernels_compiled'] == before['kernels_compiled']


def test_outputs_that_share_a_buffer_stay_valid_on_their_own(rng):
    g = tcc.Graph()
    a, b = g.input('a', 'float32', (4, 5)), g.input('b', 'float32', (5, 6))
    c = tcc.matmul(a, b)
    outs = g.compile([c, tcc.reshape(c, (6, 4)), c])(a=random_array(rng, (4, 5), 'float32'),
                                                     b=random_array(rng, (5, 6), 'float32'))
    want = outs[0].copy()
    assert_matches(outs[1], want.reshape(6, 4))
    assert_matches(outs[2], want)
    del outs[0]
    import gc
    gc.collect()
    assert_matches(outs[0], want.reshape(6, 4))  # the view keeps the shared memory alive
    assert_matches(outs[1], want)


def test_attention_is_one_kernel_with_a_symbolic_batch(rng):
    """softmax(q kᵀ / 8) v compiles to one flash-attention kernel, for every batch size."""
    g = tcc.Graph()
    q, k, v = (g.input(name, 'float32', ('N', 70, 64)) for name in 'qkv')
    fn = g.compile([tcc.matmul(tcc.softmax(tcc.matmul(q, k, transpose_b=True) / 8.0), v)])
    assert fn.stats['kernels'] == 1
    for n in (0, 1, 5):
        qa, ka, va = (random_array(rng, (n, 70, 64), 'float32') for _ in range(3))
        s = qa.astype(np.float64) @ np.swapaxes(ka, -1, -2) / 8
        e = np.exp(s - s.max(-1, keepdims=True))
        want = (e / e.sum(-1, keepdims=True)) @ va
        got = fn({'q': qa, 'k': ka, 'v': va})[0]
        assert got.shape == (n, 70, 64)
        np.testing.assert_allclose(got, want, atol=2e-5)


def test_attention_with_a_causal_mask_is_one_kernel(rng):
    """softmax(q kᵀ / 8 + mask) v with a causal mask of 0 and -inf: one kernel, NumPy's result."""
    g = tcc.Graph()
    q, k, v = (g.input(name, 'float32', ('N', 70, 32)) for name in 'qkv')
    mask = g.input('mask', 'float32', (70, 70))
    fn = g.compile([tcc.matmul(tcc.softmax(tcc.matmul(q, k, transpose_b=True) / 8.0 + mask), v)])
    assert fn.stats['kernels'] == 1
    causal = np.where(np.arange(70)[None, :] <= np.arange(70)[:, None], 0, -np.inf).astype(np.float32)
    for n in (1, 3):
        qa, ka, va = (random_array(rng, (n, 70, 32), 'float32') for _ in range(3))
        s = qa.astype(np.float64) @ np.swapaxes(ka, -1, -2) / 8 + causal
        e = np.exp(s - s.max(-1, keepdims=True))
        want = (e / e.sum(-1, keepdims=True)) @ va
        got = fn({'q': qa, 'k': ka, 'v': va, 'mask': causal})[0]
        np.testing.assert_allclose(got, want, atol=2e-5)
