"""tcc.dask: contractions on dask arrays, each block by tcc, on a dask.distributed LocalCluster
with two worker processes, against NumPy."""
import numpy as np
import pytest

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

import tcc
import tcc.dask as tdask


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()


def test_batch_dot_chunked_over_the_batch(client):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((1000, 4, 5)).astype(np.float32)
    b = rng.standard_normal((1000, 5, 8)).astype(np.float32)
    x, y = da.from_array(a, chunks=(250, 4, 5)), da.from_array(b, chunks=(250, 5, 8))
    got = tdask.einsum("bij,bjk->bik", x, y).compute()
    np.testing.assert_allclose(got, np.einsum("bij,bjk->bik", a, b), rtol=1e-5, atol=1e-5)


def test_contracted_axis_chunked_gives_partial_sums(client):
    rng = np.random.default_rng(1)
    a = rng.standard_normal((6, 300)).astype(np.float64)
    b = rng.standard_normal((300, 7)).astype(np.float64)
    x, y = da.from_array(a, chunks=(3, 100)), da.from_array(b, chunks=(100, 7))
    got = tdask.matmul(x, y)
    assert got.numblocks == (2, 1)
    np.testing.assert_allclose(got.compute(), a @ b, rtol=1e-12, atol=1e-12)


def test_unaligned_chunks_and_three_operands(client):
    rng = np.random.default_rng(2)
    a = rng.integers(-3, 4, (8, 9)).astype(np.int64)
    b = rng.integers(-3, 4, (9, 10)).astype(np.int64)
    c = rng.integers(-3, 4, (10, 4)).astype(np.int64)
    x, y, z = da.from_array(a, chunks=(5, 4)), da.from_array(b, chunks=(3, 10)), da.from_array(c, chunks=(6, 2))
    np.testing.assert_array_equal(tdask.einsum("ij,jk,kl->il", x, y, z).compute(), a @ b @ c)


def test_errors():
    x = da.zeros((4, 5), chunks=2)
    with pytest.raises(tcc.ArgumentError):
        tdask.einsum("ij,jk", x, x)
    with pytest.raises(tcc.ShapeError):
        tdask.einsum("ijk,jk->i", x, x)
    with pytest.raises(tcc.ShapeError):
        tdask.matmul(x, da.zeros((4, 5, 6), chunks=2))
