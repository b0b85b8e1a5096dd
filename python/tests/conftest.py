"""Shared set-up of the module's tests: `tcc` comes from the build tree (ctest sets PYTHONPATH
to build/python), and the NumPy oracle of tests/cli is importable as `numpy_oracle`."""
import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', '..', 'tests', 'cli'))

DTYPES = ['float32', 'float64', 'int32', 'int64']


def random_array(rng, shape, dtype):
    """Uniform [-1, 1) floats, or small integers (exact in every dtype, no wrap-around)."""
    if np.dtype(dtype).kind == 'f':
        return rng.uniform(-1, 1, size=shape).astype(dtype)
    return rng.integers(-4, 5, size=shape).astype(dtype)


def assert_matches(got, want):
    """Same dtype and shape; integers exactly, floats within a few ulps of the reduction."""
    got, want = np.asarray(got), np.asarray(want)
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    assert got.shape == want.shape, (got.shape, want.shape)
    if want.dtype.kind == 'f':
        tolerance = 1e-5 if want.dtype == np.float32 else 1e-12
        np.testing.assert_allclose(got, want, rtol=tolerance, atol=tolerance)
    else:
        np.testing.assert_array_equal(got, want)


@pytest.fixture
def rng():
    return np.random.default_rng(20240601)
