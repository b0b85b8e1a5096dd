"""tcc on dask.array: a contraction over chunked operands, each block computed by tcc's kernels.

Batch (and every kept) axis may be chunked freely; a contracted axis chunked in k pieces gives k
partial products per output block, summed by dask's tree reduction. dask.distributed runs the
blocks on its workers (each worker process compiles a block shape once and keeps the kernel).
"""
import string

import dask.array as da
import numpy as np

import tcc


def _parse(spec, count):
    if "->" not in spec:
        raise tcc.ArgumentError("tcc.dask.einsum needs an explicit output: 'ij,jk->ik'")
    ins, out = spec.replace(" ", "").split("->")
    terms = ins.split(",")
    if len(terms) != count:
        raise tcc.ArgumentError(f"einsum: the spec names {len(terms)} operands, {count} given")
    if "." in spec:
        raise tcc.ArgumentError("tcc.dask.einsum does not take '...' yet: name every axis")
    return terms, out


def einsum(spec, *arrays, name=None):
    """numpy.einsum's result for dask arrays (explicit output form), computed block by block.

    `name`: the dask key prefix of the blocks (default: a token of the inputs, so that equal
    computations share results, as dask's own operations do)."""
    arrays = [da.asarray(a) for a in arrays]
    terms, out = _parse(spec, len(arrays))
    for t, a in zip(terms, arrays):
        if len(t) != a.ndim:
            raise tcc.ShapeError(f"einsum: operand {t!r} has {a.ndim} axes")
    summed = "".join(sorted(set("".join(terms)) - set(out)))
    block_spec = ",".join(terms) + "->" + out
    dtype = np.result_type(*[a.dtype for a in arrays])

    def block(*blocks):
        r = tcc.einsum(block_spec, *blocks)
        # One partial sum per block of the summed axes, kept as axes of length 1.
        return r.reshape(r.shape + (1,) * len(summed))

    args = []
    for t, a in zip(terms, arrays):
        args += [a, t]
    partial = da.blockwise(block, out + summed, *args, dtype=dtype, align_arrays=True, concatenate=False,
                           adjust_chunks={s: 1 for s in summed}, name=name)
    if not summed:
        return partial
    return partial.sum(axis=tuple(range(len(out), len(out) + len(summed))), dtype=dtype)


def matmul(a, b):
    """numpy.matmul for dask arrays of equal rank >= 2 (batch axes must match)."""
    a, b = da.asarray(a), da.asarray(b)
    if a.ndim != b.ndim or a.ndim < 2:
        raise tcc.ShapeError("tcc.dask.matmul takes two arrays of the same rank >= 2")
    batch = string.ascii_lowercase[: a.ndim - 2]
    return einsum(f"{batch}xy,{batch}yz->{batch}xz", a, b)
