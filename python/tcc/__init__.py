"""tcc: tensor contractions compiled to native kernels, on NumPy arrays and lazy graphs.

On arrays, each op runs at once and returns a NumPy array (its first call per op, attributes,
dtypes and shapes compiles; later ones reuse the compiled kernels)::

    import numpy as np, tcc
    w = np.random.rand(10, 12, 4, 5).astype(np.float32)
    k = np.random.rand(10, 12, 5, 8).astype(np.float32)
    z = tcc.batch_dot(w, k)                    # (10, 12, 4, 12, 8), modern Keras
    m = tcc.matmul(w, k, out=np.empty((10, 12, 4, 8), np.float32))

On graph values, ops build a lazy graph; "N" is a symbolic dimension, one compile serves any N::

    g = tcc.Graph()
    a = g.input("a", "float32", ("N", 4, 5))
    b = g.input("b", np.float32, ("N", 5, 8))
    f = g.compile([tcc.matmul(a, b)])
    (c,) = f(a=np.ones((3, 4, 5), np.float32), b=np.ones((3, 5, 8), np.float32))

Element-wise ops (tcc.add ... tcc.relu, tcc.gelu; Python's operators on graph values), the
reductions tcc.sum, mean, max, min, tcc.softmax and tcc.bias_add work the same way; a chain of
element-wise ops on graph values compiles to one loop.

Errors are tcc.Error subclasses (tcc.ShapeError is also a ValueError); python/README.md has
the rest: what is read in place, out=, threads and the GIL.
"""
import contextlib as _contextlib

from . import _tcc
from ._tcc import (ArgumentError, CompiledGraph, CompileError, ConventionWarning, DTypeError, Error, Graph,
                   InputError, InternalError, ParseError, ShapeError, Value, __version__, batch_dot, clear_cache, dot,
                   einsum, is_zero_copy, matmul, np, num_threads, reshape, set_num_threads, stats, tensordot,
                   transpose)
from ._elementwise import (abs, add, bias_add, cast, divide, exp, gelu, log, logaddexp, logsumexp, max, maximum,
                           mean, min, minimum, multiply, neg, negative, pow, power, relu, rsqrt, sigmoid, softmax,
                           sqrt, square, subtract, sum, tanh)
from ._elementwise import __all__ as _elementwise_all

# Not tcc.np (NumPy's spellings: tcc.np.matmul): `from tcc import *` would shadow numpy's np.
__all__ = [
    'ArgumentError', 'CompiledGraph', 'CompileError', 'ConventionWarning', 'DTypeError', 'Error', 'Graph',
    'InputError', 'InternalError', 'ParseError', 'ShapeError', 'Value', 'aligned_memory', 'batch_dot',
    'clear_cache', 'dot', 'einsum', 'is_zero_copy', 'matmul', 'num_threads', 'reshape', 'set_num_threads',
    'stats', 'tensordot', 'transpose',
] + _elementwise_all


@_contextlib.contextmanager
def aligned_memory():
    """NumPy allocates the arrays made inside the block 64-byte aligned (whole cache lines).

    NumPy's own allocator aligns to 16 bytes. tcc reads such arrays in place too (kernels need
    only element alignment), but on cache-line boundaries no vector load straddles two lines.
    The arrays keep their allocator after the block; it only changes where new ones are made.
    It applies to the current thread (NumPy's allocator is a context variable)::

        with tcc.aligned_memory():
            x = np.random.rand(1_000_000, 4, 5).astype(np.float32)
    """
    previous = _tcc._use_aligned_allocator()
    try:
        yield
    finally:
        _tcc._restore_allocator(previous)
