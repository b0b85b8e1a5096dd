#!/bin/sh
# Installs tcc into a fresh prefix, then builds examples/ as an outside project against it with
# find_package(tcc) and with pkg-config (and the C API's test program, in C), and runs them all
# on libtcc.so; then the same on libtcc.a, when installed. Also checks that libtcc.so exports
# nothing but tcc's API, and that libtcc.a defines no other strong global symbol.
#   install_test.sh BUILD_DIR SOURCE_DIR WORK_DIR
set -eu
build="$1" src="$2" work="$3"
rm -rf "$work"
mkdir -p "$work"
cmake --install "$build" --prefix "$work/prefix" > "$work/install.log"
libdir=$(dirname "$(find "$work/prefix" -name 'libtcc.so' | head -n 1)")
test -f "$work/prefix/include/tcc/tcc.h" && test -f "$work/prefix/include/tcc/tcc_c.h" && test -f "$work/prefix/include/tcc/version.h"
test -x "$work/prefix/bin/tcc"
# Only tcc's symbols are exported (tcc::..., tcc_...): LLVM, fmt and libstdc++ instances stay inside.
nm -D --defined-only -C "$libdir/libtcc.so" | awk '{ $1 = ""; $2 = ""; print }' | sed 's/^ *//' \
  | grep -v -E '^(tcc::|tcc_|typeinfo for tcc::|typeinfo name for tcc::|vtable for tcc::)' > "$work/foreign_exports" || true
if [ -s "$work/foreign_exports" ]; then
  echo "libtcc.so exports symbols that are not tcc's:" >&2
  head -n 20 "$work/foreign_exports" >&2
  exit 1
fi
# find_package(tcc 0.2 CONFIG REQUIRED), target tcc::tcc
cmake -S "$src/examples" -B "$work/find_package" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$work/prefix" > "$work/configure.log"
cmake --build "$work/find_package" > "$work/build.log"
TCC_CACHE=off "$work/find_package/api_example" > "$work/find_package.out"
# pkg-config, C++ and C
export PKG_CONFIG_PATH="$libdir/pkgconfig"
c++ -std=c++20 -O1 "$src/examples/api_example.cpp" $(pkg-config --cflags --libs tcc) -o "$work/api_example_pc"
TCC_CACHE=off "$work/api_example_pc" > "$work/pkg_config.out"
cc -std=c11 -O1 "$src/tests/capi/capi_test.c" $(pkg-config --cflags --libs tcc) -lm -o "$work/capi_test_pc"
TCC_CACHE=off "$work/capi_test_pc"
cmp "$work/find_package.out" "$work/pkg_config.out"
# The example links nothing of LLVM or fmt itself: libtcc.so holds them.
if ldd "$work/find_package/api_example" | grep -q -E 'LLVM|libfmt'; then echo "the example links LLVM or fmt" >&2; exit 1; fi
# libtcc.a: tcc's API is its only strong global symbols; LLVM's are local, so that a program
# may define a function of LLVM's name (or link another LLVM) without a clash.
static="$libdir/libtcc.a"
if [ -f "$static" ]; then
  nm -g --defined-only "$static" | awk 'NF == 3 && $2 !~ /^[WVuw]$/ { print $3 }' \
    | grep -v -E '^(_ZN3tcc|_ZNK3tcc|_ZT[ISV]N3tcc|tcc_)' > "$work/foreign_static" || true
  if [ -s "$work/foreign_static" ]; then
    echo "libtcc.a defines strong global symbols that are not tcc's:" >&2
    head -n 20 "$work/foreign_static" >&2
    exit 1
  fi
  cmake -S "$src/examples" -B "$work/find_package_static" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_PREFIX_PATH="$work/prefix" -DTCC_EXAMPLES_STATIC=ON > "$work/configure_static.log"
  cmake --build "$work/find_package_static" > "$work/build_static.log"
  TCC_CACHE=off "$work/find_package_static/api_example" > "$work/find_package_static.out"
  cmp "$work/find_package.out" "$work/find_package_static.out"
  if ldd "$work/find_package_static/api_example" | grep -q 'libtcc'; then echo "the static example links libtcc.so" >&2; exit 1; fi
  printf 'void LLVMInitializeX86Target(void) {}\n' > "$work/same_name_as_llvm.c"
  cc -c "$work/same_name_as_llvm.c" -o "$work/same_name_as_llvm.o"
  cc -std=c11 -O1 "$src/tests/capi/capi_test.c" "$work/same_name_as_llvm.o" $(pkg-config --cflags --libs tcc-static) \
    -Wl,--gc-sections -o "$work/capi_test_static"
  TCC_CACHE=off "$work/capi_test_static"
  echo "libtcc.a: built outside (find_package, pkg-config from C) and ran: ok"
fi
echo "installed, built outside (find_package, pkg-config, C) and ran: ok"
