#!/usr/bin/env python3
"""Fault-injection campaign of time-traveling state transfer (the seed's §6 and Figure 6).

Each run starts the example server (kvstore) with some state, then live-updates it to its next
version with `tandem-fi update`, whose transfer code (tandem's engine, and the server's own
transfer callbacks) misbehaves with probability phi at each candidate fault location of one kind:
  branch    branch and loop conditions flipped
  init      initialisations skipped
  pointer   pointers corrupted (a random value, or off by one)
  overflow  copies longer by 1 to 100 %
  leak      frees and unmaps skipped
Updates alternate between v1 -> v2 and v2 -> v3. Every run is classified by what tandem did:
  committed            the update committed; an independent checker then reads the whole state
                       through the server's protocol (every key, value and hit counter, the
                       statistics), exercises it (SET, APPEND, DEL, GET) and requires the server to
                       stay up: a failure is a "corrupted commit"
  rolled back: timeout / crash / state difference / invariant violation
                       the update was rolled back; the checker then requires the old process to
                       serve exactly the state it had: a failure is a "harmed past"
Writes results.json (every run), results.md (the table) and results.png (one bar per fault type,
stacked by outcome; drawn by chart.py with Debian's python3-matplotlib).

Usage: campaign.py --build BUILD --out DIR [--runs 500] [--kinds branch,init,...] [--phi 0.01]
                   [--keys 100] [--timeout 1] [--seed 1] [--no-chart] [--check] [--no-validate]
--check exits non-zero if any run committed a corrupted state or harmed the old process.
--no-validate updates forward only (a control: what the same faults do without the validation).
"""
import argparse
import ctypes
import json
import os
import random
import select
import signal
import socket
import subprocess
import sys
import time

KINDS = ["branch", "init", "pointer", "overflow", "leak"]
OUTCOMES = ["committed", "timeout", "crash", "state difference", "invariant violation"]
PAIRS = [("v1", "v2"), ("v2", "v3")]

ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER: orphans come back to us


def our_children():
    me, kids = os.getpid(), []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == me:
                        kids.append(int(entry))
            except (OSError, IndexError, ValueError):
                pass
    return kids


def reap_all():
    """Kills and reaps every process this campaign started (by pid) that is still around."""
    for pid in our_children():
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            if not our_children():
                return
            time.sleep(0.005)


class Client:
    def __init__(self, port, timeout=3):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""

    def cmd(self, line):
        self.sock.sendall(line.encode() + b"\n")
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            self.buf += chunk
        out, self.buf = self.buf.split(b"\n", 1)
        return out.decode()

    def close(self):
        self.sock.close()


class Model:
    """What the server must hold: built by driving it, checked through its protocol only."""

    def __init__(self, keys, rng):
        self.values, self.hits = {}, {}
        self.rng = rng
        self.n = keys

    def load(self, c):
        for i in range(self.n):
            key, value = f"k{i}", f"v{i}-{self.rng.randrange(10**6)}"
            assert c.cmd(f"SET {key} {value}") == "OK"
            self.values[key], self.hits[key] = value, 0
        for _ in range(self.n):
            key = f"k{self.rng.randrange(self.n)}"
            assert c.cmd(f"GET {key}") == f"VALUE {self.values[key]}"
            self.hits[key] += 1
        for i in range(0, self.n, 9):
            assert c.cmd(f"DEL k{i}") == "OK"
            del self.values[f"k{i}"], self.hits[f"k{i}"]

    def verify(self, c, version):
        """Returns None, or what differs."""
        if c.cmd("VERSION") != f"VERSION {version}":
            return "version"
        for key, value in self.values.items():
            got = c.cmd(f"GET {key}")
            if got != f"VALUE {value}":
                return f"GET {key}: {got!r} instead of {value!r}"
            self.hits[key] += 1
            got = c.cmd(f"HITS {key}")
            if got != f"HITS {self.hits[key]}":
                return f"HITS {key}: {got!r} instead of {self.hits[key]}"
        stats = c.cmd("STATS")
        if f"keys={len(self.values)} " not in stats:
            return f"STATS: {stats!r} (keys={len(self.values)} expected)"
        return None

    def exercise(self, c, version):
        """Allocation and release through the transferred state, then the whole check again."""
        for i in range(self.n, self.n + 20):
            key, value = f"k{i}", f"n{i}"
            if c.cmd(f"SET {key} {value}") != "OK":
                return f"SET {key}"
            self.values[key], self.hits[key] = value, 0
        for key in list(self.values)[:10]:
            if c.cmd(f"DEL {key}") != "OK":
                return f"DEL {key}"
            del self.values[key], self.hits[key]
        for key in list(self.values)[:10]:
            if version != "v1":
                if c.cmd(f"APPEND {key} +") != "OK":
                    return f"APPEND {key}"
                self.values[key] += "+"
            elif c.cmd(f"SET {key} {self.values[key]}x") == "OK":
                self.values[key] += "x"
        return self.verify(c, version) or (None if c.cmd("PING") == "PONG" else "PING")


