#!/usr/bin/env python3
"""No cliffs: one contraction written several ways, each run through tcc, against NumPy.

Every group is one contraction written several ways (matmul, `@`, einsum with permuted
operand and output layouts, tensordot, dot, batch_dot, reshape + matmul, a multi-operand
einsum against pairwise steps). Each formulation becomes its own .tc file. The harness
runs it once with `tcc run` on seeded float32 inputs and compares the result with NumPy's
float64 result (the check), then times it with `tcc bench --threads 1`. NumPy (OpenBLAS,
one thread) times the same contraction in this process.

Ratios printed:
  slowest/fastest   tcc's slowest formulation / tcc's fastest formulation (1.0 = no cliff)
  numpy/tcc         NumPy's time / tcc's fastest time: > 1 means tcc is faster

See README.md beside this file. Python 3 with the standard library and NumPy only.
"""

import os
import sys

# One BLAS thread, fixed before NumPy (and so OpenBLAS) is loaded.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"


def _cpu_flags():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


# Debian's OpenBLAS 0.3.21 picks its Haswell (AVX2) kernels on Zen 5, and some machines export
# OPENBLAS_CORETYPE=Haswell: on a CPU with Skylake-class AVX-512 ask for SkylakeX, as tcc_bench
# does (TCC_BENCH_OPENBLAS_CORETYPE chooses another core on purpose).
_OPENBLAS_NOTE = ""
if os.environ.get("TCC_BENCH_OPENBLAS_CORETYPE"):
    os.environ["OPENBLAS_CORETYPE"] = os.environ["TCC_BENCH_OPENBLAS_CORETYPE"]
elif {"avx512f", "avx512bw", "avx512dq", "avx512vl"} <= _cpu_flags():
    if os.environ.get("OPENBLAS_CORETYPE", "") != "SkylakeX":
        _OPENBLAS_NOTE = "OPENBLAS_CORETYPE=%s replaced by SkylakeX" % os.environ.get("OPENBLAS_CORETYPE", "(unset)")
        os.environ["OPENBLAS_CORETYPE"] = "SkylakeX"

try:
    import numpy as np
except ImportError:
    # A pyenv or venv python3 without NumPy: use Debian's python3 (python3-numpy) instead.
    _sys_py = "/usr/bin/python3"
    if os.path.exists(_sys_py) and not os.environ.get("TCC_FORMULATIONS_REEXEC") and \
            os.path.realpath(sys.executable) != os.path.realpath(_sys_py):
        os.environ["TCC_FORMULATIONS_REEXEC"] = "1"
        os.execv(_sys_py, [_sys_py] + sys.argv)
    sys.exit("formulations.py needs NumPy (Debian: apt-get install python3-numpy)")

import argparse
import atexit
import ctypes
import hashlib
import json
import platform
import re
import shutil
import statistics
import subprocess
import tempfile
import time

# ----------------------------------------------------------------------------------------------
# Groups


class Form:
    """One formulation: .tc statements ending in the expression bound to `fid` (the output)."""

    def __init__(self, fid, tc, expect=None, label=None, slow=False):
        self.fid = fid
        self.stmts = [tc] if isinstance(tc, str) else list(tc)
        self.expect = expect  # canonical result -> this formulation's result (layout), or None
        self.label = label or "; ".join(self.stmts)
        self.slow = slow  # known to run as a naive loop nest today (see --skip-slow)


class Group:
    def __init__(self, name, title, inputs, ref, forms, numpy, flops, derived=None, note=""):
        self.name = name
        self.title = title
        self.inputs = inputs  # canonical inputs: name -> shape
        self.derived = derived or {}  # other layouts: name -> fn(canonical arrays) -> array
        self.ref = ref  # (einsum spec, [canonical input names]): the math, evaluated in float64
        self.forms = forms
        self.numpy = numpy  # [(label, fn(arrays) -> result)]; the fastest one counts
        self.flops = flops  # nominal FLOPs (best evaluation order), for GFLOP/s only
        self.note = note


def T(*perm):
    return lambda r: r.transpose(perm)


