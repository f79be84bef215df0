"""micro: the cost of one system call of a kind, native vs tandem with 1, 2, 3 versions (and 2, 3
with --lockstep, without early execution) and strace -f (the ptrace baseline a user knows).

bench_syscalls (bench/micro/syscalls.c) times its own loop, so the figure is ns per call without
process start-up. Native and strace run pinned to the first CPU of the harness's affinity, where
tandem puts version 1 and its tracer thread: the comparison then measures interception, not
where the scheduler happened to put the process (a wake-up across vCPUs costs 20-45 us here).
"""
import os
import re
import subprocess

from .common import Config, Failed, measure_rows, describe_failure, run_bounded, tandem_cmd

OPS = ["getppid", "write512", "read512", "openclose", "clock_gettime", "pipe_pingpong"]

# Iterations per run: native loops are ~100x cheaper, so they get more iterations to stay well
# above timer and start-up noise; traced runs are sized to take ~0.2-0.6 s at 3 versions.
NATIVE_N = {"openclose": 50000, "pipe_pingpong": 20000}
TRACED_N = {"openclose": 3000, "pipe_pingpong": 3000}
QUICK_DIVISOR = 10
ROUNDS = 7
TIMEOUT = 120


def _parse(op, out):
    m = re.match(rf"{op} ([0-9.]+)\s*$", out.decode(errors="replace").strip())
    if not m:
        raise Failed(f"unexpected output {out[:80]!r}")
    return float(m.group(1))


def _run(ctx, cmd, op, events=None):
    rc, out, err, _, _ = run_bounded(cmd, TIMEOUT, stdin=subprocess.DEVNULL)
    if rc != 0:
        raise Failed(describe_failure(rc, err, events))
    return _parse(op, out)


def configs_for(ctx, op):
    exe = os.path.join(ctx.build, "bench", "bench_syscalls")
    div = QUICK_DIVISOR if ctx.quick else 1
    n_native = str(NATIVE_N.get(op, 200000) // div)
    n_traced = str(TRACED_N.get(op, 10000) // div)
    cpu = str(min(os.sched_getaffinity(0)))
    events = os.path.join(ctx.tmp, "micro-events.jsonl")

    def native(_):
        return _run(ctx, ["taskset", "-c", cpu, exe, op, n_native], op)

    def tandem(copies, options=()):
        return lambda _: _run(ctx, tandem_cmd(ctx, copies, [exe, op, n_traced], events, options),
                              op, events)

    def strace(_):
        return _run(ctx, ["taskset", "-c", cpu, "strace", "-f", "-o", "/dev/null", exe, op,
                          n_traced], op)

    # --lockstep: every call waits for all versions (no early execution of queries), the
    # rendezvous before early execution; measured in the same rounds, so the gain is too.
    return [Config("native", native), Config("tandem-1", tandem(1)),
            Config("tandem-2", tandem(2)), Config("tandem-3", tandem(3)),
            Config("tandem-2-lockstep", tandem(2, ["--lockstep"])),
            Config("tandem-3-lockstep", tandem(3, ["--lockstep"])),
            Config("strace", strace)]


def run(ctx, log):
    rows = []
    for op in OPS:
        log(f"  micro {op}")
        rows.append(measure_rows(configs_for(ctx, op), ctx.rounds(ROUNDS), "lower", log,
                                 op, "ns per call"))
    return {"rows": rows,
            "placement": "native and strace pinned to the first CPU (taskset); tandem pins "
                         "version k and its tracer thread to CPU k-1 (mod vCPUs)"}
