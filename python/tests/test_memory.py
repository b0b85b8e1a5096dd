"""Memory between NumPy and tcc: which inputs are read in place and which copied (and that both
give NumPy's results), results that own tcc's memory, the aligned allocator, and out=."""
import gc
import sys

import numpy as np
import pytest

import tcc
from conftest import assert_matches, random_array


def misaligned(array, offset=16):
    """A C-contiguous copy of `array` whose data is `offset` bytes past a 64-byte boundary."""
    raw = np.empty(array.nbytes + 128, np.uint8)
    start = (-raw.ctypes.data) % 64 + offset
    view = raw[start:start + array.nbytes].view(array.dtype).reshape(array.shape)
    view[...] = array
    return view


def aligned(array):
    with tcc.aligned_memory():
        copy = np.empty_like(array)
    copy[...] = array
    return copy


def copies_made(action):
    before = tcc.stats()
    result = action()
    after = tcc.stats()
    return result, after['inputs_copied'] - before['inputs_copied'], after['bytes_copied'] - before['bytes_copied']


def test_aligned_c_contiguous_arrays_are_read_in_place(rng):
    a, b = aligned(random_array(rng, (10, 12, 4, 5), 'float32')), aligned(random_array(rng, (10, 12, 5, 8), 'float32'))
    assert tcc.is_zero_copy(a) and tcc.is_zero_copy(b)
    result, copies, copied_bytes = copies_made(lambda: tcc.matmul(a, b))
    assert (copies, copied_bytes) == (0, 0)
    assert_matches(result, np.matmul(a, b))


def test_a_big_array_is_read_in_place(rng):
    with tcc.aligned_memory():
        x = rng.uniform(-1, 1, size=(250_000, 4, 5)).astype(np.float32)  # 20 MB
        y = rng.uniform(-1, 1, size=(250_000, 5, 8)).astype(np.float32)  # 40 MB
    assert x.ctypes.data % 64 == 0 and y.ctypes.data % 64 == 0
    result, copies, copied_bytes = copies_made(lambda: tcc.matmul(x, y))
    assert (copies, copied_bytes) == (0, 0)
    assert_matches(result, np.matmul(x, y))


def test_aligned_memory_sets_numpys_allocator_for_the_block_only():
    name = np.core.multiarray.get_handler_name
    default = name()
    with tcc.aligned_memory():
        assert name() == 'tcc_aligned_64'
        arrays = [np.empty(n, np.float32) for n in (1, 3, 1000, 100_000)] + [np.zeros((1000, 1000))]
        grown = np.ones(10)
        grown.resize(100_000, refcheck=False)  # realloc keeps the contents and the alignment
    assert name() == default
    assert all(a.ctypes.data % 64 == 0 and name(a) == 'tcc_aligned_64' for a in arrays + [grown])
    assert not arrays[-1].any() and grown[:10].tolist() == [1.0] * 10 and not grown[10:].any()
    del arrays, grown
    gc.collect()  # freed through the handler they were made with


def test_results_own_tcc_memory_and_feed_back_in_place(rng):
    a, b = random_array(rng, (8, 4, 5), 'float32'), random_array(rng, (8, 5, 3), 'float32')
    c = tcc.matmul(a, b)
    assert not c.flags.owndata and c.base is not None  # a capsule holding tcc's tensor
    assert c.flags.c_contiguous and c.flags.writeable and tcc.is_zero_copy(c)
    d, copies, _ = copies_made(lambda: tcc.matmul(c, np.ascontiguousarray(c.transpose(0, 2, 1))))
    assert copies == 0
    assert_matches(d, np.matmul(c, c.transpose(0, 2, 1)))
    del a, b
    gc.collect()
    assert_matches(c, c.copy())  # still valid after its inputs are gone


def test_inputs_are_not_leaked_or_freed_early(rng):
    a, b = random_array(rng, (3, 4), 'float64'), random_array(rng, (4, 5), 'float64')
    counts = sys.getrefcount(a), sys.getrefcount(b)
    for _ in range(10):
        tcc.matmul(a, b)
    assert (sys.getrefcount(a), sys.getrefcount(b)) == counts


