"""Every op on arrays against NumPy, in every dtype, on several shapes: the seed blog's, ones
with size-0 and size-1 dims, broadcasting, the flags and the two batch_dot conventions."""
import numpy as np
import pytest

import tcc
from conftest import DTYPES, assert_matches, random_array
from numpy_oracle import legacy_batch_dot, modern_batch_dot

SEED_W, SEED_K = (10, 12, 4, 5), (10, 12, 5, 8)


def operands(rng, dtype, *shapes):
    return [random_array(rng, s, dtype) for s in shapes]


def swap(x):
    return np.swapaxes(x, -1, -2)


MATMUL_CASES = [
    # (a shape, b shape, flags)
    (SEED_W, SEED_K, {}),
    ((3, 4), (4, 5), {}),
    ((1, 1), (1, 1), {}),
    ((1, 4), (4, 1), {}),
    ((0, 4), (4, 5), {}),           # no rows
    ((3, 0), (0, 5), {}),           # nothing to sum: zeros
    ((2, 3, 0), (2, 0, 4), {}),
    ((0, 3, 4), (0, 4, 2), {}),     # empty batch
    ((2, 1, 3, 4), (5, 4, 6), {}),  # batch dims broadcast
    ((4, 3), (5, 4), {'transpose_a': True, 'transpose_b': True}),
    ((2, 4, 3), (2, 4, 5), {'adjoint_a': True}),
    ((2, 3, 4), (2, 5, 4), {'adjoint_b': True}),
    ((3, 4), (5, 4), {'transpose_b': True}),
]


@pytest.mark.parametrize('dtype', DTYPES)
@pytest.mark.parametrize('a_shape,b_shape,flags', MATMUL_CASES)
def test_matmul(rng, dtype, a_shape, b_shape, flags):
    a, b = operands(rng, dtype, a_shape, b_shape)
    want_a = swap(a) if flags.get('transpose_a') or flags.get('adjoint_a') else a
    want_b = swap(b) if flags.get('transpose_b') or flags.get('adjoint_b') else b
    assert_matches(tcc.matmul(a, b, **flags), np.matmul(want_a, want_b))


DOT_CASES = [
    ((1, 2, 3, 4), (8, 7, 4, 5)),  # the seed blog's: (1, 2, 3, 8, 7, 5)
    ((3, 4), (4, 5)),
    ((3, 4), (4,)),
    ((4,), (4,)),
    ((4,), (8, 7, 4, 5)),
    ((), (3, 4)),                  # scalar
    ((1,), (1, 1)),
    ((3, 0), (0, 2)),
    ((2, 0, 4), (4, 3)),
]


@pytest.mark.parametrize('dtype', DTYPES)
@pytest.mark.parametrize('x_shape,y_shape', DOT_CASES)
def test_dot(rng, dtype, x_shape, y_shape):
    x, y = operands(rng, dtype, x_shape, y_shape)
    assert_matches(tcc.dot(x, y), np.dot(x, y))


BATCH_DOT_CASES = [
    # (x shape, y shape, axes, legacy)
    (SEED_W, SEED_K, None, False),  # modern: (10, 12, 4, 12, 8)
    (SEED_W, SEED_K, None, True),   # legacy, as the seed blog prints: (10, 12, 4, 8)
    ((32, 10, 5), (32, 5), None, False),
    ((32, 10, 5), (32, 5), None, True),
    ((6, 3, 4), (6, 3, 5), 1, False),
    ((6, 3, 4), (6, 3, 5), 1, True),
    ((6, 3, 4), (6, 5, 4), (2, 2), True),
    ((7, 6), (7, 6), None, False),
    ((7, 6), (7, 6), 1, True),
    ((1, 1, 1), (1, 1, 1), None, False),
    ((0, 3, 4), (0, 4, 2), None, True),
]


@pytest.mark.filterwarnings('ignore::tcc.ConventionWarning')  # legacy on (32,10,5)·(32,5): axes are ignored
@pytest.mark.parametrize('dtype', DTYPES)
@pytest.mark.parametrize('x_shape,y_shape,axes,legacy', BATCH_DOT_CASES)
def test_batch_dot(rng, dtype, x_shape, y_shape, axes, legacy):
    x, y = operands(rng, dtype, x_shape, y_shape)
    if legacy:
        want = legacy_batch_dot(x, y, axes)
    elif x.shape[0] == 0:
        pytest.skip('the modern oracle stacks per batch element')
    else:
        want = modern_batch_dot(x, y, axes)
    assert_matches(tcc.batch_dot(x, y, axes=axes, legacy=legacy), want.astype(dtype))


TENSORDOT_CASES = [
    ((3, 4, 5), (4, 5, 6), 2),
    ((3, 4), (4, 5), 1),
    ((4,), (5,), 0),
    ((1, 2, 3, 4), (8, 7, 4, 5), ([3], [2])),
    ((5, 3, 4), (5, 4, 2), ([0, 2], [0, 1])),
    ((2, 0), (0, 3), 1),
    ((1, 1), (1, 1), 2),
]


@pytest.mark.parametrize('dtype', DTYPES)
@pytest.mark.parametrize('x_shape,y_shape,axes', TENSORDOT_CASES)
def test_tensordot(rng, dtype, x_shape, y_shape, axes):
    x, y = operands(rng, dtype, x_shape, y_shape)
    assert_matches(tcc.tensordot(x, y, axes=axes), np.tensordot(x, y, axes=axes))


def test_tensordot_default_axes_is_two(rng):
    x, y = operands(rng, 'float64', (3, 4, 5), (4, 5, 2))
    assert_matches(tcc.tensordot(x, y), np.tensordot(x, y))


