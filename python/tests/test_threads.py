"""The GIL is released while kernels run (and while an op on arrays compiles), and calls from
several Python threads at once give the right results."""
import sys
import threading
import time

import numpy as np
import pytest

import tcc
from conftest import assert_matches, random_array


@pytest.fixture
def one_kernel_thread():
    """Kernels on one thread, so the Python thread under test has the other core."""
    before = tcc.num_threads()
    tcc.set_num_threads(1)
    yield
    tcc.set_num_threads(before)


def test_python_threads_run_while_a_kernel_runs(rng, one_kernel_thread):
    a, b = random_array(rng, (1024, 1024), 'float64'), random_array(rng, (1024, 1024), 'float64')
    tcc.matmul(a, b)  # compiled before the measurement
    stamps = []
    stop = threading.Event()

    def count():  # notes the time every 100 iterations: tens of thousands of notes per second
        n = 0
        while not stop.is_set():
            n += 1
            if n % 100 == 0:
                stamps.append(time.perf_counter())

    counter = threading.Thread(target=count)
    counter.start()
    time.sleep(0.01)
    # One long call (2 GFLOP). Were the GIL held, the counter could note nothing from `start`
    # until the call returns; then it runs for up to a switch interval before this thread takes
    # the GIL back and notes `end`. So no note may fall in [start, end - 2 intervals] unless
    # the GIL was released while the kernel ran.
    start = time.perf_counter()
    result = tcc.matmul(a, b)
    end = time.perf_counter()
    stop.set()
    counter.join()
    window_end = end - 2 * sys.getswitchinterval() - 0.001
    assert window_end - start > 0.01, 'the kernel ran too briefly to tell: %.3f s' % (end - start)
    during = [s for s in stamps if start < s < window_end]
    assert len(during) > 10, (len(during), end - start)
    np.testing.assert_allclose(result, np.matmul(a, b), rtol=1e-9, atol=1e-9)


def test_concurrent_calls_give_right_results(rng):
    cases = []
    for i in range(4):
        shape_a, shape_b = (16 + i, 8, 5), (16 + i, 5, 7)  # distinct signatures: concurrent compiles too
        cases.append((random_array(rng, shape_a, 'float32'), random_array(rng, shape_b, 'float32')))
    failures = []

    def work(a, b):
        try:
            want = np.matmul(a, b)
            for _ in range(50):
                assert_matches(tcc.matmul(a, b), want)
                assert_matches(tcc.einsum('bij,bjk->bik', a, b), want)
        except Exception as e:  # noqa: BLE001 - reported below
            failures.append(e)

    threads = [threading.Thread(target=work, args=case) for case in cases + cases]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures, failures


def test_concurrent_runs_of_one_compiled_graph(rng):
    g = tcc.Graph()
    x = g.input('x', 'float64', ('N', 6))
    f = g.compile([tcc.dot(x, g.constant(np.arange(12.0).reshape(6, 2)))])
    failures = []

    def work(n):
        try:
            data = random_array(np.random.default_rng(n), (n, 6), 'float64')
            for _ in range(100):
                assert_matches(f(x=data)[0], data @ np.arange(12.0).reshape(6, 2))
        except Exception as e:  # noqa: BLE001
            failures.append(e)

    threads = [threading.Thread(target=work, args=(n,)) for n in (1, 7, 64, 300)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures, failures