# Layouts read in place: their strides become the kernels' own.
IN_PLACE = {
    'transposed': lambda x: x.T,
    'fortran': lambda x: np.asfortranarray(x),
    'every other column': lambda x: np.repeat(x, 2, axis=1)[:, ::2],
    'column slice': lambda x: np.concatenate([x, x], axis=1)[:, 3:3 + x.shape[1]],
    'misaligned by 16 bytes': misaligned,  # NumPy's own allocator aligns to 16
    'broadcast': lambda x: np.broadcast_to(x[:1], x.shape),
    'reversed': lambda x: x[::-1, ::-1],
    'rows reversed, transposed': lambda x: x[::-1].T,
}
# Layouts copied first.
COPIED = {
    'byte-swapped': lambda x: x.astype(x.dtype.newbyteorder('S')),
    'not aligned to its elements': lambda x: misaligned(x, offset=2),
}


@pytest.mark.parametrize('kind', sorted(IN_PLACE))
@pytest.mark.parametrize('dtype', ['float32', 'int64'])
@pytest.mark.parametrize('n', [6, 300])
def test_strided_layouts_are_read_in_place(rng, kind, dtype, n):
    x = IN_PLACE[kind](random_array(rng, (n, n), dtype))
    y = random_array(rng, (n, 3), dtype)
    assert not x.flags.c_contiguous or kind.startswith('misaligned')
    assert tcc.is_zero_copy(x)
    result, copies, _ = copies_made(lambda: tcc.matmul(x, y))
    assert copies == 0
    assert_matches(result, np.matmul(x, y))
    result, copies, _ = copies_made(lambda: tcc.matmul(y.T, x))  # as the second operand, and y.T too
    assert copies == 0
    assert_matches(result, np.matmul(y.T, x))


@pytest.mark.parametrize('kind', sorted(COPIED))
@pytest.mark.parametrize('dtype', ['float32', 'int64'])
def test_other_layouts_are_copied_and_give_numpys_result(rng, kind, dtype):
    base = random_array(rng, (6, 6), dtype)
    x = COPIED[kind](base.copy())
    y = random_array(rng, (6, 3), dtype)
    assert not tcc.is_zero_copy(x)
    result, copies, _ = copies_made(lambda: tcc.matmul(x, y))
    assert copies >= 1
    assert_matches(result, np.matmul(np.asarray(x, dtype=dtype), y))


def test_each_layout_of_one_shape_gets_its_own_kernel(rng):
    x, y = random_array(rng, (5, 5), 'float32'), random_array(rng, (5, 4), 'float32')
    for view in (x, x.T, np.asfortranarray(x), np.broadcast_to(x[:1], x.shape), x.T):
        assert_matches(tcc.matmul(view, y), np.matmul(view, y))


def test_permuted_batches_in_every_op(rng):
    x = random_array(rng, (4, 6, 5), 'float64').transpose(1, 0, 2)  # (6, 4, 5), batch not outermost
    y = random_array(rng, (5, 6, 3), 'float64').transpose(1, 0, 2)  # (6, 5, 3)
    calls = [
        (lambda: tcc.matmul(x, y), lambda: np.matmul(x, y)),
        (lambda: tcc.batch_dot(x, y, axes=(2, 1)), lambda: np.einsum('bij,bjk->bik', x, y)),
        (lambda: tcc.einsum('bij,bjk->bki', x, y), lambda: np.einsum('bij,bjk->bki', x, y)),
        (lambda: tcc.tensordot(x, y, axes=([0, 2], [0, 1])), lambda: np.tensordot(x, y, axes=([0, 2], [0, 1]))),
        (lambda: tcc.dot(x[0], y[0]), lambda: np.dot(x[0], y[0])),
    ]
    for ours, numpys in calls:
        result, copies, _ = copies_made(ours)
        assert copies == 0
        assert_matches(result, numpys())


def test_read_only_inputs_are_fine(rng):
    a, b = aligned(random_array(rng, (3, 4), 'int32')), random_array(rng, (4, 2), 'int32')
    a.flags.writeable = False
    assert_matches(tcc.matmul(a, b), np.matmul(a, b))


# ---- out= ----

def test_out_is_written_in_place_and_returned(rng):
    a, b = random_array(rng, (10, 12, 4, 5), 'float32'), random_array(rng, (10, 12, 5, 8), 'float32')
    out = aligned(np.full((10, 12, 4, 8), np.nan, np.float32))
    before = tcc.stats()['outputs_copied']
    assert tcc.matmul(a, b, out=out) is out
    assert tcc.stats()['outputs_copied'] == before  # the kernels wrote it directly
    assert_matches(out, np.matmul(a, b))


