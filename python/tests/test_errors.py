"""tcc's errors as Python exceptions (class, Python base class, the C++ message unchanged) and
the batch_dot convention warning as a Python warning."""
import warnings

import numpy as np
import pytest

import tcc


def f32(*shape):
    return np.ones(shape, np.float32)


def test_the_exception_classes_mirror_the_cpp_hierarchy():
    assert issubclass(tcc.Error, RuntimeError)
    for cls, python_base in [(tcc.ShapeError, ValueError), (tcc.ArgumentError, ValueError),
                             (tcc.InputError, ValueError), (tcc.ParseError, ValueError),
                             (tcc.DTypeError, TypeError)]:
        assert issubclass(cls, tcc.Error) and issubclass(cls, python_base), cls
    assert issubclass(tcc.CompileError, tcc.Error) and issubclass(tcc.InternalError, tcc.Error)
    assert issubclass(tcc.ConventionWarning, UserWarning)
    assert tcc.ShapeError.__module__ == 'tcc' and tcc.ShapeError.__name__ == 'ShapeError'


def test_shape_error_carries_the_cpp_message():
    with pytest.raises(tcc.ShapeError) as raised:
        tcc.matmul(f32(3, 4), f32(5, 6))
    assert isinstance(raised.value, ValueError)
    assert str(raised.value) == ('matmul: contraction dims must be equal, but are 4 (a axis 1) and 5 (b axis 0); '
                                 'a: (3,4), b: (5,6)')


@pytest.mark.parametrize('call,op', [
    (lambda: tcc.dot(f32(3, 4), f32(5, 6)), 'dot'),
    (lambda: tcc.batch_dot(f32(2, 3, 4), f32(3, 4, 5)), 'batch_dot'),
    (lambda: tcc.tensordot(f32(3, 4), f32(5, 6), axes=1), 'tensordot'),
    (lambda: tcc.einsum('ij,jk->ik', f32(3, 4), f32(5, 6)), 'einsum'),
    (lambda: tcc.reshape(f32(3, 4), (5, 5)), 'reshape'),
])
def test_every_op_raises_shape_error(call, op):
    with pytest.raises(tcc.ShapeError, match='^' + op):
        call()


def test_same_error_on_graph_values_as_on_arrays():
    g = tcc.Graph()
    with pytest.raises(tcc.ShapeError) as lazy:
        tcc.matmul(g.input('a', 'float32', (3, 4)), g.input('b', 'float32', (5, 6)))
    with pytest.raises(tcc.ShapeError) as eager:
        tcc.matmul(f32(3, 4), f32(5, 6))
    assert str(lazy.value) == str(eager.value)


def test_dtype_errors():
    with pytest.raises(tcc.DTypeError, match='same dtype, but are f32') as raised:
        tcc.matmul(f32(3, 4), np.ones((4, 5), np.float64))
    assert isinstance(raised.value, TypeError)
    with pytest.raises(tcc.DTypeError, match='not float16'):
        tcc.matmul(np.ones((3, 4), np.float16), np.ones((4, 5), np.float16))
    with pytest.raises(tcc.DTypeError, match='not complex128'):
        tcc.Graph().input('a', np.complex128, (3,))


def test_argument_errors():
    with pytest.raises(tcc.ArgumentError):
        tcc.matmul(f32(3, 3), f32(3, 3), transpose_a=True, adjoint_a=True)
    with pytest.raises(tcc.ArgumentError, match='perm'):
        tcc.transpose(f32(3, 4), (0, 0))
    g = tcc.Graph()
    g.input('a', 'f32', (3,))
    with pytest.raises(tcc.ArgumentError, match="'a' is already defined"):
        g.input('a', 'f32', (3,))
    with pytest.raises(TypeError):
        tcc.batch_dot(f32(2, 3), f32(2, 3), axes='x')


