#!/bin/sh
# Makes libtcc.a: tcc's static libraries and what they use of LLVM's, linked into one
# relocatable object whose only strong global symbols are tcc's API (tcc::..., tcc_...), as
# libtcc.so exports. Weak symbols (inline functions and template instances, in COMDAT groups)
# stay global, so that the linker merges them with a program's own copies of the same ones.
#   static_archive.sh OUT.a LLVM_CONFIG "LLVM COMPONENTS" ARCHIVE...
set -eu
out="$1" llvm_config="$2" components="$3"
shift 3
work="$out.parts"
rm -rf "$work" "$out"
mkdir -p "$work"
# shellcheck disable=SC2086  # the components and library files are lists
ld -r -o "$work/all.o" --whole-archive "$@" --no-whole-archive \
  --start-group $("$llvm_config" --link-static --libfiles $components) --end-group
nm -g --defined-only "$work/all.o" \
  | awk '$2 ~ /^[WVu]$/ || $3 ~ /^(_ZN3tcc|_ZNK3tcc|_ZTIN3tcc|_ZTSN3tcc|_ZTVN3tcc|tcc_)/ { print $3 }' > "$work/keep"
objcopy --strip-debug --keep-global-symbols="$work/keep" "$work/all.o" "$work/libtcc.o"
ar rcsD "$out.tmp" "$work/libtcc.o"
mv "$out.tmp" "$out"
rm -rf "$work"
