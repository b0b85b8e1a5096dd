#!/bin/sh
# A tiny lit: runs every `RUN:` line of FILE through sh after substituting
#   %tcc -> the tcc binary, %FileCheck -> FileCheck, %python -> Debian's python3 (with NumPy),
#   %s -> FILE, %S -> FILE's folder, %t -> a fresh temp path for this file.
# Fails on the first RUN line that exits non-zero.
# Host-dependent tests declare what they need, as in lit:
#   `REQUIRES: f1, f2`     run only if every listed feature is present (several lines: all of them);
#   `UNSUPPORTED: f1, f2`  skip if any listed feature is present.
# Features: the CPU flags of /proc/cpuinfo (avx512f, avx2, fma, ...) and `uname -m` (x86_64).
# A skipped test prints `UNSUPPORTED: FILE: ...` and exits 77 (ctest's SKIP_RETURN_CODE).
set -u
file=$1 tcc=$2 filecheck=$3 tmpdir=$4

# The features listed on FILE's KEYWORD: lines, one per line.
declared() {
  grep -E "^[#/ ]*$1:" "$file" | sed -E "s/^[#/ ]*$1:[ ]?//" | tr ', \t\r' '\n\n\n\n' | grep -v '^$'
}
features=" $(sed -n -E 's/^(flags|Features)[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo 2>/dev/null | head -n 1 | tr -s ' \t' '  ') $(uname -m) "
has() { case "$features" in *" $1 "*) return 0 ;; esac; return 1; }
missing= present=
set -f  # a feature is a word, never a file pattern
for f in $(declared REQUIRES); do has "$f" || missing="$missing${missing:+, }$f"; done
for f in $(declared UNSUPPORTED); do ! has "$f" || present="$present${present:+, }$f"; done
set +f
if [ -n "$missing" ]; then echo "UNSUPPORTED: $file: missing $missing"; exit 77; fi
if [ -n "$present" ]; then echo "UNSUPPORTED: $file: has $present"; exit 77; fi

mkdir -p "$tmpdir"
t="$tmpdir/$(basename "$file").tmp"
rm -rf "$t" "$t".*
dir=$(dirname "$file")
status=0
found=0
grep -E '^[#/ ]*RUN:' "$file" | sed -E 's/^[#/ ]*RUN:[ ]?//' > "$t.runlines"
while IFS= read -r line; do
  found=1
  cmd=$(printf '%s' "$line" | sed -e "s#%tcc#$tcc#g" -e "s#%FileCheck#$filecheck#g" \
        -e "s#%python#/usr/bin/python3#g" -e "s#%s#$file#g" -e "s#%S#$dir#g" -e "s#%t#$t#g")
  echo "RUN: $cmd"
  if ! sh -c "$cmd"; then
    echo "FAILED: $cmd"
    status=1
    break
  fi
done < "$t.runlines"
[ "$found" = 1 ] || { echo "no RUN: line in $file"; exit 1; }
exit $status
