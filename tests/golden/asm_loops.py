"""asm_loops.py: reads assembly on stdin and prints one line per loop that contains an FMA:
   loop LABEL fma=N vector_registers=ZMM/YMM stack=S
where stack counts instructions that touch the stack (%rsp/%rbp), i.e. spills and reloads.
A loop is the code from a label to a later jump back to it."""
import re
import sys

lines = [l.split("#")[0].rstrip() for l in sys.stdin]
labels = {}
for i, l in enumerate(lines):
    m = re.match(r"^(\.?[A-Za-z0-9_.$]+):", l)
    if m:
        labels[m.group(1)] = i
for i, l in enumerate(lines):
    m = re.match(r"^\s+j[a-z]+\s+(\.?[A-Za-z0-9_.$]+)$", l)
    if not m or m.group(1) not in labels or labels[m.group(1)] > i:
        continue
    body = lines[labels[m.group(1)] + 1 : i + 1]
    fma = sum(1 for b in body if re.search(r"\bv?fn?madd", b))
    if fma == 0:
        continue
    stack = sum(1 for b in body if re.search(r"%(rsp|rbp)\)", b))
    width = "zmm" if any("zmm" in b for b in body) else "ymm" if any("ymm" in b for b in body) else "xmm"
    print(f"loop {m.group(1)} fma={fma} width={width} stack={stack}")
