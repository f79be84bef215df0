"""What every suite shares: the run context, the alternating method, bounded child processes.

Method. A suite describes each benchmark as a list of configurations (native first, then the
tandem configurations and any baseline). One *round* runs every configuration once, in order,
so native and tandem runs alternate (A B A B ...) and slow drift of the shared machine touches
both alike. Each configuration's result is the median of its rounds; its *ratio* is the median
over rounds of (its value / native's value of the same round), oriented so that ratio > 1 always
means slower than native (time: tandem / native; throughput: native / tandem).

A configuration that fails (non-zero exit, refusal, timeout, unparsable output, output that
differs from native) is recorded as failed with its reason and not retried in later rounds:
a failure is a result, never replaced by a number.

Child processes. Everything runs with a timeout in its own session (process group), and every
group still alive is killed at exit, so a hung or crashed run leaves nothing behind.
"""
import atexit
import dataclasses
import json
import os
import platform
import re
import signal
import socket
import statistics
import subprocess
import time


class Failed(Exception):
    """A configuration that cannot produce a number; str() is the reason shown in the table."""


@dataclasses.dataclass
class Context:
    repo: str
    build: str
    quick: bool
    tmp: str       # scratch directory of this run, removed at the end
    out: str       # results directory

    @property
    def tandem(self):
        return os.path.join(self.build, "tools", "tandem")

    def rounds(self, full):
        return 1 if self.quick else full


@dataclasses.dataclass
class Config:
    name: str                 # key in the results: native, tandem-1, tandem-2, strace, ...
    measure: object           # callable(round) -> float, or -> (float, dict of details)


def alternate(configs, rounds, log=print):
    """Runs rounds x configs in alternating order. A measure returns a number, a dict of
    numbers (several metrics from one run), or either with a dict of details as a pair.
    Returns ({config name: {"runs": [...], "failed": reason or None, "details": [...]}},
    the 1-minute load average at the start of each round)."""
    raw = {c.name: {"runs": [None] * rounds, "failed": None, "details": []} for c in configs}
    loads = []
    for r in range(rounds):
        loads.append(round(os.getloadavg()[0], 2))  # tells a disturbed round afterwards
        for c in configs:
            slot = raw[c.name]
            if slot["failed"]:
                continue
            try:
                v = c.measure(r)
                if isinstance(v, tuple):
                    v, detail = v
                    slot["details"].append(detail)
                slot["runs"][r] = v
            except Failed as e:
                slot["failed"] = str(e) if r == 0 else f"run {r + 1} of {rounds}: {e}"
                log(f"    {c.name}: failed: {slot['failed']}")
    return raw, loads


def summarize(raw, better, key=None):
    """Medians and per-round ratios against the first configuration (native) of alternate()'s
    result; key picks one metric when the runs measured several."""
    names = list(raw)
    out = {}
    for name in names:
        slot = raw[name]
        runs = [None if v is None else (v[key] if key else v) for v in slot["runs"]]
        entry = {"runs": runs, "failed": slot["failed"]}
        if slot["details"]:
            entry["details"] = slot["details"]
        if not slot["failed"]:
            entry["median"] = statistics.median(x for x in runs if x is not None)
        out[name] = entry
    base = out[names[0]]
    for name in names[1:]:
        entry = out[name]
        if entry["failed"] or base["failed"]:
            continue
        ratios = [(v / b if better == "lower" else b / v)
                  for v, b in zip(entry["runs"], base["runs"]) if v and b]
        entry["ratio_runs"] = [round(x, 3) for x in ratios]
        entry["ratio"] = round(statistics.median(ratios), 3) if ratios else None
    return out


def measure_rows(configs, rounds, better, log, name, metric, **extra):
    """The usual case: one number per run, one row."""
    raw, loads = alternate(configs, rounds, log)
    return {"name": name, "metric": metric, "better": better, "round_load": loads,
            "configs": summarize(raw, better), **extra}


# ---- child processes -------------------------------------------------------------------------

_live_groups = set()


def _kill_group(pgid):
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    _live_groups.discard(pgid)


def kill_everything():
    """At exit or on a signal: no benchmark process survives the harness."""
    for pgid in list(_live_groups):
        _kill_group(pgid)


atexit.register(kill_everything)


def install_signal_handlers():
    def on_signal(signum, _frame):
        kill_everything()
        raise SystemExit(128 + signum)
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, on_signal)


def spawn(cmd, **kw):
    """Starts cmd in a new session (so its whole tree can be killed) and tracks the group."""
    p = subprocess.Popen(cmd, start_new_session=True, **kw)
    _live_groups.add(p.pid)
    return p


