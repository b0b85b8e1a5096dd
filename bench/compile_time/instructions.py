#!/usr/bin/env python3
"""Instructions a cold compile costs, counted by valgrind's callgrind: deterministic, so it
resolves compile-time changes of a few percent that this shared VM's wall clock cannot.

For each FILE.tc: `tcc emit FILE --stage asm --threads 1` with the disk cache off (every kernel
through the JIT's lowering, optimisation pipeline and code generation; nothing runs), minus the
same for a one-kernel file (process start, LLVM's set-up). With --passes N, also the N most
expensive LLVM passes of FILE's run, by instructions spent inside each (callers include callees).

  bench/compile_time/instructions.py [--tcc PATH] [--passes N] FILE.tc...
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Names of pass entry points in callgrind_annotate's output: new pass manager passes, then the
# legacy code generation passes (machine-function, function and loop passes).
PASS_PATTERNS = [
    re.compile(r"PassModel<llvm::\w+, (?:llvm::)?(\w+Pass)\b"),
    re.compile(r"\?\?\?:(?:\(anonymous namespace\)::)?(?:llvm::)?(\w+)::runOnMachineFunction\(llvm::MachineFunction&\)"),
    re.compile(r"\?\?\?:(?:\(anonymous namespace\)::)?(?:llvm::)?(\w+)::runOnFunction\(llvm::Function&\)"),
    re.compile(r"\?\?\?:(?:\(anonymous namespace\)::)?(?:llvm::)?(\w+)::runOnLoop\(llvm::Loop\*, llvm::LPPassManager&\)"),
]
# Pass managers and wrappers (O3's inliner drives the function simplification passes), whose
# inclusive cost is other passes'.
NOT_PASSES = {"FPPassManager", "MachineFunctionPass", "LPPassManager", "SelectionDAGISelLegacy",
              "X86DAGToDAGISel", "ModuleToFunctionPassAdaptor", "FunctionToLoopPassAdaptor",
              "ModuleInlinerWrapperPass"}


def run(tcc, tc_file, work, env):
    out = os.path.join(work, "callgrind.out")
    cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", tcc, "emit", tc_file,
           "--stage", "asm", "--threads", "1"]
    p = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        sys.exit(f"instructions.py: {' '.join(cmd)} failed:\n{p.stderr}")
    total = int(re.search(r"Collected : (\d+)", p.stderr).group(1))
    return total, out


def passes(callgrind_out, top):
    text = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100", callgrind_out],
                          capture_output=True, text=True, check=True).stdout
    cost = {}
    for line in text.splitlines():
        m = re.match(r"\s*([\d,]+) \(", line)
        if not m:
            continue
        for pattern in PASS_PATTERNS:
            p = pattern.search(line)
            if p and p.group(1) not in NOT_PASSES:
                cost[p.group(1)] = max(cost.get(p.group(1), 0), int(m.group(1).replace(",", "")))
                break
    return sorted(cost.items(), key=lambda kv: -kv[1])[:top]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tcc", default=os.path.join(ROOT, "build", "bin", "tcc"))
    ap.add_argument("--passes", type=int, default=0, metavar="N")
    ap.add_argument("files", nargs="+")
    args = ap.parse_args()
    for tool in ["valgrind"] + (["callgrind_annotate"] if args.passes else []):
        if not shutil.which(tool):
            sys.exit(f"instructions.py: needs {tool} (apt-get install valgrind)")
    env = dict(os.environ, TCC_CACHE="off")
    with tempfile.TemporaryDirectory() as work:
        base_tc = os.path.join(work, "base.tc")
        with open(base_tc, "w") as f:
            f.write("input a: f32[2, 2]\nb = transpose(a)\noutput b\n")
        base, _ = run(args.tcc, base_tc, work, env)
        print(f"{'file':40s} {'Minstructions':>14s}")
        for tc_file in args.files:
            total, out = run(args.tcc, tc_file, work, env)
            print(f"{os.path.basename(tc_file):40s} {(total - base) / 1e6:14.1f}")
            for name, n in passes(out, args.passes) if args.passes else []:
                print(f"    {n / 1e6:8.1f}  {name}")


if __name__ == "__main__":
    main()
