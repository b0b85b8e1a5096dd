"""compare_npy.py DIR_A DIR_B NAME[=OTHER]...: each DIR_A/NAME.npy equals DIR_B/OTHER.npy
(floats to a relative tolerance of 1e-5, integers exactly). Exit 1 with the reason otherwise."""
import sys
import numpy as np

a_dir, b_dir, names = sys.argv[1], sys.argv[2], sys.argv[3:]
for spec in names:
    name, _, other = spec.partition("=")
    a = np.load(f"{a_dir}/{name}.npy")
    b = np.load(f"{b_dir}/{other or name}.npy")
    if a.dtype != b.dtype or a.shape != b.shape:
        sys.exit(f"{name}: {a.dtype}{a.shape} vs {b.dtype}{b.shape}")
    same = np.array_equal(a, b) if a.dtype.kind == "i" else np.allclose(a, b, rtol=1e-5, atol=1e-6)
    if not same:
        sys.exit(f"{name}: values differ, max abs diff {np.max(np.abs(a.astype(np.float64) - b))}")
    print(f"{name}: {a.dtype}{a.shape} equal")
