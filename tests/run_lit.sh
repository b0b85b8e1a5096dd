#!/bin/sh
# A tiny lit: runs every `RUN:` line of FILE through sh after substituting
#   %tcc -> the tcc binary, %FileCheck -> FileCheck, %python -> Debian's python3 (with NumPy),
#   %s -> FILE, %S -> FILE's folder, %t -> a fresh temp path for this file.
# Fails on the first RUN line that exits non-zero.
set -u
file=$1 tcc=$2 filecheck=$3 tmpdir=$4
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
