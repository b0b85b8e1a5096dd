#!/usr/bin/env bash
# The sanitizer stages of CI (.ci/run), runnable by hand:
#   tools/sanitize.sh [asan] [tsan]      (default: both)
# asan: clang-19 build with AddressSanitizer + UndefinedBehaviorSanitizer (and libFuzzer's
#       coverage, so the fuzz targets of fuzz/ come out of the same build) into build-asan/,
#       then the whole test suite under it.
# tsan: clang-19 build with ThreadSanitizer into build-tsan/ (tcc_tests only), then the
#       thread-pool, kernel-cache and concurrent compile/run tests under it.
# Any sanitizer report fails the test that made it (halt_on_error), and so the stage.
set -euo pipefail
cd "$(dirname "$0")/.."
stages=("$@")
[ ${#stages[@]} -gt 0 ] || stages=(asan tsan)

# clang-19 and its runtimes (sanitizers, libFuzzer); llvm-19 has llvm-symbolizer-19.
packages=(clang-19 libclang-rt-19-dev llvm-19)
bash tools/apt_install_missing.sh "${packages[@]}"

export ASAN_SYMBOLIZER_PATH=/usr/bin/llvm-symbolizer-19
export TSAN_SYMBOLIZER_PATH=/usr/bin/llvm-symbolizer-19
export ASAN_OPTIONS="${ASAN_OPTIONS:-halt_on_error=1:detect_leaks=1:strict_string_checks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"
export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}"

configure() {  # DIR SANITIZERS [more cmake args]
  local dir="$1" san="$2"
  shift 2
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_COMPILER=clang-19 \
    -DCMAKE_CXX_COMPILER=clang++-19 -DTCC_SANITIZE="$san" -DTCC_BUILD_BENCH=OFF "$@" >/dev/null
}

for stage in "${stages[@]}"; do
  case "$stage" in
    asan)
      echo "sanitize: AddressSanitizer + UndefinedBehaviorSanitizer, whole test suite (build-asan)"
      configure build-asan address,undefined -DTCC_FUZZ=ON
      cmake --build build-asan -j"$(nproc)"
      ctest --test-dir build-asan --output-on-failure -j"$(nproc)" --timeout 900
      ;;
    tsan)
      echo "sanitize: ThreadSanitizer, thread pool, kernel cache, concurrent compile and run (build-tsan)"
      configure build-tsan thread
      cmake --build build-tsan -j"$(nproc)" --target tcc_tests
      mkdir -p build-tsan/test-kernel-cache
      TCC_CACHE_DIR="$PWD/build-tsan/test-kernel-cache" build-tsan/bin/tcc_tests \
        --gtest_filter='ThreadCount.*:Run.*:BoundRun.*:KernelCache.*:Threads*:*Concurren*'
      ;;
    *)
      echo "sanitize: unknown stage '$stage' (asan, tsan)" >&2
      exit 2
      ;;
  esac
done
