"""Shared helpers for the tests that drive the `tandem` command.

Paths come from the environment CTest sets: TANDEM (the command) and TARGETS (the folder of
the target programs). Every run is bounded in time; a test that leaves a process behind fails.
"""
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import unittest

TANDEM = os.environ.get("TANDEM", "build/tools/tandem")
TARGETS = os.environ.get("TARGETS", "build/tests/targets")

# Every process this test process starts (tandem, the versions, what they start) inherits this
# mark: CTest runs test classes in parallel, and two of them run the same target programs, so
# "left behind" must mean left behind by this one (the Canary class once found the echo
# servers of the Restart class running next to it).
RUN_MARK = f"TANDEM_TEST_RUN={os.getpid()}-{time.monotonic_ns()}".encode()
os.environ["TANDEM_TEST_RUN"] = RUN_MARK.split(b"=", 1)[1].decode()


def target(name):
    return os.path.join(TARGETS, name)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def processes_running(path_fragment):
    """PIDs of processes started by this test process (RUN_MARK) whose executable path contains
    `path_fragment`."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            exe = os.readlink(f"/proc/{pid}/exe")
        except OSError:
            continue
        if path_fragment not in exe:
            continue
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                ours = RUN_MARK in f.read().split(b"\0")
        except OSError:
            ours = True  # cannot tell (gone meanwhile, or not readable): count it
        if ours:
            found.append(int(pid))
    return found


class Result:
    def __init__(self, proc, events):
        self.code = proc.returncode
        self.out = proc.stdout
        self.err = proc.stderr
        self.events = events

    def kinds(self):
        return [e["event"] for e in self.events]

    def of(self, kind):
        return [e for e in self.events if e["event"] == kind]


def describe_stuck(tandem_pid, events_file):
    """What a run that seems stuck is doing: `tandem status`, the last events, and the state,
    wait channel and system call of every thread tandem traces."""
    lines = []
    try:
        st = subprocess.run([TANDEM, "status", "--threads", str(tandem_pid)], capture_output=True,
                            text=True, timeout=10)
        lines.append(st.stdout.strip() or st.stderr.strip())
    except (OSError, subprocess.TimeoutExpired) as e:
        lines.append(f"tandem status: {e!r}")
    try:
        with open(events_file) as f:
            lines += ["last events:"] + f.read().splitlines()[-12:]
    except OSError:
        pass
    try:
        tracers = set(os.listdir(f"/proc/{tandem_pid}/task"))
    except OSError:
        tracers = set()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        for tid in (os.listdir(f"/proc/{pid}/task") if os.path.isdir(f"/proc/{pid}/task")
                    else []):
            base = f"/proc/{pid}/task/{tid}"
            try:
                status = open(f"{base}/status").read()
                tracer = re.search(r"TracerPid:\s+(\d+)", status).group(1)
                if tracer not in tracers:
                    continue
                state = re.search(r"State:\s+(.*)", status).group(1)
                wchan = open(f"{base}/wchan").read().strip()
                call = open(f"{base}/syscall").read().split()[:3]
                lines.append(f"pid {pid} tid {tid} {state} wchan={wchan} syscall={' '.join(call)}")
            except (OSError, AttributeError):
                continue
    return "\n".join(lines)


class TandemTest(unittest.TestCase):
    running = None

    def describe_running(self):
        """describe_stuck for the `tandem` run in progress, or "(not running)"."""
        if not self.running or self.running[0].poll() is not None:
            return "(not running)"
        return describe_stuck(self.running[0].pid, self.running[1])

    def events_so_far(self):
        """The events the run in progress wrote so far (its file is the only one in
        events_dir: see forget_events)."""
        for name in os.listdir(self.events_dir):
            with open(os.path.join(self.events_dir, name)) as f:
                return [json.loads(line) for line in f if line.strip()]
        return []

    def forget_events(self):
        """Removes the events files of earlier runs: events_so_far then reads the next one's."""
        for name in os.listdir(self.events_dir):
            os.unlink(os.path.join(self.events_dir, name))

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="tandem-test-")
        self.events_dir = tempfile.mkdtemp(prefix="tandem-events-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)
        # TANDEM_KEEP_EVENTS=1 keeps the events files of the tests for debugging.
        if not os.environ.get("TANDEM_KEEP_EVENTS"):
            shutil.rmtree(self.events_dir, ignore_errors=True)

    def tandem(self, bins, args=(), stdin=b"", opts=(), timeout=60, env=None, cwd=None):
        """Runs `tandem run OPTS BINS -- ARGS`; returns a Result with the parsed events."""
        events_file = os.path.join(self.events_dir, f"events-{time.monotonic_ns()}.jsonl")
        cmd = [TANDEM, "run", "--events", events_file, *opts, *bins]
        if args:
            cmd += ["--", *args]
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=env, cwd=cwd)
        self.running = (proc, events_file)
        try:
            out, err = proc.communicate(stdin, timeout=timeout)
        except subprocess.TimeoutExpired:
            # A hang: what tandem and its versions were doing is the only clue, so it is taken
            # before the kill.
            said = describe_stuck(proc.pid, events_file)
            proc.kill()
            proc.communicate()
            raise AssertionError(f"tandem did not end within {timeout} s:\n{said}")
        finally:
            self.running = None
        proc = subprocess.CompletedProcess(cmd, proc.returncode, out, err)
        events = []
        if os.path.exists(events_file):
            with open(events_file) as f:
                events = [json.loads(line) for line in f if line.strip()]
        return Result(proc, events)

    def native(self, binary, args=(), stdin=b"", timeout=60, env=None, cwd=None):
        return subprocess.run([binary, *args], input=stdin, capture_output=True,
                              timeout=timeout, env=env, cwd=cwd)

    def assertNoDivergence(self, result):
        bad = [e for e in result.events if e["event"] in ("divergence", "drop", "crash")]
        self.assertEqual(bad[:3], [], f"{len(bad)} divergence/drop/crash events")

    def assertNothingLeft(self, fragment):
        # Processes can take a moment to be reaped after tandem exits.
        for _ in range(50):
            if not processes_running(fragment):
                return
            time.sleep(0.02)
        self.fail(f"processes left behind: {processes_running(fragment)}")
