#!/usr/bin/env bash
# Installs the Debian (bookworm) packages the tcc_bench program needs: the baseline GEMM
# libraries' development files and Google Benchmark. Idempotent: only packages that are not
# installed yet are fetched. Run as root.
#
# OpenBLAS and BLIS are taken in their OpenMP builds so that every library in the benchmark
# process shares one thread pool (libgomp); mixing OpenBLAS's pthread pool with OpenMP makes
# spinning worker threads of one library steal the (two) cores from the next one.
set -euo pipefail

packages=(
  pkg-config
  libopenblas-dev libopenblas-openmp-dev libopenblas0-openmp
  libblis-dev libblis-openmp-dev libblis4-openmp
  libeigen3-dev
  libxsmm-dev
  libdnnl-dev
  libbenchmark-dev
)

missing=()
for package in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$package" 2>/dev/null || true)
  [[ "$status" == "installed" ]] || missing+=("$package")
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "bench/install_deps.sh: all packages already installed"
  exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
  echo "bench/install_deps.sh: missing packages: ${missing[*]}; run as root to install them" >&2
  exit 1
fi

echo "bench/install_deps.sh: installing ${missing[*]}"
apt-get update
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
