"""Element-wise ops, reductions, softmax and bias_add on arrays and graph values, against NumPy
(float64 NumPy for the transcendental functions; tolerances stated per function)."""
import math

import numpy as np
import pytest

import tcc
from conftest import DTYPES, assert_matches, random_array

FLOATS = ['float32', 'float64']
# NumPy's spelling of each binary op, and whether integers take it.
BINARY = [('add', np.add, True), ('subtract', np.subtract, True), ('multiply', np.multiply, True),
          ('divide', np.divide, False), ('maximum', np.maximum, True), ('minimum', np.minimum, True)]
ERF = np.vectorize(math.erf)
UNARY = [
    ('negative', np.negative, True), ('abs', np.abs, True), ('square', np.square, True),
    ('sqrt', lambda x: np.sqrt(np.abs(x)), False), ('exp', np.exp, False), ('tanh', np.tanh, False),
    ('sigmoid', lambda x: 1 / (1 + np.exp(-x)), False), ('relu', lambda x: np.maximum(x, 0), True),
    ('gelu', lambda x: 0.5 * x * (1 + ERF(x / np.sqrt(2))), False),
]
# Library functions (exp, tanh, erf): a few ulps of float32 / float64, relative.
TRANSCENDENTAL_RTOL = {'float32': 4e-6, 'float64': 1e-13}


def close(got, want, dtype):
    got, want = np.asarray(got), np.asarray(want)
    assert got.dtype == np.dtype(dtype) and got.shape == want.shape
    if np.dtype(dtype).kind == 'f':
        # Absolute too: near a zero crossing (gelu of small negative x) the relative error grows.
        tolerance = TRANSCENDENTAL_RTOL[dtype]
        np.testing.assert_allclose(got, want.astype(dtype), rtol=tolerance, atol=tolerance)
    else:
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize('dtype', DTYPES)
@pytest.mark.parametrize('name,numpy_op,integers', BINARY)
def test_binary_ops_broadcast_as_numpy(rng, name, numpy_op, integers, dtype):
    x, y = random_array(rng, (3, 1, 5), dtype), random_array(rng, (4, 1), dtype)
    op = getattr(tcc, name)
    if not integers and np.dtype(dtype).kind == 'i':
        with pytest.raises(tcc.DTypeError, match='takes float tensors'):
            op(x, y)
        return
    close(op(x, y), numpy_op(x, y), dtype)


@pytest.mark.parametrize('dtype', DTYPES)
@pytest.mark.parametrize('name,numpy_op,integers', UNARY)
def test_unary_ops_as_numpy(rng, name, numpy_op, integers, dtype):
    x = random_array(rng, (7, 33), dtype) * 3
    if name == 'sqrt':
        x = np.abs(x)
    op = getattr(tcc, name)
    if not integers and np.dtype(dtype).kind == 'i':
        with pytest.raises(tcc.DTypeError):
            op(x)
        return
    want = numpy_op(x.astype(np.float64)) if np.dtype(dtype).kind == 'f' else numpy_op(x)
    close(op(x), want, dtype)


def test_gelu_approximate_and_pow(rng):
    x = random_array(rng, (100,), 'float64') * 4
    want = 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))
    close(tcc.gelu(x, approximate=True), want, 'float64')
    base = np.abs(x) + 0.1
    close(tcc.pow(base, 1.5), base ** 1.5, 'float64')
    close(tcc.power(base, x), base ** x, 'float64')


def test_python_scalars_take_the_arrays_dtype(rng):
    x = random_array(rng, (4, 5), 'float32')
    for got, want in [(tcc.multiply(x, 2.0), x * np.float32(2)), (tcc.subtract(1, x), np.float32(1) - x),
                      (tcc.divide(x, 4), x / np.float32(4))]:
        assert_matches(got, want)
    i = random_array(rng, (3,), 'int64')
    assert_matches(tcc.add(i, 2), i + 2)
    with pytest.raises(tcc.ArgumentError, match='not a whole int64 value'):
        tcc.add(i, 2.5)
    with pytest.raises(TypeError):
        tcc.add(1, 2)


def test_nan_and_inf_propagate_as_numpy():
    x = np.array([np.nan, np.inf, -np.inf, 0.0, -1.0, 2.0])
    with np.errstate(all='ignore'):
        assert_matches(tcc.maximum(x, 1.0), np.maximum(x, 1.0))
        assert_matches(tcc.minimum(x, 1.0), np.minimum(x, 1.0))
        assert_matches(tcc.exp(x), np.exp(x))
        assert_matches(tcc.divide(x, 0.0), x / 0.0)
        assert_matches(tcc.sqrt(x), np.sqrt(x))
    relu = tcc.relu(x)
    assert np.isnan(relu[0]) and relu.tolist()[1:] == [np.inf, 0.0, 0.0, 0.0, 2.0]


