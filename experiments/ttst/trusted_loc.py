#!/usr/bin/env python3
"""Lines of code of the trusted part of a validated live update vs the rest (the seed's Table 4).

Trusted (the reliable computing base) is what the old process - the past, the oracle - runs or
relies on during an update: the update timing (update points, quiescence, the control socket,
the old side of an update), the heap registry behind malloc (metadata that must be right for the
old process to go on), and the TTST control: the transaction's control, timeout and crash
detection, and the memory comparison (runtime/ttst.c). Everything else - the state-transfer
framework (src/update, run by the tool), the new version's side of the runtime, the command -
may fail arbitrarily: the validation catches its errors.

Counts non-blank lines that are not only comments. Files of the runtime that mix both parts are
split at their section markers ("/* ---- the new side ---- */").

Usage: trusted_loc.py [--root .] [--markdown]
"""
import argparse
import glob
import os
import re


def code_lines(text):
    text = re.sub(r"/\*.*?\*/", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S)
    n = 0
    for line in text.splitlines():
        line = re.sub(r"//.*", "", line).strip()
        if line:
            n += 1
    return n


def sections(path):
    """{section title: text} of a runtime file split at its '/* ---- title ---- */' markers."""
    out, title, buf = {}, "", []
    with open(path) as f:
        for line in f:
            m = re.match(r"/\* ---- (.*) ---- \*/", line)
            if m:
                out[title] = out.get(title, "") + "".join(buf)
                title, buf = m.group(1), []
            buf.append(line)
    out[title] = out.get(title, "") + "".join(buf)
    return out


def read(path):
    with open(path) as f:
        return f.read()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default=os.path.join(os.path.dirname(__file__), "..", ".."))
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()
    r = lambda *p: os.path.join(args.root, *p)  # noqa: E731
    rows = []  # (component, trusted, other)

    alloc = code_lines(read(r("runtime", "alloc.c")))
    rows.append(("Heap registry (runtime/alloc.c)", alloc, 0))

    upd = sections(r("runtime", "update.c"))
    new_side = code_lines(upd.get("the new side", ""))
    timing = sum(code_lines(t) for k, t in upd.items() if k != "the new side")
    timing += code_lines(read(r("runtime", "control.c"))) + code_lines(read(r("runtime", "internal.h")))
    timing += code_lines(read(r("runtime", "live_abi.h")))
    rows.append(("Live update library (runtime: update timing, control socket / new side)",
                 timing, new_side))

    ttst = code_lines(read(r("runtime", "ttst.c"))) + code_lines(read(r("runtime", "sys.h")))
    rows.append(("TTST control: transaction, timeout, crash detection, diff (runtime/ttst.c)",
                 ttst, 0))

    framework = sum(code_lines(read(p)) for p in
                    glob.glob(r("src", "update", "**", "*.cc"), recursive=True) +
                    glob.glob(r("src", "update", "**", "*.h"), recursive=True))
    rows.append(("State-transfer framework (src/update, in the tool)", 0, framework))
    tool = code_lines(read(r("tools", "update.cc")))
    rows.append(("The command (tools/update.cc)", 0, tool))

    total_t = sum(t for _, t, _ in rows)
    total_o = sum(o for _, _, o in rows)
    if args.markdown:
        print("| component | trusted LOC | other LOC |\n|---|---:|---:|")
        for name, t, o in rows:
            print(f"| {name} | {t:,} | {o:,} |")
        print(f"| **total** | **{total_t:,}** | **{total_o:,}** |")
    else:
        width = max(len(n) for n, _, _ in rows)
        print(f"{'component':<{width}}  {'trusted':>8}  {'other':>8}")
        for name, t, o in rows:
            print(f"{name:<{width}}  {t:>8,}  {o:>8,}")
        print(f"{'total':<{width}}  {total_t:>8,}  {total_o:>8,}")


if __name__ == "__main__":
    main()
