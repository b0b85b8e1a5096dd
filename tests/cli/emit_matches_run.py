"""`tcc emit --stage loops` prints exactly the kernels `tcc run` compiles (one compile path).

For every .tc file given (or found in a folder) and each thread count, compares the loop
nests `emit` prints with those `run` dumps while compiling them (TCC_DEBUG=2, no disk cache):
the same kernel names (a hash of descriptor and schedule) with the same loop IR.
Usage: emit_matches_run.py TCC FILE_OR_DIR... ; exit 1 on any difference.
"""
import os
import pathlib
import re
import subprocess
import sys

KERNEL = re.compile(r"^kernel (tcc_[0-9a-f]+)\(.*?^}$", re.M | re.S)


def kernels(text):
    return {m.group(1): m.group(0) for m in KERNEL.finditer(text)}


def main():
    tcc, paths = sys.argv[1], sys.argv[2:]
    files = []
    for p in map(pathlib.Path, paths):
        files += sorted(p.glob("*.tc")) if p.is_dir() else [p]
    env = dict(os.environ, TCC_CACHE="off", TCC_DEBUG="2")
    failures = compared = 0
    for f in files:
        for threads in ("1", "2"):
            emitted = subprocess.run([tcc, "emit", str(f), "--stage", "loops", "--threads", threads],
                                     capture_output=True, text=True, check=True).stdout
            ran = subprocess.run([tcc, "run", str(f), "--threads", threads], capture_output=True, text=True,
                                 env=env, check=True).stderr
            want, got = kernels(emitted), kernels(ran)
            compared += 1
            if not want:
                print(f"{f.name} --threads {threads}: emit printed no kernel")
                failures += 1
            elif want != got:
                print(f"{f.name} --threads {threads}: emit printed {sorted(want)}, run compiled {sorted(got)}")
                for name in sorted(set(want) & set(got)):
                    if want[name] != got[name]:
                        print(f"  {name} differs")
                failures += 1
            else:
                print(f"{f.name} --threads {threads}: {len(want)} kernels equal")
    print(f"{compared - failures} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
