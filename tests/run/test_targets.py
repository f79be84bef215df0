"""`tandem run` on the tiny target programs: one behaviour per test (issue 2's acceptance)."""
import os
import signal
import socket
import subprocess
import threading
import time
import unittest

from harness import TandemTest, target, free_port


class Crashes(TandemTest):
    CALC_INPUT = b"1 + 2\n5 % 3\n0 % 0\n3 * 4\n"

    def check_new_crash_survived(self, v1, v2):
        r = self.tandem([target(v1), target(v2)], stdin=self.CALC_INPUT)
        # The new version answers "5 % 3" (prefer-new), crashes on "0 % 0"; the old version
        # answers that line and everything after.
        self.assertEqual(r.out, b"3\n2\nerror: unknown operator\n12\n", r.err)
        self.assertEqual(r.code, 0, r.err)
        # Restarted from its checkpoint, it crashes again at the same input (a deterministic
        # bug, on standard input rather than a connection: nothing to withhold): dropped.
        crashes = r.of("crash")
        self.assertEqual([c["version"] for c in crashes], [2, 2])
        self.assertEqual(crashes[0]["signal"], 11)
        self.assertEqual([e["version"] for e in r.of("restart")], [2])
        self.assertEqual(len(r.of("restart-refused")), 1)
        self.assertEqual([e["version"] for e in r.of("drop")], [2])
        self.assertEqual([p["version"] for p in r.of("promotion")], [1])
        self.assertIn(b"crashed", r.err)

    def test_new_version_crashes_old_survives(self):
        self.check_new_crash_survived("calc_v1", "calc_v2")

    def test_static_binaries(self):
        self.check_new_crash_survived("calc_static_v1", "calc_static_v2")

    def test_old_version_crashes(self):
        r = self.tandem([target("calc_crash_old_v1"), target("calc_crash_old_v2")],
                        stdin=b"1 + 1\ncrash\n2 + 2\n")
        self.assertEqual(r.out, b"2\ncrash: ignored\n4\n", r.err)
        self.assertEqual(r.code, 0)
        self.assertEqual([c["version"] for c in r.of("crash")], [1, 1])
        self.assertEqual([e["version"] for e in r.of("drop")], [1])
        self.assertEqual(r.of("promotion"), [])

    def test_abort(self):
        r = self.tandem([target("aborter_v1"), target("aborter_v2")], stdin=b"a\nabort\nb\n")
        self.assertEqual(r.out, b"echo: a\necho: abort\necho: b\ndone\n", r.err)
        self.assertEqual(r.code, 0)
        crashes = r.of("crash")
        self.assertEqual([c["version"] for c in crashes], [2, 2])
        self.assertEqual(crashes[0]["signal"], 6)

    def test_every_version_crashes(self):
        r = self.tandem([target("calc_v2"), target("calc_v2")], stdin=b"0 % 0\n")
        self.assertEqual(r.code, 128 + 11)
        # Each crashes, is restarted, and crashes again.
        self.assertEqual(len(r.of("crash")), 4)
        self.assertEqual(sorted(e["version"] for e in r.of("drop")), [1, 2])


    def test_endless_loop_in_one_version(self):
        # Version 2 computes forever on "loop" while version 1 waits at its next call: after
        # --hang seconds of CPU it is killed as hung and handled like a crash.
        r = self.tandem([target("looper_v1"), target("looper_v2")], stdin=b"a\nb\nloop\nc\n",
                        opts=["--hang", "0.5"])
        self.assertEqual((r.code, r.out), (0, b"echo: a\necho: b\nno loop\necho: c\n"), r.err)
        hangs = r.of("hang")
        self.assertTrue(hangs, r.err)
        self.assertEqual({h["version"] for h in hangs}, {2})
        self.assertTrue(all(h["cpu_seconds"] >= 0.5 for h in hangs), hangs)
        self.assertEqual({c["version"] for c in r.of("crash")}, {2})
        self.assertIn(b"hung", r.err)


class Equivalence(TandemTest):
    def test_benign_extra_calls_are_absorbed(self):
        r = self.tandem([target("benign_v1"), target("benign_v2")])
        self.assertEqual(r.out, b"benign: same output\n", r.err)
        self.assertEqual(r.code, 0)
        self.assertNoDivergence(r)
        self.assertIn("absorbed", r.kinds())

    def test_different_write_chunking_is_equivalent(self):
        r = self.tandem([target("chunks_v1"), target("chunks_v2")])
        self.assertEqual(r.out, b"hello, chunked world\nsecond line\n", r.err)
        self.assertEqual(r.code, 0)
        self.assertNoDivergence(r)