def test_input_errors_at_run_time():
    g = tcc.Graph()
    a = g.input('a', 'float32', ('N', 4))
    b = g.input('b', 'float32', (4, 2))
    f = g.compile([tcc.matmul(a, b)])
    with pytest.raises(tcc.InputError, match="input 'b' was not given"):
        f(a=f32(3, 4))
    with pytest.raises(tcc.InputError, match=r"input 'b': expected f32\[4,2\], got f32\[4,3\]"):
        f(a=f32(3, 4), b=f32(4, 3))
    with pytest.raises(tcc.InputError, match="unknown input 'c'"):
        f(a=f32(3, 4), b=f32(4, 2), c=f32(1))
    with pytest.raises(tcc.ArgumentError, match="input 'a' is fed twice"):
        f({'a': f32(3, 4)}, a=f32(3, 4), b=f32(4, 2))


CONVENTION_MESSAGE = ('batch_dot: the Keras conventions disagree for x: (10,12,4,5), y: (10,12,5,8): modern (the '
                      'default) gives (10,12,4,12,8), legacy (Keras <= 2.2.4) gives (10,12,4,8)')


def test_convention_warning_when_legacy_is_none():
    w, k = f32(10, 12, 4, 5), f32(10, 12, 5, 8)
    for _ in range(2):  # a cached graph warns again on every call
        with pytest.warns(tcc.ConventionWarning) as record:
            assert tcc.batch_dot(w, k, legacy=None).shape == (10, 12, 4, 12, 8)
        assert len(record) == 1 and str(record[0].message).startswith(CONVENTION_MESSAGE)
        assert record[0].filename == __file__  # attributed to the caller's line


def test_no_warning_when_a_convention_is_chosen_or_both_agree():
    w, k = f32(10, 12, 4, 5), f32(10, 12, 5, 8)
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        tcc.batch_dot(w, k)  # legacy=False: modern, chosen
        tcc.batch_dot(w, k, legacy=True)
        tcc.batch_dot(f32(3, 4, 5), f32(3, 5, 2), legacy=None)  # rank 3: both give (3, 4, 2)


def test_convention_warning_on_graph_values_and_as_error():
    g = tcc.Graph()
    w, k = g.input('w', 'float32', (10, 12, 4, 5)), g.input('k', 'float32', (10, 12, 5, 8))
    with pytest.warns(tcc.ConventionWarning, match='Keras conventions disagree'):
        tcc.batch_dot(w, k, legacy=None)
    with warnings.catch_warnings():
        warnings.simplefilter('error', tcc.ConventionWarning)
        with pytest.raises(tcc.ConventionWarning):
            tcc.batch_dot(f32(10, 12, 4, 5), f32(10, 12, 5, 8), legacy=None)


def test_out_is_refused_for_graph_values():
    g = tcc.Graph()
    a = g.input('a', 'float32', (3, 4))
    with pytest.raises(tcc.ArgumentError, match='out= is for arrays'):
        tcc.matmul(a, a, transpose_b=True, out=f32(3, 3))


@pytest.mark.parametrize('call,message', [
    (lambda: tcc.matmul(f32(2, 2)), "matmul() missing required argument 'b'"),
    (lambda: tcc.matmul(f32(2, 2), f32(2, 2), False, False, False, False, None), 'at most 6 positional'),
    (lambda: tcc.dot(f32(2), f32(2), transpose=True), "dot() got an unexpected keyword argument 'transpose'"),
    (lambda: tcc.batch_dot(f32(2, 2), f32(2, 2), None, z=f32(2, 2)), "unexpected keyword argument 'z'"),
    (lambda: tcc.tensordot(f32(2), f32(2), 0, z=1), "unexpected keyword argument 'z'"),
    (lambda: tcc.dot(f32(2), f32(2), x=f32(2)), "got multiple values for argument 'x'"),
    (lambda: tcc.einsum(), "missing required argument 'subscripts'"),
    (lambda: tcc.einsum(f32(2), [0]), 'subscripts must be a str'),
])
def test_calls_that_do_not_fit_the_signature_are_type_errors(call, message):
    with pytest.raises(TypeError) as raised:
        call()
    assert message in str(raised.value)