def test_integers_wrap_around():
    x = np.array([2 ** 31 - 1, -2 ** 31, 5], np.int32)
    assert_matches(tcc.add(x, 1), x + np.int32(1))
    assert_matches(tcc.negative(x), -x)


@pytest.mark.parametrize('dtype', DTYPES)
@pytest.mark.parametrize('axis', [None, 0, -1, (0, 2), 1])
@pytest.mark.parametrize('keepdims', [False, True])
def test_reductions_as_numpy(rng, dtype, axis, keepdims):
    x = random_array(rng, (3, 5, 17), dtype)
    for name in ['sum', 'max', 'min'] + (['mean'] if np.dtype(dtype).kind == 'f' else []):
        got = getattr(tcc, name)(x, axis=axis, keepdims=keepdims)
        want = getattr(np, name)(x, axis=axis, keepdims=keepdims)
        assert_matches(got, np.asarray(want, dtype=dtype))


def test_reduction_errors(rng):
    with pytest.raises(tcc.ShapeError, match='has size 0'):
        tcc.max(np.zeros((4, 0), np.float32), axis=1)
    assert_matches(tcc.sum(np.zeros((4, 0), np.float32), axis=1), np.zeros(4, np.float32))
    with pytest.raises(tcc.DTypeError):
        tcc.mean(np.arange(3))
    with pytest.raises(tcc.ShapeError, match='out of range'):
        tcc.sum(np.zeros((2, 3)), axis=2)


@pytest.mark.parametrize('dtype', FLOATS)
def test_softmax_and_bias_add(rng, dtype):
    x = random_array(rng, (6, 40), dtype) * 10
    x[0, 0] = 500  # overflows exp unless the max is subtracted
    for axis in (-1, 0):
        shifted = x.astype(np.float64) - x.max(axis=axis, keepdims=True)
        want = np.exp(shifted) / np.exp(shifted).sum(axis=axis, keepdims=True)
        np.testing.assert_allclose(tcc.softmax(x, axis=axis), want.astype(dtype), rtol=TRANSCENDENTAL_RTOL[dtype] * 10,
                                   atol=1e-7 if dtype == 'float32' else 1e-15)
    b = random_array(rng, (40,), dtype)
    assert_matches(tcc.bias_add(x, b), x + b)
    with pytest.raises(tcc.ShapeError, match='bias_add: the bias must have shape'):
        tcc.bias_add(x, b[:5])


@pytest.mark.parametrize('dtype', FLOATS)
def test_logsumexp_and_logaddexp_as_numpy(rng, dtype):
    x = random_array(rng, (5, 7, 30), dtype) * 40  # e^120 overflows float32
    for axis in (-1, 0, (0, 2), None):
        for keepdims in (False, True):
            want = np.logaddexp.reduce(x.astype(np.float64), axis=axis, keepdims=keepdims)
            got = tcc.logsumexp(x, axis=axis, keepdims=keepdims)
            np.testing.assert_allclose(got, want, rtol=TRANSCENDENTAL_RTOL[dtype] * 10)
    y = random_array(rng, (7, 30), dtype) * 40
    np.testing.assert_allclose(tcc.logaddexp(x, y), np.logaddexp(x.astype(np.float64), y), rtol=TRANSCENDENTAL_RTOL[dtype] * 10)
    edges = np.array([[-np.inf, -np.inf], [np.inf, 1], [np.nan, 1]], dtype=dtype)
    np.testing.assert_array_equal(tcc.logsumexp(edges, axis=1), np.array([-np.inf, np.inf, np.nan], dtype=dtype))
    np.testing.assert_array_equal(tcc.logsumexp(np.zeros((2, 0), dtype), axis=1), np.full(2, -np.inf, dtype))
    with pytest.raises(tcc.DTypeError, match='logsumexp'):
        tcc.logsumexp(np.arange(3))