class Policies(TandemTest):
    def answer(self, versions, policy, leader=None):
        opts = ["--policy", policy]
        if leader:
            opts += ["--leader", str(leader)]
        return self.tandem([target(f"answer{v}_v1") for v in versions], opts=opts)

    def test_prefer_new(self):
        r = self.answer([41, 42], "prefer-new")
        self.assertEqual(r.out, b"computing\nanswer: 42\nbye\n", r.err)
        self.assertEqual(r.code, 0)
        self.assertEqual(len(r.of("divergence")), 1)
        self.assertEqual(r.of("divergence")[0]["winner"], 2)

    def test_prefer_old(self):
        r = self.answer([41, 42], "prefer-old")
        self.assertEqual(r.out, b"computing\nanswer: 41\nbye\n", r.err)
        self.assertEqual(r.of("divergence")[0]["winner"], 1)

    def test_prefer_old_with_new_leader(self):
        r = self.answer([41, 42], "prefer-old", leader=2)
        self.assertEqual(r.out, b"computing\nanswer: 41\nbye\n", r.err)

    def test_strict_stops_before_the_diverging_call(self):
        r = self.answer([41, 42], "strict")
        self.assertEqual(r.out, b"computing\n", r.err)
        self.assertEqual(r.code, 123)
        self.assertEqual(r.of("divergence")[0]["policy"], "strict")
        self.assertNothingLeft("answer4")

    def test_majority(self):
        r = self.answer([41, 42, 42], "majority")
        self.assertEqual(r.out, b"computing\nanswer: 42\nbye\n", r.err)
        r = self.answer([41, 41, 42], "majority")
        self.assertEqual(r.out, b"computing\nanswer: 41\nbye\n", r.err)


class SideEffects(TandemTest):
    def test_file_effects_happen_once(self):
        for copies in (2, 3):
            d = os.path.join(self.tmp, f"dir{copies}")
            os.mkdir(d)
            with open(os.path.join(d, "log.txt"), "w") as f:
                f.write("before\n")
            r = self.tandem([target("fileio_v1")], args=[d], opts=["--copies", str(copies)])
            self.assertEqual(r.code, 0, r.err)
            self.assertEqual(r.out, b"read 15: first\nappended\n")
            with open(os.path.join(d, "renamed.txt")) as f:
                self.assertEqual(f.read(), "first\nappended\n")
            with open(os.path.join(d, "log.txt")) as f:
                self.assertEqual(f.read(), "before\nrun\n")
            self.assertEqual(sorted(os.listdir(d)), ["log.txt", "renamed.txt"])
            self.assertNoDivergence(r)

    def test_pipes_between_processes(self):
        r = self.tandem([target("pipes_v1")], opts=["--copies", "2"])
        self.assertEqual(r.out, b"parent got: THROUGH THE PIPE AND BACK\nchild exit: 0\n", r.err)
        self.assertNoDivergence(r)

    def test_fork_exec_and_shell_pipeline(self):
        native = self.native(target("spawner_v1"))
        r = self.tandem([target("spawner_v1")], opts=["--copies", "2"])
        self.assertEqual(r.out, native.stdout, r.err)
        self.assertEqual(r.out, b"from an exec'd child\nchild status 0\nA\nB\nC\npipeline status 0\n")
        self.assertNoDivergence(r)


class Network(TandemTest):
    def test_tcp_echo_server_survives_a_crash(self):
        port = free_port()
        cmd_out = []

        def serve():
            cmd_out.append(self.tandem([target("echo_server_v1"), target("echo_server_v2")],
                                       args=[str(port), "1"], timeout=60))

        t = threading.Thread(target=serve)
        t.start()
        deadline = time.monotonic() + 20
        sock = None
        while time.monotonic() < deadline:
            try:
                sock = socket.create_connection(("127.0.0.1", port), timeout=10)
                break
            except OSError:
                time.sleep(0.05)
        self.assertIsNotNone(sock, "server did not listen")
        with sock:
            for msg in (b"hello", b"boom", b"after the crash"):
                sock.sendall(msg)
                got = b""
                while len(got) < len(msg):
                    chunk = sock.recv(1024)
                    if not chunk:
                        break
                    got += chunk
                self.assertEqual(got, msg)
        t.join(60)
        r = cmd_out[0]
        self.assertEqual(r.out, b"listening\nserved 1\n", r.err)
        # Crashed, restarted, crashed again at the same input, restarted with that input
        # withheld (its connection reset for it): it rejoins (test_restart.py goes further).
        self.assertEqual([c["version"] for c in r.of("crash")], [2, 2])
        self.assertEqual(len(r.of("withheld")), 1)
        self.assertNotIn("drop", r.kinds())


class NonDeterminism(TandemTest):
    def check(self, name):
        r = self.tandem([target(name)], opts=["--copies", "2"])
        self.assertEqual(r.code, 0, r.err)
        self.assertNoDivergence(r)
        lines = r.out.decode().splitlines()
        self.assertEqual(len(lines), 3, r.out)
        self.assertTrue(lines[0].startswith("getrandom "))
        # The program sees the leader's pid (virtual pids).
        start = r.of("start")[0]
        self.assertIn(f"pid {start['pids'][1]} ", lines[2])

    def test_identical_values_across_versions(self):
        self.check("nondet_v1")

    def test_identical_values_static(self):
        self.check("nondet_static_v1")


