#!/usr/bin/env bash
# Installs the Debian packages tcc needs (only those missing), then configures and builds
# everything into build/. Safe to run again: it only does what is left to do.
set -euo pipefail
cd "$(dirname "$0")/.."

# pkg-config: the install test (tests/package). python3-dev, pybind11-dev, python3-pytest: the
# Python module tcc (python/) and its tests; python3-dask, python3-distributed: tcc.dask.
packages=(cmake ninja-build g++ llvm-19-dev llvm-19-tools zlib1g-dev libzstd-dev libfmt-dev libgtest-dev libbenchmark-dev
          python3-numpy pkg-config python3-dev pybind11-dev python3-pytest python3-dask python3-distributed)
bash tools/apt_install_missing.sh "${packages[@]}"

# The benchmark's baseline libraries (OpenBLAS, BLIS, Eigen, LIBXSMM, oneDNN): CI builds
# tcc_bench and runs its smoke pass. TCC_BENCH=off skips them.
bench=ON
if [ "${TCC_BENCH:-on}" = off ]; then
  bench=OFF
else
  bash bench/install_deps.sh >/dev/null
fi

cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE="${TCC_BUILD_TYPE:-Release}" -DTCC_BUILD_BENCH=$bench >/dev/null
cmake --build build -j"$(nproc)"