def test_cast_as_astype(rng):
    f = np.array([1.5, -2.7, 255.9, -0.5], np.float32)
    np.testing.assert_array_equal(tcc.cast(f, 'int32'), f.astype(np.int32))
    i = np.array([300, -129, 2**32 + 1, -5], np.int64)
    np.testing.assert_array_equal(tcc.cast(i, np.int32), i.astype(np.int32))
    np.testing.assert_array_equal(tcc.cast(i, 'float64'), i.astype(np.float64))
    d = rng.standard_normal(100)
    np.testing.assert_array_equal(tcc.cast(d, np.float32), d.astype(np.float32))
    g = tcc.Graph()
    a = g.input('a', 'int32', (4,))
    fn = g.compile([tcc.sqrt(tcc.cast(a, 'float32')) * 2.0])
    np.testing.assert_allclose(fn({'a': np.array([1, 4, 9, 16], np.int32)})[0], [2, 4, 6, 8])


def test_shape_errors_name_the_operands():
    with pytest.raises(tcc.ShapeError) as raised:
        tcc.add(np.zeros((3, 4), np.float32), np.zeros(5, np.float32))
    assert str(raised.value) == '+: dims must be equal or 1, but are 4 (x axis 1) and 5 (y axis 0); x: (3,4), y: (5,)'


def test_graph_values_take_python_operators(rng):
    g = tcc.Graph()
    x = g.input('x', 'float32', ('N', 8))
    w = g.input('w', 'float32', (8, 16))
    b = g.input('b', 'float32', (16,))
    h = tcc.relu(x @ w + b)
    y = tcc.softmax(2.0 * h - 1) / 3 + abs(-h) ** 2.0
    f = g.compile([h, y])
    xv, wv, bv = (random_array(rng, s, 'float32') for s in [(5, 8), (8, 16), (16,)])
    got_h, got_y = f(x=xv, w=wv, b=bv)
    want_h = np.maximum(xv @ wv + bv, 0)
    e = np.exp(2 * want_h - 1 - (2 * want_h - 1).max(-1, keepdims=True))
    want_y = e / e.sum(-1, keepdims=True) / 3 + want_h ** 2
    np.testing.assert_allclose(got_h, want_h, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(got_y, want_y, rtol=1e-5, atol=1e-5)
    # An array on the left defers to the graph value.
    assert isinstance(np.ones(8, np.float32) + x, tcc.Value)


def test_a_chain_on_graph_values_is_one_kernel(rng):
    g = tcc.Graph()
    x = g.input('x', 'float32', (64, 64))
    f = g.compile([tcc.sigmoid(tcc.exp(x) * 0.5 + x) - 1.0])
    assert f.stats['kernels'] == 1
    xv = random_array(rng, (64, 64), 'float32')
    np.testing.assert_allclose(f(x=xv)[0], 1 / (1 + np.exp(-(np.exp(xv) * 0.5 + xv))) - 1, rtol=1e-5, atol=1e-6)


def test_any_strides_are_read_in_place(rng):
    x = random_array(rng, (6, 8), 'float32')
    for view in (x[::-1], x[:, ::-1].T, x[::2, 1::3], np.broadcast_to(x[:1], (6, 8))):
        before = tcc.stats()['inputs_copied']
        assert_matches(tcc.exp(view), np.exp(view))
        assert_matches(tcc.sum(view, axis=-1), view.sum(axis=-1))
        assert tcc.stats()['inputs_copied'] == before


def test_a_dense_layer_cast_to_another_dtype_is_one_kernel(rng):
    # The cast is part of the GEMM's epilogue: the f32 sums, their bias and relu, then f64
    # (several K blocks: the partial sums wait in f32). NumPy's astype of the f32 layer.
    g = tcc.Graph()
    x = g.input('x', 'float32', (48, 900))
    w = g.input('w', 'float32', (900, 200))
    b = g.input('b', 'float32', (200,))
    f = g.compile([tcc.cast(tcc.relu(x @ w + b), 'float64')])
    to_int = g.compile([tcc.cast(x @ w, 'int32')])
    assert f.stats['kernels'] == 1 and to_int.stats['kernels'] == 1
    xv, wv, bv = (random_array(rng, s, 'float32') for s in [(48, 900), (900, 200), (200,)])
    got, = f(x=xv, w=wv, b=bv)
    got_int, = to_int(x=xv, w=wv)
    assert got.dtype == np.float64 and got_int.dtype == np.int32
    want = np.maximum(xv @ wv + bv, 0).astype(np.float64)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    # Truncation toward zero of sums that may round across an integer differently: off by one at most.
    assert np.abs(got_int.astype(np.int64) - (xv @ wv).astype(np.int32)).max() <= 1
