#!/usr/bin/env bash
# A/B of two builds of tcc in one process (this VM drifts by several percent between runs, so
# separate processes cannot resolve 1-3% changes). Builds the working tree and REF (default
# HEAD) as position-independent static libraries, each into an ab_kernel shared object, then
# runs ab_driver on one product.
#   bench/ab/ab_builds.sh [-r REF] BATCH M K N F64 TRANSPOSE_B THREADS ROUNDS
#   e.g. bench/ab/ab_builds.sh -r HEAD~1 96 128 64 128 0 1 1 40    # attention Q·Kᵀ, 1 thread
# Output: GFLOP/s medians of REF, then of the working tree, and their ratio.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
ref=HEAD
if [ "${1:-}" = -r ]; then ref="$2"; shift 2; fi
[ $# -eq 8 ] || { sed -n '2,8p' "$0"; exit 2; }
work="${TCC_AB_DIR:-/tmp/tcc_ab}"
mkdir -p "$work"
build_side() {  # SOURCE_TREE OUTPUT.so
  cmake -S "$1" -B "$1/build-ab" -G Ninja -DCMAKE_BUILD_TYPE=Release -DTCC_BUILD_BENCH=OFF \
    -DCMAKE_POSITION_INDEPENDENT_CODE=ON >/dev/null
  cmake --build "$1/build-ab" --target tcc >/dev/null
  local b="$1/build-ab"
  # Every static library of the build, in a group (the folder layout differs between revisions).
  local includes=() libs=()
  for d in "$1"/*/include; do includes+=(-I"$d"); done
  mapfile -t libs < <(find "$b" -name 'libtcc*.a' | sort)
  g++ -O2 -std=c++20 -fPIC -shared -fvisibility=hidden -DFMT_SHARED "${includes[@]}" \
    "$root/bench/ab/ab_kernel.cpp" -o "$2" -Wl,--exclude-libs,ALL \
    -Wl,--start-group "${libs[@]}" -Wl,--end-group \
    -Wl,-rpath,/usr/lib/llvm-19/lib /usr/lib/llvm-19/lib/libLLVM.so.1 -lfmt -lz -pthread
}
rm -rf "$work/ref"
git -C "$root" worktree add -f --detach "$work/ref" "$ref" >/dev/null 2>&1
trap 'git -C "$root" worktree remove --force "$work/ref" >/dev/null 2>&1 || true' EXIT
build_side "$work/ref" "$work/ref.so"
build_side "$root" "$work/work.so"
g++ -O2 -std=c++20 "$root/bench/ab/ab_driver.cpp" -o "$work/ab_driver" -ldl
TCC_CACHE=off "$work/ab_driver" "$@" "$work/ref.so" "$work/work.so"
