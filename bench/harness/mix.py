"""The system-call mix of a workload, split by how tandem treats each call.

tandem's cost is paid per *intercepted* call (a ptrace stop and a rendezvous of the versions);
calls of class LOCAL run natively behind the seccomp filter. Counting a workload's calls with
`strace -f -c` and classifying them with the syscall model (src/syscalls/syscalls.py, the one
description of every call) tells how many stops a run costs and which calls they are.

Caveat: calls that natively go through the vDSO (clock_gettime, gettimeofday, time, getcpu)
never reach strace, yet tandem hides the vDSO so they become intercepted calls: the count of
intercepted calls is a lower bound for programs that read the clock often.
"""
import os
import re
import signal
import subprocess
import sys
import tempfile
import time


def load_model(repo):
    sys.path.insert(0, os.path.join(repo, "src", "syscalls"))
    try:
        import syscalls as model  # the data file itself: nothing here restates it
    finally:
        sys.path.pop(0)
    return {s.name: s for s in model.SYSCALLS}


def parse_strace_summary(text):
    """{syscall: calls} from `strace -c` output."""
    calls = {}
    for line in text.splitlines():
        f = line.split()
        if len(f) >= 5 and re.match(r"^[0-9.]+$", f[0]) and f[-1] != "total":
            calls[f[-1]] = calls.get(f[-1], 0) + int(f[3])
    return calls


def count(cmd=None, pid=None, seconds=None, timeout=600):
    """Runs cmd under strace -f -c (or attaches to pid for seconds); returns {syscall: calls}."""
    with tempfile.NamedTemporaryFile("r", suffix=".strace") as out:
        base = ["strace", "-f", "-c", "-o", out.name]
        if pid:
            p = subprocess.Popen(base + ["-p", str(pid)], stderr=subprocess.DEVNULL)
            time.sleep(seconds)
            p.send_signal(signal.SIGINT)  # detach: strace then writes its summary
            p.wait(timeout=30)
        else:
            subprocess.run(base + ["--"] + cmd, timeout=timeout, stdout=subprocess.DEVNULL)
        return parse_strace_summary(out.read())


def classify(calls, model):
    rows = []
    for name, n in sorted(calls.items(), key=lambda kv: -kv[1]):
        s = model.get(name)
        cls = s.cls[1:].lower() if s else "unknown"
        if s and s.cls == "kLocal" and s.trap:
            cls += " (traps for some arguments)"
        rows.append((name, n, cls))
    return rows


def report(rows, per=1, per_label=None):
    intercepted = sum(n for _, n, c in rows if not c.startswith("local"))
    total = sum(n for _, n, _ in rows)
    lines = [f"{'syscall':<20} {'calls':>10} {'per ' + per_label if per_label else '':>12}  class"]
    for name, n, cls in rows:
        lines.append(f"{name:<20} {n:>10} {n / per:>12.2f}  {cls}" if per_label else
                     f"{name:<20} {n:>10} {'':>12}  {cls}")
    lines.append(f"total {total} calls, {intercepted} intercepted by tandem"
                 + (f" ({intercepted / per:.2f} per {per_label})" if per_label else ""))
    return "\n".join(lines)