def groups(quick):
    """The groups, with full sizes or (quick) small ones."""
    q = quick
    G = []

    # 1. batched matmul
    B, M, K, N = (4, 8, 8, 8) if q else (64, 64, 64, 64)
    G.append(Group(
        "bmm", "batched matmul %d x (%dx%d . %dx%d)" % (B, M, K, K, N),
        {"x": [B, M, K], "y": [B, K, N]},
        ("bik,bkj->bij", ["x", "y"]),
        [Form("mm", "matmul(x, y)"),
         Form("at", "x @ y"),
         Form("ein", 'einsum("bik,bkj->bij", x, y)'),
         Form("ein_out_ijb", 'einsum("bik,bkj->ijb", x, y)', T(1, 2, 0)),
         Form("ein_in_ijb", 'einsum("ikb,kjb->ijb", xk, yk)', T(1, 2, 0)),
         Form("ein_in_bij", 'einsum("ikb,kjb->bij", xk, yk)'),
         Form("bd", "batch_dot(x, y, axes=(2, 1))"),
         Form("bd_legacy", "batch_dot(x, y, legacy=true)"),
         Form("tr_mm", "matmul(transpose(xk, perm=[2, 0, 1]), transpose(yk, perm=[2, 0, 1]))")],
        [("np.matmul(x, y)", lambda A: np.matmul(A["x"], A["y"])),
         ("np.einsum('bik,bkj->bij', optimize=True)",
          lambda A: np.einsum("bik,bkj->bij", A["x"], A["y"], optimize=True))],
        2 * B * M * K * N,
        derived={"xk": lambda A: A["x"].transpose(1, 2, 0), "yk": lambda A: A["y"].transpose(1, 2, 0)},
        note="xk = x stored [i,k,b], yk = y stored [k,j,b]"))

    # 2. attention scores Q.K^T
    B, H, S, D = (2, 3, 8, 4) if q else (8, 12, 128, 64)
    G.append(Group(
        "attn", "attention scores q.k^T, q,k f32[%d,%d,%d,%d]" % (B, H, S, D),
        {"q": [B, H, S, D], "k": [B, H, S, D]},
        ("bhqd,bhkd->bhqk", ["q", "k"]),
        [Form("mm_tb", "matmul(q, k, transpose_b=true)"),
         Form("bd_legacy", "batch_dot(q, k, axes=(3, 3), legacy=true)"),
         Form("ein", 'einsum("bhqd,bhkd->bhqk", q, k)'),
         Form("mm_tr", "matmul(q, transpose(k, perm=[0, 1, 3, 2]))"),
         Form("at_tr", "q @ transpose(k, perm=[0, 1, 3, 2])"),
         Form("mm_kt", "matmul(q, kt)"),
         Form("ein_kt", 'einsum("bhqd,bhdk->bhqk", q, kt)')],
        [("np.matmul(q, k.transpose(0,1,3,2))", lambda A: np.matmul(A["q"], A["k"].transpose(0, 1, 3, 2))),
         ("np.einsum('bhqd,bhkd->bhqk', optimize=True)",
          lambda A: np.einsum("bhqd,bhkd->bhqk", A["q"], A["k"], optimize=True))],
        2 * B * H * S * S * D,
        derived={"kt": lambda A: A["k"].transpose(0, 1, 3, 2)},
        note="kt = k stored transposed [b,h,d,k]"))

    # 3. GEMV
    M, N = (64, 48) if q else (2048, 2048)
    G.append(Group(
        "gemv", "GEMV a.v, a f32[%d,%d]" % (M, N),
        {"a": [M, N], "v": [N]},
        ("ij,j->i", ["a", "v"]),
        [Form("at", "a @ v"),
         Form("mm_col", "matmul(a, reshape(v, [%d, 1]))" % N),
         Form("mm_row_tb", "matmul(a, reshape(v, [1, %d]), transpose_b=true)" % N),
         Form("ein", 'einsum("ij,j->i", a, v)'),
         Form("dot", "dot(a, v)"),
         Form("td", "tensordot(a, v, axes=1)"),
         Form("ein_aT", 'einsum("ji,j->i", aT, v)'),
         Form("mm_aT_ta", "matmul(aT, reshape(v, [%d, 1]), transpose_a=true)" % N)],
        [("a @ v", lambda A: A["a"] @ A["v"])],
        2 * M * N,
        derived={"aT": lambda A: A["a"].T},
        note="aT = a stored transposed"))

    # 4. vector-matrix
    M, N = (48, 64) if q else (2048, 2048)
    G.append(Group(
        "gevm", "vector-matrix v.a, a f32[%d,%d]" % (M, N),
        {"v": [M], "a": [M, N]},
        ("j,jk->k", ["v", "a"]),
        [Form("at", "v @ a"),
         Form("ein", 'einsum("j,jk->k", v, a)'),
         Form("dot", "dot(v, a)"),
         Form("td", "tensordot(v, a, axes=1)"),
         Form("mm_row", "matmul(reshape(v, [1, %d]), a)" % M),
         Form("mm_ta", "matmul(a, reshape(v, [%d, 1]), transpose_a=true)" % M)],
        [("v @ a", lambda A: A["v"] @ A["a"])],
        2 * M * N))

    # 5. dot product of two vectors
    n = 4096 if q else 1 << 20
    G.append(Group(
        "vdot", "dot product of two vectors, n=%d" % n,
        {"x": [n], "y": [n]},
        ("i,i->", ["x", "y"]),
        [Form("dot", "dot(x, y)"),
         Form("at", "x @ y"),
         Form("ein", 'einsum("i,i->", x, y)'),
         Form("td", "tensordot(x, y, axes=1)"),
         Form("mm", "matmul(reshape(x, [1, %d]), reshape(y, [%d, 1]))" % (n, n)),
         Form("ein_2d", 'einsum("ij,ij->", reshape(x, [%d, 1024]), reshape(y, [%d, 1024]))'
              % (n // 1024, n // 1024))],
        [("np.dot(x, y)", lambda A: np.dot(A["x"], A["y"]))],
        2 * n))

    # 6. outer product
    M, N = (64, 48) if q else (2048, 2048)
    G.append(Group(
        "outer", "outer product x[%d] (x) y[%d]" % (M, N),
        {"x": [M], "y": [N]},
        ("i,j->ij", ["x", "y"]),
        [Form("ein", 'einsum("i,j->ij", x, y)'),
         Form("mm", "matmul(reshape(x, [%d, 1]), reshape(y, [1, %d]))" % (M, N)),
         Form("at", "reshape(x, [%d, 1]) @ reshape(y, [1, %d])" % (M, N)),
         Form("td", "tensordot(x, y, axes=0)"),
         Form("dot", "dot(reshape(x, [%d, 1]), reshape(y, [1, %d]))" % (M, N)),
         Form("ein_outT", 'einsum("i,j->ji", x, y)', T(1, 0))],
        [("np.outer(x, y)", lambda A: np.outer(A["x"], A["y"]))],
        M * N))

    # 7 and 8. chains of three matrices
    def chain(name, title, sa, sb, sc, flops, note=""):
        return Group(
            name, title, {"a": sa, "b": sb, "c": sc},
            ("ij,jk,kl->il", ["a", "b", "c"]),
            [Form("ein3", 'einsum("ij,jk,kl->il", a, b, c)', slow=True),
             Form("mm_ab_c", "matmul(matmul(a, b), c)"),
             Form("mm_a_bc", "matmul(a, matmul(b, c))"),
             Form("dot_ab_c", "dot(dot(a, b), c)"),
             Form("at", "a @ b @ c"),
             Form("ein_pair", ['t = einsum("ij,jk->ik", a, b)', 'einsum("ik,kl->il", t, c)'])],
            [("np.einsum('ij,jk,kl->il', optimize=True)",
              lambda A: np.einsum("ij,jk,kl->il", A["a"], A["b"], A["c"], optimize=True)),
             ("np.linalg.multi_dot([a, b, c])", lambda A: np.linalg.multi_dot([A["a"], A["b"], A["c"]]))],
            flops, note=note)

    N = 16 if q else 256
    G.append(chain("chain3", "3-matrix chain %d^3" % N, [N, N], [N, N], [N, N], 4 * N ** 3))
    M, K = (64, 4) if q else (1024, 16)
    G.append(chain("skewchain", "skewed chain a[%d,%d] b[%d,%d] c[%d,%d]" % (M, K, K, M, M, K),
                   [M, K], [K, M], [M, K], 4 * M * K * K, note="best order a.(b.c)"))

    # 9. four-index transform
    N = 4 if q else 24
    pair = ['t1 = einsum("pi,ijkl->pjkl", C, I)',
            't2 = einsum("qj,pjkl->pqkl", C, t1)',
            't3 = einsum("rk,pqkl->pqrl", C, t2)',
            'einsum("sl,pqrl->pqrs", C, t3)']
    tds = ["t1 = tensordot(I, C, axes=([0], [1]))",
           "t2 = tensordot(t1, C, axes=([0], [1]))",
           "t3 = tensordot(t2, C, axes=([0], [1]))",
           "tensordot(t3, C, axes=([0], [1]))"]
    # each step contracts the leading axis and appends the new one: ijkl -> jklp -> klpq -> lpqr -> pqrs
    mms = []
    prev = "I"
    for t in ["t1", "t2", "t3", None]:
        e = "reshape(matmul(reshape(%s, [%d, %d]), C, transpose_a=true, transpose_b=true), [%d, %d, %d, %d])" % (
            prev, N, N ** 3, N, N, N, N)
        mms.append(e if t is None else "%s = %s" % (t, e))
        prev = t
    G.append(Group(
        "fourindex", "4-index transform N=%d" % N,
        {"C": [N, N], "I": [N, N, N, N]},
        ("pi,qj,ijkl,rk,sl->pqrs", ["C", "C", "I", "C", "C"]),
        [Form("ein5", 'einsum("pi,qj,ijkl,rk,sl->pqrs", C, C, I, C, C)', slow=True),
         Form("ein_pair", pair, label="4 pairwise einsums (pi,ijkl->pjkl; qj; rk; sl)"),
         Form("td4", tds, label="4 x tensordot(t, C, axes=([0], [1]))"),
         Form("mm4", mms, label="4 x reshape(matmul(reshape(t, [N, N^3]), C, transpose_a=true, transpose_b=true), [N, N, N, N])")],
        [("np.einsum('pi,qj,ijkl,rk,sl->pqrs', optimize=True)",
          lambda A: np.einsum("pi,qj,ijkl,rk,sl->pqrs", A["C"], A["C"], A["I"], A["C"], A["C"], optimize=True))],
        4 * 2 * N ** 5))

    # 10. tensordot over two axes
    A_, B_, C_, D_ = (8, 4, 16, 8) if q else (64, 32, 256, 128)
    BC = B_ * C_
    G.append(Group(
        "tdot2", "tensordot over two axes x[%d,%d,%d] y[%d,%d,%d]" % (A_, B_, C_, B_, C_, D_),
        {"x": [A_, B_, C_], "y": [B_, C_, D_]},
        ("abc,bcd->ad", ["x", "y"]),
        [Form("td", "tensordot(x, y, axes=2)"),
         Form("td_ax", "tensordot(x, y, axes=([1, 2], [0, 1]))"),
         Form("ein", 'einsum("abc,bcd->ad", x, y)'),
         Form("mm_rs", "matmul(reshape(x, [%d, %d]), reshape(y, [%d, %d]))" % (A_, BC, BC, D_)),
         Form("dot_rs", "dot(reshape(x, [%d, %d]), reshape(y, [%d, %d]))" % (A_, BC, BC, D_)),
         Form("td_xp", "tensordot(xp, y, axes=([2, 1], [0, 1]))"),
         Form("ein_xp", 'einsum("acb,bcd->ad", xp, y)')],
        [("np.tensordot(x, y, axes=2)", lambda A: np.tensordot(A["x"], A["y"], axes=2))],
        2 * A_ * BC * D_,
        derived={"xp": lambda A: A["x"].transpose(0, 2, 1)},
        note="xp = x stored [a,c,b]"))

    # 11. transposed operands
    N = 24 if q else 512
    G.append(Group(
        "tgemm", "GEMM with transposed operands %d^3" % N,
        {"a": [N, N], "b": [N, N]},
        ("ik,kj->ij", ["a", "b"]),
        [Form("mm", "matmul(a, b)"),
         Form("mm_ta", "matmul(aT, b, transpose_a=true)"),
         Form("mm_tb", "matmul(a, bT, transpose_b=true)"),
         Form("mm_tab", "matmul(aT, bT, transpose_a=true, transpose_b=true)"),
         Form("ein_ki", 'einsum("ki,kj->ij", aT, b)'),
         Form("ein_jk", 'einsum("ik,jk->ij", a, bT)'),
         Form("ein_outT", 'einsum("ik,kj->ji", a, b)', T(1, 0)),
         Form("tr_mm", "transpose(matmul(bT, aT))"),
         Form("dot", "dot(a, b)")],
        [("a @ b", lambda A: A["a"] @ A["b"])],
        2 * N ** 3,
        derived={"aT": lambda A: A["a"].T, "bT": lambda A: A["b"].T},
        note="aT, bT = a, b stored transposed"))

    # 12. small K
    M, K, N = (32, 4, 24) if q else (1024, 4, 1024)
    G.append(Group(
        "lowk", "small-K GEMM %dx%d . %dx%d" % (M, K, K, N),
        {"a": [M, K], "b": [K, N]},
        ("ik,kj->ij", ["a", "b"]),
        [Form("mm", "matmul(a, b)"),
         Form("at", "a @ b"),
         Form("ein", 'einsum("ik,kj->ij", a, b)'),
         Form("dot", "dot(a, b)"),
         Form("td", "tensordot(a, b, axes=1)"),
         Form("mm_tb", "matmul(a, bT, transpose_b=true)")],
        [("a @ b", lambda A: A["a"] @ A["b"])],
        2 * M * K * N,
        derived={"bT": lambda A: A["b"].T}))

    # 13. K = 1
    G.append(Group(
        "k1", "K=1 GEMM %dx1 . 1x%d" % (M, N),
        {"a": [M, 1], "b": [1, N]},
        ("ik,kj->ij", ["a", "b"]),
        [Form("mm", "matmul(a, b)"),
         Form("ein", 'einsum("ik,kj->ij", a, b)'),
         Form("ein_outer", 'einsum("i,j->ij", reshape(a, [%d]), reshape(b, [%d]))' % (M, N)),
         Form("td0", "tensordot(reshape(a, [%d]), reshape(b, [%d]), axes=0)" % (M, N)),
         Form("td1", "tensordot(a, b, axes=1)"),
         Form("dot", "dot(a, b)")],
        [("a @ b", lambda A: A["a"] @ A["b"]),
         ("np.outer(a, b)", lambda A: np.outer(A["a"], A["b"]))],
        2 * M * N))

    # 14. Keras dot of 3-D by 2-D
    B, S, K, N = (2, 8, 16, 8) if q else (32, 64, 128, 256)
    G.append(Group(
        "kdot3", "Keras dot 3-D x[%d,%d,%d] by 2-D w[%d,%d]" % (B, S, K, K, N),
        {"x": [B, S, K], "w": [K, N]},
        ("bsk,kn->bsn", ["x", "w"]),
        [Form("dot", "dot(x, w)"),
         Form("mm", "matmul(x, w)"),
         Form("at", "x @ w"),
         Form("ein", 'einsum("bsk,kn->bsn", x, w)'),
         Form("rs_mm", "reshape(matmul(reshape(x, [%d, %d]), w), [%d, %d, %d])" % (B * S, K, B, S, N)),
         Form("td", "tensordot(x, w, axes=1)")],
        [("x @ w", lambda A: A["x"] @ A["w"]),
         ("np.dot(x, w)", lambda A: np.dot(A["x"], A["w"]))],
        2 * B * S * K * N))

    # 15. the seed's tiny batched matmul (call overhead dominates)
    G.append(Group(
        "seed", "the seed: 10*12 x (4x5 . 5x8)",
        {"w": [10, 12, 4, 5], "k": [10, 12, 5, 8]},
        ("abij,abjk->abik", ["w", "k"]),
        [Form("mm", "matmul(w, k)"),
         Form("at", "w @ k"),
         Form("bd_legacy", "batch_dot(w, k, legacy=true)"),
         Form("ein", 'einsum("abij,abjk->abik", w, k)'),
         Form("ein_out", 'einsum("abij,abjk->ikab", w, k)', T(2, 3, 0, 1))],
        [("np.matmul(w, k)", lambda A: np.matmul(A["w"], A["k"]))],
        2 * 10 * 12 * 4 * 5 * 8))

    # 16. bilinear form per row: x_b^T W y_b
    B, I, J = (8, 16, 12) if q else (256, 512, 512)
    G.append(Group(
        "bilinear", "bilinear form per row x[%d,%d] W[%d,%d] y[%d,%d]" % (B, I, I, J, B, J),
        {"x": [B, I], "W": [I, J], "y": [B, J]},
        ("bi,ij,bj->b", ["x", "W", "y"]),
        [Form("ein3", 'einsum("bi,ij,bj->b", x, W, y)', slow=True),
         Form("ein_pair", ['t = einsum("bi,ij->bj", x, W)', 'einsum("bj,bj->b", t, y)']),
         Form("bd_legacy", ["t = matmul(x, W)", "batch_dot(t, y, axes=1, legacy=true)"]),
         Form("bd", ["t = matmul(x, W)", "batch_dot(t, y, axes=1)"]),
         Form("mm3d", "matmul(matmul(reshape(x, [%d, 1, %d]), W), reshape(y, [%d, %d, 1]))" % (B, I, B, J))],
        [("np.einsum('bi,ij,bj->b', optimize=True)",
          lambda A: np.einsum("bi,ij,bj->b", A["x"], A["W"], A["y"], optimize=True))],
        2 * B * I * J + 2 * B * J))

    return G


# ----------------------------------------------------------------------------------------------
# Running tcc


def strip_strings(s):
    return re.sub(r'"[^"]*"', '""', s)


OUT = "out"  # the output's name in every file (a formulation's id may be an op name, e.g. dot)


def tc_text(group, form, shapes):
    """The .tc file of one formulation: only the inputs it uses, then its statements."""
    used = set()
    for st in form.stmts:
        used |= set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", strip_strings(st)))
    lines = ["# %s: %s" % (group.name, group.title), "# formulation %s" % form.fid]
    for name, shape in shapes.items():
        if name in used:
            lines.append("input %s: f32[%s]" % (name, ", ".join(str(d) for d in shape)))
    for st in form.stmts[:-1]:
        lines.append(st)
    lines.append("%s = %s" % (OUT, form.stmts[-1]))
    lines.append("output %s" % OUT)
    return "\n".join(lines) + "\n", sorted(used & set(shapes))


def run_tool(cmd, timeout):
    """(status, stdout, stderr, seconds); status is 'ok', 'timeout' or 'error'. Retries an error once."""
    for attempt in range(2):
        t0 = time.monotonic()
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return "timeout", "", "", time.monotonic() - t0
        except OSError as e:  # the binary is being replaced (a rebuild): wait for it, retry once
            if attempt == 1:
                return "error", "", "cannot run %s: %s" % (cmd[0], e), time.monotonic() - t0
            wait_for_binary(cmd[0])
            continue
        dt = time.monotonic() - t0
        if p.returncode == 0:
            return "ok", p.stdout, p.stderr, dt
        if attempt == 1 or p.returncode == 1 and "error:" in p.stderr:
            # exit 1 with a diagnostic is the compiler rejecting the file: no retry
            return "error", p.stdout, p.stderr, dt
        wait_for_binary(cmd[0])  # a crash or odd failure: maybe a rebuild under us; retry once
    return "error", p.stdout, p.stderr, dt


def wait_for_binary(path, limit_s=120.0):
    """Waits until `path` is an executable file that has not changed for a second."""
    end = time.monotonic() + limit_s
    last = None
    while time.monotonic() < end:
        try:
            st = os.stat(path)
            cur = (st.st_mtime_ns, st.st_size)
            if os.access(path, os.X_OK) and cur == last:
                return
            last = cur
        except OSError:
            last = None
        time.sleep(1.0)


def parse_kv(line):
    return dict(tok.split("=", 1) for tok in line.split() if "=" in tok)


def compare(out, exp, expabs, tol):
    """(ok, message): |out - exp| <= tol * sum|terms|, element-wise."""
    if out.shape != exp.shape:
        if out.size == exp.size and tuple(d for d in out.shape if d != 1) == tuple(d for d in exp.shape if d != 1):
            out = out.reshape(exp.shape)
        else:
            return False, "shape %s, expected %s" % (list(out.shape), list(exp.shape))
    if not np.all(np.isfinite(out)):
        return False, "non-finite values"
    if out.size == 0:
        return True, "err 0"
    err = np.abs(out.astype(np.float64) - exp)
    rel = err / np.maximum(expabs, 1e-30)
    worst = float(rel.max())
    if worst <= tol:
        return True, "err %.1e" % worst
    idx = np.unravel_index(int(rel.argmax()), rel.shape)
    return False, "rel err %.2e at %s: got %r, want %r" % (worst, list(map(int, idx)), float(out[idx]),
                                                          float(exp[idx]))


# ----------------------------------------------------------------------------------------------
# NumPy timing


def time_call(fn, budget_s, min_runs):
    """Median seconds of one call: warm-up, then groups of calls of about 20 us until the budget."""
    fn()
    t0 = time.perf_counter()
    fn()
    one = max(time.perf_counter() - t0, 1e-9)
    group = int(min(max(20e-6 / one, 1), 10000))
    times = []
    start = time.perf_counter()
    while len(times) < min_runs or (time.perf_counter() - start < budget_s and len(times) < 100000):
        t = time.perf_counter()
        for _ in range(group):
            fn()
        times.append((time.perf_counter() - t) / group)
    return statistics.median(times), len(times)


# One row of a group's table: form, median_us, GFLOP/s, x fastest, runs, check, code, formulation.
ROW = "   %-12s %12s %9s %10s %6s  %-9s %-4s %s"


def code_fingerprint(args, path):
    """A digest of the loop IR tcc compiles for a .tc file (one thread): two formulations with
    the same digest run the same kernels, so any difference in their times is the machine's."""
    st, out, _err, _secs = run_tool([args.tcc, "emit", path, "--stage", "loops", "--threads", "1"], args.timeout)
    return hashlib.sha1(out.encode()).hexdigest()[:12] if st == "ok" else None


def code_classes(forms):
    """Labels A, B, ... per distinct compiled code (in order of first appearance), and each
    label's best time: identical code has one true speed, best estimated by its best copy."""
    labels, best = {}, {}
    for r in forms:
        if r.get("code") is None or r["median_us"] is None:
            continue
        lab = labels.setdefault(r["code"], chr(ord("A") + len(labels)) if len(labels) < 26 else "?")
        r["code_label"] = lab
        best[lab] = min(best.get(lab, r["median_us"]), r["median_us"])
    return best


def keep_best(r, median_us, runs):
    """Record one round's median: the form keeps its best round, and every round's median."""
    r.setdefault("round_medians_us", []).append(median_us)
    if r.get("median_us") is None or median_us < r["median_us"]:
        r["median_us"] = median_us
        r["runs"] = runs


def time_form(args, g, r, repeat, failures):
    """One round of timing of one formulation with tcc bench (2 warm-up calls, then --repeat N or
    at least 5 runs and about 0.2 s). Sets r["status"] to "error" when it fails."""
    rep = repeat
    if not rep and r["run_ms"] > 1000:  # a slow call: 3 timed runs, or 1 past 3 s
        rep = 3 if r["run_ms"] <= 3000 else 1
    calls = 2 + (rep or 5)
    if r["run_ms"] * 1e-3 * calls > args.timeout:
        keep_best(r, r["run_ms"] * 1e3, 1)
        r["timing_note"] = "one call of tcc run (bench would exceed --timeout)"
        return
    cmd = [args.tcc, "bench", r["path"], "--threads", "1"] + (["--repeat", str(rep)] if rep else [])
    st, out, err, secs = run_tool(cmd, args.timeout)
    kv = {}
    if st == "ok":
        for line in out.splitlines():
            d = parse_kv(line)
            if d.get("name") == OUT:
                kv = d
        if "median_us" not in kv:
            st, err = "error", "no bench line for %s in: %s" % (OUT, out.strip()[-500:])
    if st != "ok":
        r["status"] = st
        r["error"] = (err or out).strip()[-2000:]
        if st == "error":
            failures.append("%s/%s: tcc bench failed: %s" % (g.name, r["form"], r["error"].splitlines()[:3]))
        return
    keep_best(r, float(kv["median_us"]), int(kv.get("runs", 0)))
    r["tcc_flops"] = float(kv.get("flops", 0))
    r["compile_ms"] = float(kv.get("compile_ms", 0))
    r["kernels"] = int(kv.get("kernels", 0))


def openblas_info():
    for lib in ("libopenblas.so.0", "libopenblasp.so.0", "libopenblas64_.so.0"):
        try:
            h = ctypes.CDLL(lib)
        except OSError:
            continue
        info = []
        for fn, kind in (("openblas_get_config", "s"), ("openblas_get_corename", "s"),
                         ("openblas_get_num_threads", "i")):
            f = getattr(h, fn, None)
            if f is None:
                continue
            if kind == "s":
                f.restype = ctypes.c_char_p
                info.append(f().decode(errors="replace").strip())
            else:
                f.restype = ctypes.c_int
                info.append("threads=%d" % f())
        return lib + ": " + ", ".join(info)
    return "OpenBLAS not found (NumPy may use another BLAS)"


# ----------------------------------------------------------------------------------------------
# Formatting


def fmt_us(us):
    if us is None:
        return "-"
    if us >= 1e6:
        return "%.2f s" % (us / 1e6)
    if us >= 1000:
        return "%.0f" % us
    if us >= 10:
        return "%.1f" % us
    return "%.2f" % us


def fmt_t(us):
    """A time with its unit, for the summary lines."""
    s = fmt_us(us)
    return s if s.endswith(" s") or s == "-" else s + " us"


def fmt_ratio(r):
    if r is None:
        return "-"
    if r < 0.01:
        return "%.2g" % r
    if r >= 100:
        return "%.0f" % r
    if r >= 10:
        return "%.1f" % r
    return "%.2f" % r


# ----------------------------------------------------------------------------------------------


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(os.path.dirname(here))
    ap = argparse.ArgumentParser(
        description="The same contraction written several ways, through tcc and NumPy (one thread). "
                    "numpy/tcc = NumPy time / tcc's fastest time: > 1 means tcc is faster.")
    ap.add_argument("--tcc", default=os.path.join(root, "build", "bin", "tcc"), help="tcc binary (default %(default)s)")
    ap.add_argument("--groups", default="all", help="comma-separated group names, or 'all' (default); see --list")
    ap.add_argument("--list", action="store_true", help="list the groups and formulations and exit")
    ap.add_argument("--quick", action="store_true", help="tiny sizes and few repetitions (smoke test)")
    ap.add_argument("--repeat", type=int, default=0,
                    help="passed to tcc bench as --repeat N (default: tcc's own, about 0.2 s and at least 5 runs; "
                         "3 with --quick)")
    ap.add_argument("--rounds", type=int, default=1,
                    help="time every form this many times, in turn, and keep each one's best median: on a "
                         "shared, noisy machine 3 or more (default 1)")
    ap.add_argument("--numpy-budget", type=float, default=None,
                    help="seconds of NumPy timing per form (default 0.2, 0.01 with --quick)")
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds per tcc invocation (default 600)")
    ap.add_argument("--check", dest="check", action="store_true", default=True,
                    help="compare every formulation with NumPy's float64 result first (default)")
    ap.add_argument("--no-check", dest="check", action="store_false", help="skip the correctness check")
    ap.add_argument("--tol", type=float, default=1e-4,
                    help="check tolerance, relative to the sum of |terms| of each element (default 1e-4)")
    ap.add_argument("--skip-slow", action="store_true",
                    help="skip formulations known to run as naive loop nests today (multi-operand einsums)")
    ap.add_argument("--markdown", action="store_true", help="also print the summary as a markdown table")
    ap.add_argument("--json", metavar="FILE", help="write the raw results to FILE")
    ap.add_argument("--keep", metavar="DIR", help="write the .tc files, inputs and outputs to DIR and keep them")
    ap.add_argument("--seed", type=int, default=0, help="seed of the check inputs (default 0)")
    args = ap.parse_args()
    if args.rounds < 1:
        ap.error("--rounds must be at least 1")

    all_groups = groups(args.quick)
    names = [g.name for g in all_groups]
    if args.list:
        for g in all_groups:
            print("%-10s %s%s" % (g.name, g.title, ("  (%s)" % g.note) if g.note else ""))
            for f in g.forms:
                print("    %-12s %s%s" % (f.fid, f.label, "   [slow]" if f.slow else ""))
            for lbl, _ in g.numpy:
                print("    %-12s %s" % ("numpy", lbl))
        return 0
    if args.groups.strip() in ("", "all"):
        sel = all_groups
    else:
        want = [s.strip() for s in args.groups.split(",") if s.strip()]
        bad = [w for w in want if w not in names]
        if bad:
            ap.error("unknown group(s) %s; groups: %s" % (", ".join(bad), ", ".join(names)))
        sel = [g for g in all_groups if g.name in want]
    if not os.access(args.tcc, os.X_OK) and os.path.exists(os.path.dirname(args.tcc) or "."):
        wait_for_binary(args.tcc, 60.0)  # maybe being rebuilt
    if not os.access(args.tcc, os.X_OK):
        ap.error("tcc binary not found or not executable: %s" % args.tcc)
    repeat = args.repeat or (3 if args.quick else 0)
    np_budget = args.numpy_budget if args.numpy_budget is not None else (0.01 if args.quick else 0.2)
    np_min = 3 if args.quick else 5

    workdir = args.keep or tempfile.mkdtemp(prefix="tcc_formulations_")
    os.makedirs(workdir, exist_ok=True)
    if not args.keep:
        atexit.register(shutil.rmtree, workdir, True)
    t_start = time.monotonic()
    try:
        ver = subprocess.run([args.tcc, "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        ver = "?"
    print("# tcc formulations: the same contraction written several ways (no cliffs)")
    print("# tcc: %s (%s), --threads 1%s" % (args.tcc, ver or "?", (", --repeat %d" % repeat) if repeat else ""))
    print("# numpy %s, python %s, %s" % (np.__version__, platform.python_version(), openblas_info()))
    if _OPENBLAS_NOTE:
        print("# " + _OPENBLAS_NOTE)
    print("# times: median microseconds per call%s; GFLOP/s from the group's nominal FLOPs (best evaluation order)"
          % ((", best of %d rounds" % args.rounds) if args.rounds > 1 else ""))
    print("# x fastest = this formulation / tcc's fastest; slowest/fastest over tcc's formulations")
    print("# code: formulations with the same letter compile to the same kernels (same loop IR); 'by code'")
    print("#   = slowest/fastest over distinct codes, each at the best time of its copies (their differences")
    print("#   are the machine's noise, not tcc's)")
    print("# numpy/tcc = NumPy's time (fastest NumPy form) / tcc's fastest time: > 1 means tcc is faster")
    print("# check: each formulation vs NumPy's float64 result, |err| <= %g * sum|terms|%s"
          % (args.tol, "" if args.check else " (disabled)"))
    sys.stdout.flush()

    results = []
    failures = []
    rng = np.random.default_rng(args.seed)
    for g in sel:
        gdir = os.path.join(workdir, g.name)
        os.makedirs(gdir, exist_ok=True)
        arrays = {n: rng.uniform(-1.0, 1.0, size=s).astype(np.float32) for n, s in g.inputs.items()}
        for n, fn in g.derived.items():
            arrays[n] = np.ascontiguousarray(fn(arrays), dtype=np.float32)
        shapes = {n: list(a.shape) for n, a in arrays.items()}
        for n, a in arrays.items():
            np.save(os.path.join(gdir, n + ".npy"), a)
        spec, refnames = g.ref
        ref = np.einsum(spec, *[arrays[n].astype(np.float64) for n in refnames], optimize=True)
        refabs = np.einsum(spec, *[np.abs(arrays[n].astype(np.float64)) for n in refnames], optimize=True)

        print("\n## %s: %s%s" % (g.name, g.title, ("  (%s)" % g.note) if g.note else ""))
        print("   nominal %.4g GFLOP" % (g.flops / 1e9))
        print(ROW % ("form", "median_us", "GFLOP/s", "x fastest", "runs", "check", "code", "formulation"))
        sys.stdout.flush()
        gres = {"group": g.name, "title": g.title, "note": g.note, "nominal_flops": g.flops, "forms": [],
                "numpy": []}
        for f in g.forms:
            r = {"form": f.fid, "label": f.label, "status": None, "median_us": None, "check": None}
            text, used = tc_text(g, f, shapes)
            path = os.path.join(gdir, f.fid + ".tc")
            with open(path, "w") as fh:
                fh.write(text)
            r["tc"] = text
            if args.skip_slow and f.slow:
                r["status"] = "skipped"
                gres["forms"].append(r)
                continue
            if sys.stderr.isatty():
                sys.stderr.write("\r\033[K   ... %s/%s" % (g.name, f.fid))
                sys.stderr.flush()
            # One run first: the check, and how long one call takes (slow formulations get fewer calls).
            odir = os.path.join(gdir, "out_" + f.fid)
            cmd = [args.tcc, "run", path, "--threads", "1", "-o", odir]
            if args.check:
                for n in used:
                    cmd += ["-i", "%s=%s" % (n, os.path.join(gdir, n + ".npy"))]
            st, out, err, secs = run_tool(cmd, args.timeout)
            if st != "ok":
                r["status"] = st
                r["error"] = (err or out).strip()[-2000:]
                gres["forms"].append(r)
                if st == "error":
                    failures.append("%s/%s: tcc run failed: %s" % (g.name, f.fid, r["error"].splitlines()[:3]))
                continue
            m = re.search(r"run_ms=([0-9.eE+-]+)", out)
            run_ms = float(m.group(1)) if m else secs * 1e3
            r["probe_run_ms"] = run_ms
            r["code"] = code_fingerprint(args, path)
            if args.check:
                try:
                    got = np.load(os.path.join(odir, OUT + ".npy"))
                    exp, expabs = (f.expect(ref), f.expect(refabs)) if f.expect else (ref, refabs)
                    ok, msg = compare(got, exp, expabs, args.tol)
                except Exception as e:  # noqa: BLE001 (a missing or unreadable output is a failure)
                    ok, msg = False, "cannot read output: %s" % e
                r["check"] = "ok" if ok else "FAIL"
                r["check_msg"] = msg
                if not ok:
                    failures.append("%s/%s: WRONG RESULT (%s)\n%s" % (g.name, f.fid, msg, text))
            r["path"] = path
            r["run_ms"] = run_ms
            gres["forms"].append(r)

        # NumPy
        for lbl, fn in g.numpy:
            nr = {"label": lbl}
            res = fn(arrays)
            ok, msg = compare(np.asarray(res), ref, refabs, args.tol)
            if not ok:  # the harness's own NumPy form is wrong: a bug here, not in tcc
                failures.append("%s: NumPy form %s disagrees with the reference: %s" % (g.name, lbl, msg))
            nr["fn"] = fn
            gres["numpy"].append(nr)

        # Timing: --rounds rounds, each timing every formulation and NumPy form once, in turn, so
        # a slow spell of the machine (a shared VM) falls on all of them; a form's time is the best
        # of its rounds' medians.
        for _round in range(args.rounds):
            for r in gres["forms"]:
                if r["status"] is None:
                    time_form(args, g, r, repeat, failures)
            for nr in gres["numpy"]:
                med, n = time_call(lambda: nr["fn"](arrays), np_budget, np_min)
                keep_best(nr, med * 1e6, n)
        for r in gres["forms"]:
            r.pop("path", None)
            if r["status"] is None:
                r["status"] = "ok"
        for nr in gres["numpy"]:
            nr.pop("fn", None)

        if sys.stderr.isatty():
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()
        # Print the group
        done = [r for r in gres["forms"] if r["median_us"] is not None]
        fastest = min(done, key=lambda r: r["median_us"]) if done else None
        slowest = max(done, key=lambda r: r["median_us"]) if done else None
        code_best = code_classes(gres["forms"])
        for r in gres["forms"]:
            us = r["median_us"]
            if us is None:
                shown = r["status"]
                gf = xf = runs = "-"
            else:
                shown = fmt_us(us)
                gf = "%.2f" % (g.flops / us / 1e3) if us > 0 else "-"
                xf = fmt_ratio(us / fastest["median_us"]) if fastest["median_us"] > 0 else "-"
                runs = str(r.get("runs", "-"))
            chk = r["check"] or "-"
            print(ROW % (r["form"], shown, gf, xf, runs, chk, r.get("code_label", "-"), r["label"]))
            if r["check"] == "FAIL":
                print("   !!! %s/%s: WRONG RESULT: %s" % (g.name, r["form"], r["check_msg"]))
            if r["status"] == "error":
                print("   !!! %s/%s: %s" % (g.name, r["form"], (r.get("error") or "").splitlines()[:4]))
        npbest = min(gres["numpy"], key=lambda r: r["median_us"]) if gres["numpy"] else None
        for nr in gres["numpy"]:
            us = nr["median_us"]
            xf = fmt_ratio(us / fastest["median_us"]) if fastest and fastest["median_us"] > 0 else "-"
            print(ROW % ("numpy", fmt_us(us), "%.2f" % (g.flops / us / 1e3), xf, nr["runs"], "", "", nr["label"]))
        missing = [r for r in gres["forms"] if r["median_us"] is None and r["status"] != "skipped"]
        skipped = [r for r in gres["forms"] if r["status"] == "skipped"]
        s = {"forms": len(g.forms), "measured": len(done)}
        if fastest:
            s.update(fastest=fastest["form"], fastest_us=fastest["median_us"], slowest=slowest["form"],
                     slowest_us=slowest["median_us"],
                     slowest_over_fastest=slowest["median_us"] / fastest["median_us"] if fastest["median_us"] else None)
            if len(code_best) >= 1 and min(code_best.values()) > 0:
                s["codes"] = len(code_best)
                s["slowest_over_fastest_by_code"] = max(code_best.values()) / min(code_best.values())
        if npbest:
            s.update(numpy=npbest["label"], numpy_us=npbest["median_us"])
            if fastest and fastest["median_us"] > 0:
                s["numpy_over_tcc_fastest"] = npbest["median_us"] / fastest["median_us"]
                s["numpy_over_tcc_slowest"] = npbest["median_us"] / slowest["median_us"]
        s["not_measured"] = ["%s (%s)" % (r["form"], r["status"]) for r in missing]
        s["skipped"] = [r["form"] for r in skipped]
        s["check"] = ("FAIL" if any(r["check"] == "FAIL" for r in gres["forms"]) else
                      "ok" if any(r["check"] == "ok" for r in gres["forms"]) else "-")
        gres["summary"] = s
        results.append(gres)
        line = "summary %s:" % g.name
        if fastest:
            line += " tcc fastest %s %s, slowest %s %s, slowest/fastest %s" % (
                fastest["form"], fmt_t(fastest["median_us"]), slowest["form"], fmt_t(slowest["median_us"]),
                fmt_ratio(s["slowest_over_fastest"]))
            if "codes" in s:
                line += " (%d distinct codes; by code %s)" % (s["codes"], fmt_ratio(s["slowest_over_fastest_by_code"]))
        else:
            line += " no tcc formulation measured"
        if "numpy_over_tcc_fastest" in s:
            line += "; numpy %s, numpy/tcc fastest %s" % (fmt_t(s["numpy_us"]),
                                                            fmt_ratio(s["numpy_over_tcc_fastest"]))
        if missing:
            line += "; not measured: " + ", ".join(s["not_measured"])
        if skipped:
            line += "; skipped: " + ", ".join(s["skipped"])
        line += "; check %s" % s["check"]
        print("   " + line)
        sys.stdout.flush()

    elapsed = time.monotonic() - t_start
    # Overall table
    hdr = ["group", "forms", "tcc fastest (us)", "tcc slowest (us)", "slowest/fastest", "by code", "NumPy (us)",
           "NumPy/tcc fastest", "NumPy/tcc slowest", "check"]
    rows = []
    for gres in results:
        s = gres["summary"]
        extra = ""
        if s["not_measured"]:
            extra = " +" + ", ".join(s["not_measured"])
        rows.append([
            gres["group"],
            "%d/%d" % (s["measured"], s["forms"]),
            ("%s %s" % (fmt_us(s["fastest_us"]), s["fastest"])) if "fastest" in s else "-",
            ("%s %s" % (fmt_us(s["slowest_us"]), s["slowest"])) if "slowest" in s else "-",
            fmt_ratio(s.get("slowest_over_fastest")) + extra,
            fmt_ratio(s.get("slowest_over_fastest_by_code")),
            fmt_us(s.get("numpy_us")),
            fmt_ratio(s.get("numpy_over_tcc_fastest")),
            fmt_ratio(s.get("numpy_over_tcc_slowest")),
            s["check"],
        ])
    print("\n# summary (NumPy/tcc > 1: tcc faster; slowest/fastest 1.0: no cliff)  %.0f s" % elapsed)
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(hdr)]
    print("  ".join(h.ljust(w) for h, w in zip(hdr, widths)))
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)))
    if args.markdown:
        print()
        print("| " + " | ".join(hdr) + " |")
        print("|" + "|".join(["---"] * 2 + ["---:"] * (len(hdr) - 3) + ["---"]) + "|")
        for r in rows:
            print("| " + " | ".join(c.replace("|", "\\|") for c in r) + " |")

    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"tcc": args.tcc, "tcc_version": ver, "numpy": np.__version__, "blas": openblas_info(),
                       "quick": args.quick, "repeat": repeat, "rounds": args.rounds, "tol": args.tol, "elapsed_s": elapsed,
                       "groups": results}, fh, indent=1)

    if failures:
        print("\n" + "!" * 78)
        print("FAILED: %d problem(s)" % len(failures))
        for msg in failures:
            print("  " + msg.replace("\n", "\n    "))
        print("!" * 78)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