def reap(p, grace=5.0):
    """SIGTERM to the process, then SIGKILL to its group; waits for it either way."""
    if p.poll() is None:
        try:
            p.terminate()
            p.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
    _kill_group(p.pid)
    p.wait()


def run_bounded(cmd, timeout, stdin=None, stdout=subprocess.PIPE, cwd=None, env=None):
    """Runs cmd to completion within timeout; returns (returncode, stdout bytes, stderr text,
    seconds, cpu seconds of the whole tree). Raises Failed on timeout."""
    ru0 = _children_cpu()
    t0 = time.perf_counter()
    p = spawn(cmd, stdin=stdin, stdout=stdout, stderr=subprocess.PIPE, cwd=cwd, env=env)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        reap(p, grace=1.0)
        raise Failed(f"timed out after {timeout:g} s")
    seconds = time.perf_counter() - t0
    _kill_group(p.pid)  # anything the command left behind in its session
    return p.returncode, out, err.decode(errors="replace"), seconds, _children_cpu() - ru0


def _children_cpu():
    import resource
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def last_line(text, limit=160):
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    if not lines:
        return ""
    # Drop a log line's "pid:role date time # " prefix (redis) so equal reasons read alike.
    return re.sub(r"^\d+:[A-Z] \d+ \w+ \d+ [\d:.]+ [#*.-] ", "", lines[-1])[:limit]


def free_port():
    """A port nobody listens on now; the server binds it a moment later (a small race that
    start-up detects: the server then fails to bind and the run is recorded as failed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, proc, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


# ---- tandem ----------------------------------------------------------------------------------

def tandem_cmd(ctx, copies, argv, events, options=()):
    """argv[0] is the program, the rest its arguments; `options` go to `tandem run`."""
    return [ctx.tandem, "run", "-q", "--events", events, *options, "--copies", str(copies),
            argv[0], "--", *argv[1:]]


def summarize_events(path):
    """Why a tandem run went wrong, in a few words, from its events file; and counters."""
    reasons, counts = [], {}
    try:
        with open(path) as f:
            for line in f:
                try:
                    e = json.loads(line)
                except ValueError:
                    continue
                kind = e.get("event")
                counts[kind] = counts.get(kind, 0) + 1
                if kind == "refusal":
                    call = e.get("call", "")
                    what = call.split("(")[0]
                    if "CLONE_THREAD" in call:
                        what += " with CLONE_THREAD (a thread)"
                    msg = f"tandem refused {what}"
                    if e.get("errno"):
                        msg += f" -> {os.strerror(e['errno'])}"
                    if msg not in reasons:
                        reasons.append(msg)
                elif kind == "crash":
                    reasons.append(f"version {e.get('version')} crashed ({e.get('signal_name')})")
                elif kind == "divergence":
                    if "diverged" not in reasons:
                        reasons.append("diverged")
    except FileNotFoundError:
        reasons.append("no events file")
    return "; ".join(reasons), counts


def describe_failure(rc, stderr, events=None):
    parts = [f"exit status {rc}" if rc >= 0 else f"killed by signal {-rc}"]
    if events:
        why, _ = summarize_events(events)
        if why:
            parts.append(why)
    tail = last_line(stderr)
    if tail:
        parts.append(f"stderr: {tail}")
    return "; ".join(parts)


# ---- the machine -----------------------------------------------------------------------------

def machine():
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    # The hypervisor (lscpu) and the container (systemd-detect-virt), when there are any.
    virt = []
    for cmd, pick in ((["lscpu"], "Hypervisor vendor:"), (["systemd-detect-virt", "-c"], "")):
        try:
            text = subprocess.run(cmd, capture_output=True, text=True, timeout=5).stdout
        except (OSError, subprocess.TimeoutExpired):
            continue
        for line in text.splitlines():
            if line.startswith(pick) and line[len(pick):].strip() not in ("", "none"):
                virt.append(line[len(pick):].strip() + (" guest" if pick else " container"))
                break
    return {"cpu_model": model, "vcpus": os.cpu_count(),
            "affinity": sorted(os.sched_getaffinity(0)),
            "kernel": platform.release(), "arch": platform.machine(),
            "virtualization": ", ".join(virt) or "bare metal",
            "mem_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
            "python": platform.python_version()}


def git_commit(repo):
    try:
        head = subprocess.run(["git", "-C", repo, "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, timeout=10).stdout.strip()
        # Changes to what is measured, not to the results folder this run writes into.
        dirty = subprocess.run(["git", "-C", repo, "status", "--porcelain", "--", "src", "tools",
                                "runtime", "bench", ":!bench/results"], capture_output=True,
                               text=True, timeout=10).stdout.strip()
        return head + ("+changes" if dirty else "")
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"


def loadavg():
    return [round(x, 2) for x in os.getloadavg()]