class Threads(TandemTest):
    def test_threads_making_calls_concurrently(self):
        native = self.native(target("threads_v1"), [self.tmp])
        self.assertEqual(native.returncode, 0)
        for bins in ([target("threads_v1"), target("threads_v2")], [target("threads_v1")] * 3):
            r = self.tandem(bins, args=[self.tmp], timeout=60)
            self.assertEqual(r.out, native.stdout, r.err)
            self.assertEqual(r.code, 0)
            self.assertNoDivergence(r)
            self.assertEqual(os.listdir(self.tmp), [])


class Sandbox(TandemTest):
    """Programs with a seccomp whitelist of their own (vsftpd, sshd): tandem's descriptor
    marker and injected calls pass the guard it puts in front of the program's filter."""

    def setUp(self):
        super().setUp()
        self.file = os.path.join(self.tmp, "data.txt")
        with open(self.file, "w") as f:
            f.write("first line\n")
        self.input = f"hi\ncat {self.file}\ncrash\ncat {self.file}\n".encode()
        self.expected = (f"echo: hi\n{self.file}: first line\nno crash\n"
                         f"{self.file}: first line\nbye\n").encode()

    def test_native_sandbox_is_strict(self):
        # The filter kills on any call it does not list: the native run proves the program
        # needs nothing else, so a version killed under tandem would be tandem's fault.
        p = self.native(target("sandboxed_v1"), stdin=self.input)
        self.assertEqual((p.returncode, p.stdout), (0, self.expected))
        p = self.native(target("sandboxed_v2"), stdin=self.input)
        self.assertEqual(p.returncode, -11)

    def test_followers_get_descriptors_under_the_programs_filter(self):
        for binary in ("sandboxed_v1", "sandboxed_prctl_v1"):
            r = self.tandem([target(binary)] * 2, stdin=self.input)
            self.assertEqual((r.code, r.out), (0, self.expected), r.err)
            self.assertNoDivergence(r)
            self.assertEqual([e["code"] for e in r.of("exit")], [0, 0])

    def test_same_death_by_own_filter_in_every_version(self):
        # Every version is killed by its own filter at the same call: the program's behaviour
        # (natively it dies of SIGSYS), not a crash of one version to restart.
        stdin = b"hi\nforbidden\nafter\n"
        p = self.native(target("sandboxed_v1"), stdin=stdin)
        self.assertEqual((p.returncode, p.stdout), (-signal.SIGSYS, b"echo: hi\n"))
        r = self.tandem([target("sandboxed_v1")] * 2, stdin=stdin, opts=["--checkpoint", "3"])
        self.assertEqual((r.code, r.out), (128 + signal.SIGSYS, b"echo: hi\n"), r.err)
        self.assertEqual([e["syscall"] for e in r.of("killed-by-own-filter")], ["getppid"] * 2)
        self.assertEqual((r.of("crash"), r.of("restart"), r.of("drop")), ([], [], []))

    def test_restart_under_the_programs_filter(self):
        # Checkpoints every 3 calls: taken after the filter is on (injected clone and
        # close_range pass the guard). The new version crashes, is restarted from its copy,
        # crashes again at the same point (input from a file: nothing to withhold), dropped.
        r = self.tandem([target("sandboxed_v1"), target("sandboxed_v2")], stdin=self.input,
                        opts=["--checkpoint", "3"])
        self.assertEqual((r.code, r.out), (0, self.expected), r.err)
        self.assertEqual([c["signal"] for c in r.of("crash")], [11, 11])
        self.assertEqual(len(r.of("restart")), 1)
        self.assertEqual(r.of("rejoin-failed"), [])
        self.assertEqual(len(r.of("restart-refused")), 1)


class EventLoops(TandemTest):
    def test_epoll_loop_with_every_kind_of_descriptor(self):
        # epoll_pwait2 over a TCP listener (SO_REUSEPORT, accept4), a non-blocking client, a
        # Unix socket pair, eventfd, timerfd and signalfd; answers sent with sendfile and splice.
        native = self.native(target("evloop_v1"), [self.tmp])
        self.assertEqual(native.returncode, 0, native.stdout)
        self.assertIn(b"peer closed", native.stdout)
        for copies in (2, 3):
            r = self.tandem([target("evloop_v1")], [self.tmp], opts=["--copies", str(copies)])
            self.assertEqual((r.code, r.out), (0, native.stdout), f"--copies {copies}: {r.err}")
            self.assertNoDivergence(r)


class SharedMemory(TandemTest):
    """MAP_SHARED mappings: of a file, written once (the preferred version maps the file, the
    others get an anonymous copy of its content); anonymous, shared with a forked child."""

    def test_file_mapping_written_once(self):
        path = os.path.join(self.tmp, "counter")
        r = self.tandem([target("shmfile_v1")] * 2, args=[path])
        lines = [f"counter {i}" for i in range(1, 11)]
        lines += ["stored 10", "parent reads: written by the child"]
        self.assertEqual((r.code, r.out.decode().splitlines()), (0, lines), r.err)
        self.assertNoDivergence(r)
        with open(path, "rb") as f:
            self.assertEqual(int.from_bytes(f.read(4), "little"), 10)
        self.assertEqual(len(r.of("shared-mapping")), 1)


if __name__ == "__main__":
    unittest.main()
