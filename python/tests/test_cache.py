"""The cache of compiled graphs behind the ops on arrays: a repeated call reuses its graph, the
cache is bounded (least recently used go first), and clearing it recompiles graphs without
recompiling kernels (the process-wide kernel cache the C++ side uses too)."""
import numpy as np
import pytest

import tcc
from conftest import assert_matches, random_array


@pytest.fixture
def small_cache():
    capacity = tcc.stats()['eager_cache_capacity']
    tcc._tcc._set_eager_cache_capacity(2)
    yield
    tcc._tcc._set_eager_cache_capacity(capacity)


def test_the_cache_is_bounded_and_keeps_the_most_recent(rng, small_cache):
    arrays = [random_array(rng, (n, 3), 'float64') for n in (2, 3, 4)]
    for a in arrays:
        assert_matches(tcc.dot(a, a.T.copy()), a @ a.T)
    assert tcc.stats()['eager_cache_size'] == 2
    before = tcc.stats()
    tcc.dot(arrays[2], arrays[2].T.copy())  # the most recent: still cached
    tcc.dot(arrays[1], arrays[1].T.copy())
    middle = tcc.stats()
    assert middle['eager_cache_hits'] - before['eager_cache_hits'] == 2
    tcc.dot(arrays[0], arrays[0].T.copy())  # evicted by the third signature: compiled again
    after = tcc.stats()
    assert after['eager_cache_misses'] - middle['eager_cache_misses'] == 1
    assert after['kernels_compiled'] == middle['kernels_compiled']  # its kernels were still in the JIT


def test_stats_count_what_they_say(rng):
    tcc.clear_cache()
    assert tcc.stats()['eager_cache_size'] == 0
    a = random_array(rng, (3, 4), 'int32')
    before = tcc.stats()
    tcc.matmul(a, a, transpose_b=True)
    tcc.matmul(a, a, transpose_b=True)
    after = tcc.stats()
    assert after['eager_cache_misses'] - before['eager_cache_misses'] == 1
    assert after['eager_cache_hits'] - before['eager_cache_hits'] == 1
    assert after['graphs_compiled'] - before['graphs_compiled'] == 1
    assert after['inputs_borrowed'] + after['inputs_copied'] - before['inputs_borrowed'] - before['inputs_copied'] == 4
    assert set(after) >= {'kernels', 'kernel_memory_hits', 'kernel_disk_hits', 'compile_ms', 'bytes_copied',
                          'outputs_copied', 'eager_cache_capacity'}
