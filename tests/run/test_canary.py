"""Canary workflow (issue 4, item 7): `--promote-after`, `tandem status PID [--promote]`, and a
run ended by a termination signal (not a crash: nothing is restarted)."""
import json
import os
import re
import signal
import socket
import subprocess
import time
import unittest

from harness import TANDEM, TandemTest, target, free_port


class RunningServer:
    """`tandem run OPTS echo_server_v1 echo_server_v2 -- PORT CONNS` in the background."""

    def __init__(self, test, opts=(), conns=3):
        self.port = free_port()
        self.events_file = os.path.join(test.events_dir, "events.jsonl")
        self.proc = subprocess.Popen(
            [TANDEM, "run", "--events", self.events_file, *opts, target("echo_server_v1"),
             target("echo_server_v2"), "--", str(self.port), str(conns)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        test.addCleanup(self.kill)
        line = self.proc.stdout.readline()
        test.assertEqual(line, b"listening\n")

    def events(self, kind=None):
        with open(self.events_file) as f:
            evs = [json.loads(line) for line in f if line.strip()]
        return [e for e in evs if kind is None or e["event"] == kind]

    def echo(self, messages):
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as s:
            for m in messages:
                s.sendall(m)
                got = b""
                while len(got) < len(m):
                    chunk = s.recv(1024)
                    if not chunk:
                        break
                    got += chunk
                if got != m:
                    return got
        return None

    def wait(self, timeout=30):
        out, err = self.proc.communicate(timeout=timeout)
        return self.proc.returncode, out, err

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()


def status(pid, *extra):
    return subprocess.run([TANDEM, "status", str(pid), *extra], capture_output=True,
                          timeout=20)


def version_pids(tandem_pid):
    """The pids of the versions' processes (traced by tandem's threads)."""
    threads = set(int(t) for t in os.listdir(f"/proc/{tandem_pid}/task"))
    pids = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open(f"/proc/{p}/status") as f:
                fields = dict(line.split(":\t", 1) for line in f if ":\t" in line)
            if (int(fields.get("TracerPid", "0")) in threads and
                    "echo_server_v" in os.readlink(f"/proc/{p}/exe")):
                pids.append(int(p))
        except (OSError, ValueError):
            pass
    return pids


class Canary(TandemTest):
    def test_promoted_after_a_duration_even_when_idle(self):
        srv = RunningServer(self, opts=["--promote-after", "1s"])
        r = status(srv.proc.pid)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"version 1: ", r.stdout)
        self.assertRegex(r.stdout, rb"version 1: \S+ running \(leader\)")
        self.assertIn(b"canary: version 2 on probation", r.stdout)
        # The server makes no calls while it waits in accept: the probation ends by time.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not srv.events("promotion"):
            time.sleep(0.1)
        promo = srv.events("promotion")
        self.assertEqual([p["version"] for p in promo], [2])
        self.assertEqual(promo[0]["reason"], "canary passed")
        self.assertGreaterEqual(promo[0]["after_seconds"], 1.0)
        r = status(srv.proc.pid)
        self.assertRegex(r.stdout, rb"version 2: \S+ running \(leader\)")
        self.assertNotIn(b"canary", r.stdout)
        # --threads: every thread's state, here both versions at the server's accept, one in
        # it, the other waiting for its result (the round began before the promotion: its
        # executor is the leader of then).
        r = status(srv.proc.pid, "--threads")
        self.assertEqual(r.returncode, 0, r.stderr)
        m = re.search(rb"group 1: log \d+\.\.\d+, round \d+ executor (\d)", r.stdout)
        self.assertIsNotNone(m, r.stdout)
        executor = int(m.group(1))
        self.assertRegex(r.stdout, rb"version %d tid \d+: executing at accept" % executor)
        self.assertRegex(r.stdout, rb"version %d tid \d+: waiting at accept" % (3 - executor))
        for _ in range(3):
            self.assertIsNone(srv.echo([b"hello"]))
        code, out, err = srv.wait()
        self.assertEqual((code, out), (0, b"served 3\n"), err)

    def test_old_version_leads_while_the_canary_crashes(self):
        # Probation by calls, long enough to cover the test: version 1 leads throughout; the
        # canary's crash on "boom" does not disturb the client.
        srv = RunningServer(self, opts=["--promote-after", "100000", "--checkpoint", "0"],
                            conns=1)
        self.assertIsNone(srv.echo([b"one", b"boom", b"two"]))
        code, out, err = srv.wait()
        self.assertEqual((code, out), (0, b"served 1\n"), err)
        self.assertEqual([c["version"] for c in srv.events("crash")], [2])
        self.assertEqual(srv.events("promotion"), [])

    def test_probation_by_calls_and_status_through_a_version_pid(self):
        srv = RunningServer(self, opts=["--promote-after", "40calls"], conns=2)
        # Status also answers for the pid of a process of the program (via its tracer).
        pids = version_pids(srv.proc.pid)
        self.assertGreaterEqual(len(pids), 2)  # the versions and their checkpoint copies
        r = status(pids[0])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"canary: version 2 on probation", r.stdout)
        self.assertIsNone(srv.echo([b"x%d" % i for i in range(30)]))
        self.assertIsNone(srv.echo([b"y"]))
        promo = srv.events("promotion")
        self.assertEqual([p["version"] for p in promo], [2])
        self.assertGreaterEqual(promo[0]["after_calls"], 40)
        code, out, err = srv.wait()
        self.assertEqual(code, 0, err)

    def test_promote_on_demand(self):
        srv = RunningServer(self, opts=["--promote-after", "1h"], conns=1)
        r = status(srv.proc.pid, "--promote")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, b"ok\n")
        self.assertEqual([p["version"] for p in srv.events("promotion")], [2])
        # Nothing left on probation.
        r = status(srv.proc.pid, "--promote")
        self.assertEqual(r.returncode, 5)
        self.assertIn(b"no version is on probation", r.stderr)
        self.assertIsNone(srv.echo([b"a"]))
        self.assertEqual(srv.wait()[0], 0)

    def test_sigterm_ends_the_program_without_restarts(self):
        srv = RunningServer(self, conns=5)
        srv.proc.send_signal(signal.SIGTERM)
        code, out, err = srv.wait()
        self.assertEqual(code, 128 + signal.SIGTERM, err)
        self.assertEqual(srv.events("restart"), [])
        self.assertEqual(srv.events("crash"), [])
        self.assertEqual(sorted(d["version"] for d in srv.events("drop")), [1, 2])
        self.assertNothingLeft("echo_server_v")


class StatusErrors(TandemTest):
    def test_dead_pid(self):
        p = subprocess.Popen(["true"])
        p.wait()
        r = status(p.pid)
        self.assertEqual(r.returncode, 2)
        self.assertEqual(r.stderr.count(b"\n"), 1)

    def test_not_a_tandem_run(self):
        r = status(os.getpid())
        self.assertEqual(r.returncode, 3)
        self.assertIn(b"not a tandem run", r.stderr)

    def test_promote_without_canary(self):
        srv = RunningServer(self, conns=1)
        r = status(srv.proc.pid, "--promote")
        self.assertEqual(r.returncode, 5)
        self.assertIsNone(srv.echo([b"a"]))
        self.assertEqual(srv.wait()[0], 0)

    def test_bad_promote_after(self):
        for value in ("soon", "10x", "-5s", "1.5"):
            r = self.tandem([target("calc_v1"), target("calc_v2")], opts=["--promote-after", value])
            self.assertEqual(r.code, 125, value)
            self.assertEqual(r.err.count(b"\n"), 1, r.err)
        r = self.tandem([target("calc_v1")], opts=["--promote-after", "5s"])
        self.assertEqual(r.code, 125)


if __name__ == "__main__":
    unittest.main()