def start_server(build, version, env):
    p = subprocess.Popen([os.path.join(build, "experiments/ttst", f"kvstore-{version}-fi")],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    if not select.select([p.stdout], [], [], 5)[0]:
        raise RuntimeError("kvstore did not start")
    return p, int(p.stdout.readline().split()[1])


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def classify(rc, killed):
    if killed:
        return "timeout"
    return {0: "committed", 9: "timeout", 12: "timeout", 11: "crash", 14: "crash", 15: "crash",
            16: "state difference", 13: "invariant violation"}.get(rc, "crash")


def one_run(args, kind, index, seed):
    rng = random.Random(seed)
    src, dst = PAIRS[index % 2]
    phi = args.phi_leak if kind == "leak" else args.phi
    env = dict(os.environ, TANDEM_FAULTS=f"kind={kind},phi={phi},seed={seed}")
    run = {"kind": kind, "run": index, "seed": seed, "from": src, "to": dst}
    server, port = start_server(args.build, src, env)
    c = Client(port)
    model = Model(args.keys, rng)
    model.load(c)
    events = os.path.join(args.out, "last-events.jsonl")
    tool = subprocess.Popen([os.path.join(args.build, "experiments/ttst/tandem-fi"), "update",
                             "--timeout", str(args.timeout), "--events", events] +
                            (["--no-validate"] if args.no_validate else []) + [str(server.pid),
                             os.path.join(args.build, "experiments/ttst", f"kvstore-{dst}-fi")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    t0 = time.monotonic()
    killed = False
    try:
        out, err = tool.communicate(timeout=2 * args.timeout + 6)
    except subprocess.TimeoutExpired:
        tool.kill()  # the framework hangs; the old process rolls back on its own at its deadline
        out, err = tool.communicate()
        killed = True
    run["ms"] = round((time.monotonic() - t0) * 1000, 1)
    run["rc"] = tool.returncode
    run["outcome"] = classify(tool.returncode, killed)
    lines = [l for l in err.strip().splitlines() if "fault injection" not in l]
    run["message"] = (lines or [""])[0][:300]
    run["faults"] = 0
    for line in err.splitlines():
        if "faults injected" in line:
            run["faults"] = int(line.split(": ")[-1].split()[0])
    if run["outcome"] == "committed":
        new_pid = int(out.split("->")[1].split()[0])
        problem = None
        try:
            problem = model.verify(c, dst) or model.exercise(Client(port), dst)
        except (OSError, ConnectionError, AssertionError) as e:
            problem = f"connection: {e}"
        time.sleep(0.02)
        if problem is None and not alive(new_pid):
            problem = "the new version died"
        run["corrupted"] = problem
    else:
        # The old process must be back, serving exactly the state it had (past the deadline it
        # rolls back by itself when the tool was killed).
        problem = None
        deadline = time.monotonic() + 2 * args.timeout + 5
        while True:
            try:
                problem = model.verify(c, src) or model.exercise(Client(port), src)
                break
            except (OSError, ConnectionError) as e:
                problem = f"connection: {e}"
                if time.monotonic() > deadline or not alive(server.pid):
                    break
                time.sleep(0.2)
                c = Client(port, timeout=2 * args.timeout + 5)
        run["harmed"] = problem
    c.close()
    reap_all()
    server.wait()
    return run


def table(results, kinds):
    head = "| fault type | runs | faults injected | " + " | ".join(OUTCOMES) + \
           " | corrupted commits | harmed pasts |"
    lines = [head, "|---|" + "---:|" * (len(OUTCOMES) + 4)]
    for kind in kinds:
        rs = [r for r in results if r["kind"] == kind]
        counts = [sum(r["outcome"] == o for r in rs) for o in OUTCOMES]
        lines.append(f"| {kind} | {len(rs)} | {sum(r['faults'] for r in rs)} | " +
                     " | ".join(str(n) for n in counts) +
                     f" | {sum(bool(r.get('corrupted')) for r in rs)} | "
                     f"{sum(bool(r.get('harmed')) for r in rs)} |")
    return "\n".join(lines)


def progress(done, total, kind, t0):
    width = 40
    filled = width * done // total
    rate = done / max(time.monotonic() - t0, 1e-6)
    left = (total - done) / rate if rate else 0
    sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {kind:<8} "
                     f"{left:5.0f} s left ")
    sys.stderr.flush()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--out", required=True)
    ap.add_argument("--runs", type=int, default=500, help="runs per fault type")
    ap.add_argument("--kinds", default=",".join(KINDS))
    ap.add_argument("--phi", type=float, default=0.01)
    # An update releases little (scratch mappings, replaced allocations: 2-3 releases against
    # thousands of branches and copies): leaks are injected with their own probability.
    ap.add_argument("--phi-leak", type=float, default=0.5)
    ap.add_argument("--keys", type=int, default=100)
    ap.add_argument("--timeout", type=float, default=1.0, help="tandem update --timeout")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-chart", action="store_true")
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--no-validate", action="store_true")
    args = ap.parse_args()
    args.build = os.path.abspath(args.build)
    os.makedirs(args.out, exist_ok=True)
    kinds = args.kinds.split(",")
    total, done, results, t0 = len(kinds) * args.runs, 0, [], time.monotonic()
    # Interleaved kinds: a long campaign's partial results are representative of every kind.
    for index in range(args.runs):
        for k, kind in enumerate(kinds):
            seed = args.seed * 1_000_003 + index * 16 + k
            results.append(one_run(args, kind, index, seed))
            done += 1
            progress(done, total, kind, t0)
    sys.stderr.write("\n")
    summary = {"phi": args.phi, "phi_leak": args.phi_leak, "keys": args.keys, "timeout_s": args.timeout,
               "runs_per_kind": args.runs, "validate": not args.no_validate, "seconds": round(time.monotonic() - t0, 1),
               "runs": results}
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump(summary, f, indent=1)
    md = table(results, kinds)
    with open(os.path.join(args.out, "results.md"), "w") as f:
        f.write(f"# TTST fault-injection campaign"
                f"{' (control: forward only, --no-validate)' if args.no_validate else ''}\n\n"
                f"{args.runs} runs per fault type, phi = {args.phi} (leaks: {args.phi_leak}), {args.keys} keys, updates v1 -> v2 and v2 -> v3 alternately, "
                f"{summary['seconds']} s.\n\n{md}\n")
    print(md)
    if not args.no_chart:
        chart = os.path.join(os.path.dirname(os.path.abspath(__file__)), "chart.py")
        subprocess.run(["/usr/bin/python3", chart, os.path.join(args.out, "results.json"),
                        os.path.join(args.out, "results.png")], check=False)
    os.remove(os.path.join(args.out, "last-events.jsonl")) if os.path.exists(
        os.path.join(args.out, "last-events.jsonl")) else None
    bad = [r for r in results if r.get("corrupted") or r.get("harmed")]
    for r in bad[:10]:
        print(f"PROBLEM: {r}", file=sys.stderr)
    if args.check and bad:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
