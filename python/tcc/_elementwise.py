"""The element-wise ops, reductions, softmax and bias_add on arrays and graph values.

Python scalars among the operands take the other operand's dtype (NumPy 2's weak scalars:
`x * 2.0` of a float32 x is float32); they become 0-d arrays, inputs of the compiled graph, so
that `x * 2.0` and `x * 3.0` share one compile.
"""
import numpy as _numpy

from . import _tcc

_SCALARS = (bool, int, float)


def _scalar_like(value, like):
    dtype = _numpy.dtype(like.dtype if hasattr(like, 'dtype') else _numpy.asarray(like).dtype)
    if dtype.kind in 'iu' and not float(value).is_integer():
        raise _tcc.ArgumentError(f'the scalar {value} is not a whole {dtype} value; cast the array to a float dtype first')
    return _numpy.asarray(value, dtype=dtype)


def _binary(name, doc):
    def op(x, y, *, out=None):
        if isinstance(x, _SCALARS) and isinstance(y, _SCALARS):
            raise TypeError(f'{name}: at least one operand must be an array or a tcc.Value')
        if isinstance(x, _SCALARS):
            x = _scalar_like(x, y)
        elif isinstance(y, _SCALARS):
            y = _scalar_like(y, x)
        return _tcc._elementwise(name, x, y, out=out)
    op.__name__ = op.__qualname__ = name
    op.__doc__ = doc
    return op


def _unary(name, doc):
    def op(x, *, out=None):
        return _tcc._elementwise(name, x, out=out)
    op.__name__ = op.__qualname__ = name
    op.__doc__ = doc
    return op


_BROADCAST = ' NumPy broadcasting; one dtype (a Python scalar takes the other operand\'s).'
add = _binary('add', 'x + y.' + _BROADCAST)
subtract = _binary('subtract', 'x - y.' + _BROADCAST)
multiply = _binary('multiply', 'x * y.' + _BROADCAST)
divide = _binary('divide', 'x / y (float arrays; integers are a tcc.DTypeError: cast first).' + _BROADCAST)
maximum = _binary('maximum', 'The larger of x and y, NaN if either is NaN.' + _BROADCAST)
minimum = _binary('minimum', 'The smaller of x and y, NaN if either is NaN.' + _BROADCAST)
power = _binary('pow', 'x ** y (float arrays).' + _BROADCAST)
pow = power  # noqa: A001  (Keras' name)
logaddexp = _binary('logaddexp', 'log(exp(x) + exp(y)) without overflow (float arrays), as NumPy\'s.' + _BROADCAST)
negative = _unary('neg', '-x.')
neg = negative
abs = _unary('abs', '|x| (integers: abs of the lowest value wraps, as NumPy\'s).')  # noqa: A001
square = _unary('square', 'x * x.')
sqrt = _unary('sqrt', 'The square root (float arrays).')
rsqrt = _unary('rsqrt', '1 / sqrt(x) (float arrays).')
exp = _unary('exp', 'e ** x (float arrays).')
log = _unary('log', 'The natural logarithm (float arrays).')
tanh = _unary('tanh', 'The hyperbolic tangent (float arrays).')
sigmoid = _unary('sigmoid', '1 / (1 + exp(-x)) (float arrays).')
relu = _unary('relu', 'max(x, 0), NaN for NaN.')


def gelu(x, approximate=False, *, out=None):
    """Keras gelu: x * Phi(x) with erf, or its tanh approximation (approximate=True)."""
    return _tcc._elementwise('gelu_tanh' if approximate else 'gelu', x, out=out)


def _reduction(name, doc):
    def op(x, axis=None, keepdims=False):
        return _tcc._reduce(name, x, axis, keepdims)
    op.__name__ = op.__qualname__ = name
    op.__doc__ = doc
    return op


sum = _reduction('sum', 'NumPy sum over axis (int, tuple or None), keepdims as NumPy; integers wrap.')  # noqa: A001
mean = _reduction('mean', 'NumPy mean over axis (float arrays).')
max = _reduction('max', 'NumPy max over axis; NaN if any element is NaN; an empty axis is a tcc.ShapeError.')  # noqa: A001
min = _reduction('min', 'NumPy min over axis; NaN if any element is NaN; an empty axis is a tcc.ShapeError.')  # noqa: A001
logsumexp = _reduction('logsumexp', 'log(sum(exp(x))) over axis without overflow (float arrays; scipy.special.logsumexp); '
                                     'of no elements -inf.')
softmax = _tcc.softmax
cast = _tcc.cast
bias_add = _tcc.bias_add


def _install_operators(value_type):
    """Python's operators on tcc.Value build these ops (NumPy arrays defer to them)."""
    value_type.__add__ = lambda a, b: add(a, b)
    value_type.__radd__ = lambda a, b: add(b, a)
    value_type.__sub__ = lambda a, b: subtract(a, b)
    value_type.__rsub__ = lambda a, b: subtract(b, a)
    value_type.__mul__ = lambda a, b: multiply(a, b)
    value_type.__rmul__ = lambda a, b: multiply(b, a)
    value_type.__truediv__ = lambda a, b: divide(a, b)
    value_type.__rtruediv__ = lambda a, b: divide(b, a)
    value_type.__pow__ = lambda a, b: power(a, b)
    value_type.__neg__ = lambda a: negative(a)
    value_type.__abs__ = lambda a: abs(a)


_install_operators(_tcc.Value)

__all__ = ['abs', 'add', 'bias_add', 'cast', 'divide', 'exp', 'gelu', 'log', 'logaddexp', 'logsumexp', 'max', 'maximum', 'mean',
           'min', 'minimum',
           'multiply', 'neg', 'negative', 'pow', 'power', 'relu', 'rsqrt', 'sigmoid', 'softmax', 'sqrt', 'square',
           'subtract', 'sum', 'tanh']
