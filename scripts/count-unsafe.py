#!/usr/bin/env python3
"""Counts the `unsafe` keyword in src/ outside the raw layer (src/sys/), in two parts: inside
`extern "C"` functions (the exported ffi functions and nginx callbacks, also those declared by
`ffi_exports!` and `ngx_callbacks!`: the keyword of the signature and the blocks in the body)
and everywhere else, with the files of the second part. Comments do not count.
Usage: python3 scripts/count-unsafe.py [--files]   (from the checkout)
"""
import os
import re
import sys


def count(path):
    """(outside extern "C" bodies, inside them) for one file."""
    other = shim = 0
    depth = 0
    shim_depth = None  # brace depth of the extern "C" body we are in
    pending = False  # an extern "C" signature whose body has not opened yet
    for line in open(path, encoding="utf-8"):
        code = line.split("//")[0]
        n = len(re.findall(r"\bunsafe\b", code))
        if re.search(r'extern\s+"C"\s+fn', code) or "ffi_exports!" in code or "ngx_callbacks!" in code:
            pending = True
        if pending or shim_depth is not None:
            shim += n
        else:
            other += n
        for ch in code:
            if ch == "{":
                depth += 1
                if pending and shim_depth is None:
                    shim_depth, pending = depth, False
            elif ch == "}":
                if shim_depth == depth:
                    shim_depth = None
                depth -= 1
        if pending and ";" in code and "{" not in code:
            pending = False  # a declaration, no body
    return other, shim


def main():
    per_file = {}
    for root, _, files in os.walk("src"):
        if root == "src/sys" or root.startswith("src/sys/"):
            continue
        for f in files:
            if f.endswith(".rs"):
                p = os.path.join(root, f)
                per_file[p] = count(p)
    other = sum(o for o, _ in per_file.values())
    shim = sum(s for _, s in per_file.values())
    print(f"unsafe outside src/sys: {other + shim} ({shim} in extern \"C\" functions, {other} elsewhere)")
    if "--files" in sys.argv:
        for p, (o, _) in sorted(per_file.items(), key=lambda kv: -kv[1][0]):
            if o:
                print(f"{o:5d}  {p}")


main()
