"""Shared harness of the live update tests (run by CTest, label `live`).

Every test process makes itself a child subreaper: when an update commits, the old version exits
and the new one (its child) is re-parented to us, so teardown can kill and reap every process a
test started, including new versions, and none is left behind. All waits are bounded.

Environment (set by tests/update/CMakeLists.txt): TANDEM (the tandem binary), LIVE_BIN (the
directory of test targets), EXAMPLES_BIN (the directory of examples).
"""
import ctypes
import os
import select
import signal
import socket
import subprocess
import tempfile
import time
import unittest

TANDEM = os.environ.get("TANDEM", "tandem")
LIVE_BIN = os.environ.get("LIVE_BIN", ".")
EXAMPLES_BIN = os.environ.get("EXAMPLES_BIN", ".")

_libc = ctypes.CDLL(None, use_errno=True)
_libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER

# Exit codes of `tandem update` (src/update/failure.h).
EXIT = {
    "usage": 2, "no_such_process": 3, "permission": 4, "no_runtime": 5, "bad_binary": 6,
    "no_debug_info": 7, "other_program": 8, "not_quiescent": 9, "busy": 10, "new_crashed": 11,
    "new_hung": 12, "refused": 13, "callback_failed": 14, "system": 15, "state_differs": 16,
}


def live_bin(name):
    return os.path.join(LIVE_BIN, name)


def example_bin(name):
    return os.path.join(EXAMPLES_BIN, name)


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:  # ENOENT, or ESRCH when it goes while being read
        return False


def our_children():
    me = os.getpid()
    kids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            if int(fields[1]) == me:
                kids.append(int(entry))
        except (OSError, IndexError, ValueError):  # gone meanwhile (ENOENT or ESRCH)
            pass
    return kids


class UpdateResult:
    def __init__(self, proc, events_path):
        self.rc = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.new_pid = None
        if self.rc == 0 and "->" in self.stdout:
            self.new_pid = int(self.stdout.split("->")[1].split()[0])
        self.events = []
        if events_path and os.path.exists(events_path):
            import json
            with open(events_path) as f:
                self.events = [json.loads(line) for line in f if line.strip()]

    def __repr__(self):
        return f"rc={self.rc} stdout={self.stdout!r} stderr={self.stderr!r}"


class LiveTestCase(unittest.TestCase):
    """Tracks started processes; kills and reaps all of them (and their re-parented children)."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="tandem-live-")
        self.pids = []
        self.popens = []

    def tearDown(self):
        for pid in set(self.pids + our_children()):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for p in self.popens:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
            for stream in (p.stdin, p.stdout, p.stderr):
                if stream:
                    stream.close()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                time.sleep(0.01)
        self.tmp.cleanup()

    def path(self, name):
        return os.path.join(self.tmp.name, name)

    def spawn(self, argv, **kw):
        p = subprocess.Popen(argv, **kw)
        self.popens.append(p)
        self.pids.append(p.pid)
        return p

    def update(self, pid, new_bin, timeout=None, pidfile=None, user=None, extra=()):
        events = self.path(f"events-{len(self.pids)}-{time.monotonic_ns()}.jsonl")
        argv = [TANDEM, "update", "--events", events]
        if timeout is not None:
            argv += ["--timeout", str(timeout)]
        if pidfile:
            argv += ["--pidfile", pidfile]
        argv += list(extra) + [str(pid), new_bin]
        if user:
            argv = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups"] + argv
            events = None
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        result = UpdateResult(proc, events)
        if result.new_pid:
            self.pids.append(result.new_pid)
        return result

    def assertCommitted(self, result):
        self.assertEqual(result.rc, 0, result)
        self.assertIsNotNone(result.new_pid, result)
        self.assertEqual(result.stderr, "", result)

    def assertFailed(self, result, kind, text=None):
        self.assertEqual(result.rc, EXIT[kind], result)
        lines = result.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, f"expected one error line: {result}")
        self.assertTrue(lines[0].startswith("tandem: "), result)
        if text:
            self.assertIn(text, lines[0])
        self.assertEqual(result.stdout, "", result)


class LineTarget:
    """A target driven over stdin/stdout, one reply line per command line."""

    def __init__(self, test, argv):
        self.p = test.spawn(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, bufsize=0)
        self.buf = b""

    @property
    def pid(self):
        return self.p.pid

    def close(self):
        self.p.kill()
        self.p.wait(timeout=5)

    def cmd(self, line, timeout=10):
        self.p.stdin.write(line.encode() + b"\n")
        self.p.stdin.flush()
        return self.readline(timeout)

    def readline(self, timeout=10):
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no reply from target (got {self.buf!r})")
            r, _, _ = select.select([self.p.stdout], [], [], left)
            if r:
                chunk = os.read(self.p.stdout.fileno(), 65536)
                if not chunk:
                    raise EOFError(f"target closed its output (got {self.buf!r})")
                self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode()


class KvClient:
    """A line-protocol client of the kvstore example."""

    def __init__(self, port, timeout=10):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""

    def send_raw(self, data):
        self.sock.sendall(data.encode())

    def readline(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("server closed the connection")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode()

    def cmd(self, line):
        self.send_raw(line + "\n")
        return self.readline()

    def close(self):
        self.sock.close()


def start_kvstore(test, version, extra_env=None):
    env = dict(os.environ)
    env.update(extra_env or {})
    p = test.spawn([example_bin(f"kvstore-{version}") if not os.path.isabs(version) else version],
                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    r, _, _ = select.select([p.stdout], [], [], 10)
    if not r:
        raise TimeoutError("kvstore did not start")
    line = p.stdout.readline().decode().split()
    if not line or line[0] != "LISTENING":
        raise RuntimeError(f"kvstore did not start: {line}")
    return p, int(line[1])
