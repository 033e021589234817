#!/usr/bin/env python3
"""Totals of a callgrind output file: instructions, and calls made to each function.

Usage: cgcalls.py CALLGRIND.OUT [FUNC...]
Prints `insns <total>`, then `<func> <calls>` for each FUNC asked for (0 when never called),
or for every called function when none is asked for. Callgrind compresses names as `(id)`,
shared between fn= and cfn= lines; a `calls=N ...` line after a cfn= line counts N calls to it.
"""
import re
import sys
from collections import Counter


def parse(path):
    names, calls, total, cfn = {}, Counter(), 0, None
    name_re = re.compile(r"^c?fn=\((\d+)\)(?: (.*))?$")
    with open(path, errors="replace") as f:
        for line in f:
            if line.startswith(("fn=", "cfn=")):
                m = name_re.match(line.rstrip("\n"))
                if m:
                    if m.group(2) is not None:
                        names[m.group(1)] = m.group(2)
                    name = names.get(m.group(1), m.group(1))
                else:
                    name = line.split("=", 1)[1].rstrip("\n")
                cfn = name if line.startswith("cfn=") else None
            elif line.startswith("calls=") and cfn is not None:
                calls[cfn] += int(line[6:].split()[0])
            elif line.startswith(("summary:", "totals:")):
                total = int(line.split()[1])
    return total, calls


def main():
    total, calls = parse(sys.argv[1])
    print("insns", total)
    wanted = sys.argv[2:] or sorted(calls)
    for name in wanted:
        print(name, calls.get(name, 0))


if __name__ == "__main__":
    main()
