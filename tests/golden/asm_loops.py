"""asm_loops.py: reads assembly on stdin and prints one line per innermost loop that contains
an FMA (the micro-kernels' k loops):
   loop LABEL fma=N width=zmm|ymm|xmm stack=S
where stack counts instructions that touch the stack (%rsp/%rbp), i.e. spills and reloads.
A loop is the code from a label to a later jump back to it; innermost: no other loop inside."""
import re
import sys

lines = [l.split("#")[0].rstrip() for l in sys.stdin]
# Every definition of each label, and which function each line is in: one file holds several
# kernels, whose local (.L) labels repeat.
labels = {}
function_of = []
function = 0
for i, l in enumerate(lines):
    m = re.match(r"^(\.?[A-Za-z0-9_.$]+):", l)
    if m:
        labels.setdefault(m.group(1), []).append(i)
        if not m.group(1).startswith("."):
            function += 1
    function_of.append(function)
loops = []
for i, l in enumerate(lines):
    m = re.match(r"^\s+j[a-z]+\s+(\.?[A-Za-z0-9_.$]+)$", l)
    if m:
        # a backward jump: to a definition above, in the same function
        before = [d for d in labels.get(m.group(1), []) if d <= i and function_of[d] == function_of[i]]
        if before:
            loops.append((before[-1], i, m.group(1)))
for start, end, label in loops:
    if any(start <= s2 and e2 <= end and (s2, e2) != (start, end) for s2, e2, _ in loops):
        continue  # not innermost
    body = lines[start + 1 : end + 1]
    fma = sum(1 for b in body if re.search(r"\bv?fn?madd", b))
    if fma == 0:
        continue
    stack = sum(1 for b in body if re.search(r"%(rsp|rbp)\)", b))
    width = "zmm" if any("zmm" in b for b in body) else "ymm" if any("ymm" in b for b in body) else "xmm"
    print(f"loop {label} fma={fma} width={width} stack={stack}")