@pytest.mark.parametrize('op', ['dot', 'batch_dot', 'tensordot', 'einsum', 'np.matmul'])
def test_every_op_takes_out(rng, op):
    x, y = random_array(rng, (3, 4), 'float64'), random_array(rng, (4, 5), 'float64')
    calls = {
        'dot': (lambda **kw: tcc.dot(x, y, **kw), np.dot(x, y)),
        'batch_dot': (lambda **kw: tcc.batch_dot(x, x, axes=1, **kw), np.sum(x * x, axis=1, keepdims=True)),
        'tensordot': (lambda **kw: tcc.tensordot(x, y, axes=1, **kw), np.tensordot(x, y, axes=1)),
        'einsum': (lambda **kw: tcc.einsum('ij,jk->ik', x, y, **kw), np.einsum('ij,jk->ik', x, y)),
        'np.matmul': (lambda **kw: tcc.np.matmul(x, y, **kw), x @ y),
    }
    call, want = calls[op]
    out = np.empty_like(want)
    assert call(out=out) is out
    assert_matches(out, want)


@pytest.mark.parametrize('offset,copied', [(16, 0), (2, 1)])
def test_a_misaligned_out_still_receives_the_result(rng, offset, copied):
    """Written in place when aligned to its elements (as NumPy's 16-byte allocations are)."""
    a, b = random_array(rng, (3, 4), 'float32'), random_array(rng, (4, 5), 'float32')
    out = misaligned(np.zeros((3, 5), np.float32), offset)
    before = tcc.stats()['outputs_copied']
    assert tcc.matmul(a, b, out=out) is out
    assert tcc.stats()['outputs_copied'] == before + copied
    assert_matches(out, np.matmul(a, b))


def test_out_may_be_an_input(rng):
    a, b = aligned(random_array(rng, (4, 4), 'float64')), random_array(rng, (4, 4), 'float64')
    want = np.matmul(a, b)
    assert tcc.matmul(a, b, out=a) is a
    assert_matches(a, want)


@pytest.mark.parametrize('out,problem', [
    (np.empty((3, 5), np.float64), 'its dtype is float64'),
    (np.empty((5, 3), np.float32), 'its shape is (5,3)'),
    (np.empty((5, 3), np.float32).T, 'it is not C-contiguous'),
    (np.empty((3, 5), np.dtype('>f4')), 'its byte order is not native'),
    (np.broadcast_to(np.empty((1, 5), np.float32), (3, 5)), 'it is read-only'),
])
def test_out_that_does_not_fit_is_a_clear_error(rng, out, problem):
    a, b = random_array(rng, (3, 4), 'float32'), random_array(rng, (4, 5), 'float32')
    with pytest.raises(tcc.ArgumentError) as raised:
        tcc.matmul(a, b, out=out)
    message = str(raised.value)
    assert isinstance(raised.value, ValueError)
    assert message.startswith('matmul: out= must be a writeable, C-contiguous float32 array of shape (3,5), but ')
    assert problem in message


def test_out_must_be_an_array(rng):
    a, b = random_array(rng, (3, 4), 'float32'), random_array(rng, (4, 5), 'float32')
    with pytest.raises(tcc.ArgumentError, match='not a list'):
        tcc.matmul(a, b, out=[])


def test_results_alive_at_once_never_share_memory(rng):
    """Result memory is recycled only once NumPy frees it."""
    a, b = misaligned(random_array(rng, (6, 7), 'float32'), 2), random_array(rng, (7, 5), 'float32')
    results = [tcc.matmul(a, b) for _ in range(20)]  # inputs copied, results made: many blocks in turn
    want = np.matmul(a, b)
    for i, r in enumerate(results):
        assert_matches(r, want)
        assert not any(np.shares_memory(r, other) for other in results[i + 1:])
    del results[::2]
    gc.collect()
    more = [tcc.matmul(a, b) for _ in range(10)]
    for r in results + more:
        assert_matches(r, want)
    assert not any(np.shares_memory(x, y) for i, x in enumerate(results + more) for y in (results + more)[i + 1:])


def test_a_large_result_reuses_the_memory_of_the_last_one_freed(rng):
    """Blocks up to 256 MiB are kept for the next result of the same size (two of them): a
    fresh large block would be faulted in page by page."""
    a, b = random_array(rng, (1 << 20,), 'float32'), random_array(rng, (1 << 20,), 'float32')  # 4 MiB
    first = tcc.add(a, b)
    address = first.ctypes.data
    del first
    gc.collect()
    second = tcc.add(a, b)
    assert second.ctypes.data == address
    assert_matches(second, a + b)
    third = tcc.add(a, b)  # the second is alive: a block of its own
    assert not np.shares_memory(second, third)
    assert_matches(third, a + b)