EINSUM_CASES = [
    ('abij,abjk->abik', (SEED_W, SEED_K)),
    ('ij,jk->ik', ((3, 4), (4, 5))),
    ('...ij,...jk->...ik', ((1, 2, 3, 4), (2, 4, 6))),
    ('ii->i', ((4, 4),)),
    ('ii', ((4, 4),)),
    ('ij,jk,k->i', ((3, 4), (4, 5), (5,))),
    ('ij,kj->ik', ((3, 4), (3, 4))),
    ('bij,bjk->bik', ((0, 3, 4), (0, 4, 2))),
    ('i,i->', ((1,), (1,))),
    ('ij->ji', ((3, 1),)),
]


@pytest.mark.parametrize('dtype', DTYPES)
@pytest.mark.parametrize('spec,shapes', EINSUM_CASES)
def test_einsum(rng, dtype, spec, shapes):
    arrays = operands(rng, dtype, *shapes)
    assert_matches(tcc.einsum(spec, *arrays), np.einsum(spec, *arrays))


def test_einsum_accepts_numpys_optimize_and_refuses_unknown_keywords(rng):
    a, b = operands(rng, 'float32', (3, 4), (4, 5))
    assert_matches(tcc.einsum('ij,jk->ik', a, b, optimize=True), np.einsum('ij,jk->ik', a, b))
    with pytest.raises(TypeError, match='unexpected keyword'):
        tcc.einsum('ij,jk->ik', a, b, order='C')


@pytest.mark.parametrize('dtype', DTYPES)
def test_np_matmul_promotes_vectors(rng, dtype):
    a, b, v = operands(rng, dtype, (3, 4), (4, 5), (4,))
    for x, y in [(a, b), (v, b), (a, v), (v, v)]:
        assert_matches(tcc.np.matmul(x, y), x @ y)


@pytest.mark.parametrize('dtype', DTYPES)
def test_transpose_and_reshape(rng, dtype):
    x = random_array(rng, (1, 2, 3, 4), dtype)
    assert_matches(tcc.transpose(x, (3, 1, 0, 2)), np.transpose(x, (3, 1, 0, 2)))
    assert_matches(tcc.transpose(x), np.transpose(x))
    assert_matches(tcc.reshape(x, (-1, 6)), np.reshape(x, (-1, 6)))


def test_scalar_results_are_numpy_scalars_as_numpy_returns(rng):
    v = random_array(rng, (4,), 'float32')
    got = tcc.dot(v, v)
    assert isinstance(got, np.float32)
    assert got == pytest.approx(float(np.dot(v, v)), rel=1e-5)


def test_array_likes_are_taken_as_numpy_takes_them():
    assert_matches(tcc.matmul([[1, 2], [3, 4]], [[1, 0], [0, 1]]), np.array([[1, 2], [3, 4]]))


def test_wide_integers_wrap_around_like_numpy(rng):
    info = np.iinfo(np.int32)
    a = rng.integers(info.min, info.max, size=(3, 4), dtype=np.int32, endpoint=True)
    b = rng.integers(info.min, info.max, size=(4, 5), dtype=np.int32, endpoint=True)
    assert_matches(tcc.dot(a, b), np.dot(a, b))


def test_repeated_calls_reuse_the_compiled_graph(rng):
    a, b = operands(rng, 'float32', SEED_W, SEED_K)
    tcc.matmul(a, b)
    before = tcc.stats()
    for _ in range(5):
        assert_matches(tcc.matmul(a, b), np.matmul(a, b))
    after = tcc.stats()
    assert after['eager_cache_hits'] - before['eager_cache_hits'] == 5
    assert after['eager_cache_misses'] == before['eager_cache_misses']
    assert after['graphs_compiled'] == before['graphs_compiled']


@pytest.mark.parametrize('dtype', ['float32', 'int64'])
def test_calls_that_differ_only_in_attributes_are_told_apart(rng, dtype):
    """Square operands: every flag combination has the same operand signature in the cache."""
    a, b = operands(rng, dtype, (2, 5, 5), (2, 5, 5))
    for flags in [{}, {'transpose_a': True}, {'transpose_b': True}, {'adjoint_a': True}, {'adjoint_b': True},
                  {'transpose_a': True, 'adjoint_b': True}]:
        want_a = swap(a) if flags.get('transpose_a') or flags.get('adjoint_a') else a
        want_b = swap(b) if flags.get('transpose_b') or flags.get('adjoint_b') else b
        assert_matches(tcc.matmul(a, b, **flags), np.matmul(want_a, want_b))
    for axes in [1, 2, ([0], [1]), ([1], [0])]:
        assert_matches(tcc.tensordot(a[0], b[0], axes=axes), np.tensordot(a[0], b[0], axes=axes))
    for spec in ['bij,bjk->bik', 'bij,bkj->bik', 'bji,bjk->bik']:
        assert_matches(tcc.einsum(spec, a, b), np.einsum(spec, a, b))
    for legacy, axes in [(False, None), (True, None), (False, 1), (True, 1)]:
        want = (legacy_batch_dot if legacy else modern_batch_dot)(a, b, axes).astype(dtype)
        assert_matches(tcc.batch_dot(a, b, axes=axes, legacy=legacy), want)
    assert_matches(tcc.transpose(a, (0, 2, 1)), np.transpose(a, (0, 2, 1)))
    assert_matches(tcc.transpose(a, (1, 0, 2)), np.transpose(a, (1, 0, 2)))
