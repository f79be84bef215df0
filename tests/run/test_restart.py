"""Restart of crashed versions: checkpoints, replay of the leader's results, rejoin, and Rx-style
recovery from a deterministic crash (issue 4)."""
import json
import os
import signal
import sys
import socket
import subprocess
import threading
import time
import unittest

from harness import TANDEM, TandemTest, target, free_port


class EchoClient:
    def __init__(self, port):
        deadline = time.monotonic() + 20
        while True:
            try:
                self.s = socket.create_connection(("127.0.0.1", port), timeout=10)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def echo(self, msg):
        self.s.sendall(msg)
        got = b""
        while len(got) < len(msg):
            chunk = self.s.recv(4096)
            if not chunk:
                break
            got += chunk
        return got

    def close(self):
        self.s.close()


class Restart(TandemTest):
    def serve(self, bins, connections, checkpoint=50):
        """Runs the echo server under tandem in a thread; returns (port, thread, results)."""
        port = free_port()
        results = []
        events = os.path.join(self.events_dir, "events.jsonl")

        def run():
            results.append(self.tandem(bins, args=[str(port), str(connections)], timeout=90,
                                       opts=["--checkpoint", str(checkpoint)]))

        t = threading.Thread(target=run)
        t.start()
        return port, t, results

    def wait_for_event(self, kind, timeout=30):
        deadline = time.monotonic() + timeout
        while kind not in [e["event"] for e in self.events_so_far()]:
            self.assertLess(time.monotonic(), deadline, f"no {kind} event")
            time.sleep(0.02)

    def test_killed_version_is_restarted_and_rejoins(self):
        port, t, results = self.serve([target("echo_server_v1")] * 2, 2)
        c = EchoClient(port)
        for i in range(200):
            self.assertEqual(c.echo(b"m%d" % i), b"m%d" % i)
        pids = [e for e in self.events_so_far() if e["event"] == "start"][0]["pids"]
        # The follower is killed from outside (it never performs I/O itself, so nothing it
        # was doing can be lost or done twice); it comes back from its last checkpoint.
        os.kill(pids[0], signal.SIGKILL)
        for i in range(200, 400):
            self.assertEqual(c.echo(b"m%d" % i), b"m%d" % i)
        c.close()
        c = EchoClient(port)
        self.assertEqual(c.echo(b"after the restart"), b"after the restart")
        c.close()
        t.join(90)
        r = results[0]
        self.assertEqual(r.code, 0, r.err)
        self.assertEqual(r.out, b"listening\nserved 2\n")
        kinds = r.kinds()
        self.assertIn("checkpoint", kinds)
        self.assertEqual([e["version"] for e in r.of("restart")], [1])
        self.assertEqual([e["version"] for e in r.of("rejoined")], [1])
        self.assertEqual(r.of("rejoined")[0]["withheld_fds"], [])
        self.assertNotIn("drop", kinds)
        self.assertNotIn("divergence", kinds)
        self.assertEqual(sorted(e["version"] for e in r.of("exit")), [1, 2])

    def test_a_rejoined_copy_does_not_win_divergences_at_once(self):
        # echo_server_which answers "which?" with its version. Prefer-new follows version 2's
        # answer; after version 2 was killed and its copy rejoined, the version that kept running
        # wins for the copy's next 1000 calls (its state was rebuilt from a log: nginx's copy
        # won an early read against the leader that had served all along, which was dropped),
        # then version 2 again.
        port, t, results = self.serve([target("echo_server_which_v1"),
                                       target("echo_server_which_v2")], 1)
        c = EchoClient(port)
        for i in range(100):
            self.assertEqual(c.echo(b"m%d" % i), b"m%d" % i)
        self.assertEqual(c.echo(b"which?"), b"vers 2")
        pids = [e for e in self.events_so_far() if e["event"] == "start"][0]["pids"]
        os.kill(pids[1], signal.SIGKILL)
        self.assertEqual(c.echo(b"m100"), b"m100")
        self.wait_for_event("rejoined")
        self.assertEqual(c.echo(b"which?"), b"vers 1")
        for i in range(600):  # a read and a write each: 1200 calls
            self.assertEqual(c.echo(b"n%d" % i), b"n%d" % i)
        self.assertEqual(c.echo(b"which?"), b"vers 2")
        c.close()
        t.join(90)
        r = results[0]
        self.assertEqual(r.code, 0, r.err)
        self.assertEqual([e["version"] for e in r.of("restart")], [2], r.err)
        self.assertEqual([e["winner"] for e in r.of("divergence")], [2, 1, 2], r.err)
        self.assertNotIn("drop", r.kinds())
        self.assertEqual(sorted(e["version"] for e in r.of("exit")), [1, 2])

    def test_the_process_that_holds_a_record_lock_executes_until_it_releases_it(self):
        # locker's parent takes a POSIX lock (version 2 leads, so version 2's parent holds it);
        # its child's version 2 crashes meanwhile and version 1 becomes the leader. The
        # parent's unlock must be made by the process that holds the lock: made by version 1's
        # it released nothing, and the child waited for the lock for good (vsftpd's sessions,
        # 1 crash-injection trial of 50).
        path = os.path.join(self.tmp, "lockfile")
        r = self.tandem([target("locker_v1"), target("locker_v2")], args=[path], timeout=30)
        self.assertEqual(r.code, 0, r.err)
        self.assertEqual(r.out, b"child locked after the parent\n")
        self.assertEqual([e["version"] for e in r.of("crash")], [2], r.err)
        self.assertEqual([e["version"] for e in r.of("promotion")], [1], r.err)
        self.assertIn(2, [e["version"] for e in r.of("rejoined")], r.err)
        self.assertNotIn("drop", r.kinds())

    def test_restart_replays_descriptor_calls_made_at_start_up(self):
        # The only checkpoint is the first one, before start-up: the copy replays the opening
        # of /dev/null, dup2 and fcntl on it. The log does not keep character devices, pipes
        # or sockets; the copy's own dup2 and fcntl must still succeed as they did the first
        # time, or the program takes an error path and cannot rejoin.
        port, t, results = self.serve([target("echo_server_fdsetup_v1")] * 2, 1, checkpoint=100000)
        c = EchoClient(port)
        for i in range(20):
            self.assertEqual(c.echo(b"m%d" % i), b"m%d" % i)
        pids = [e for e in self.events_so_far() if e["event"] == "start"][0]["pids"]
        os.kill(pids[0], signal.SIGKILL)
        for i in range(20, 40):
            self.assertEqual(c.echo(b"m%d" % i), b"m%d" % i)
        c.close()
        t.join(90)
        r = results[0]
        self.assertEqual(r.code, 0, r.err)
        self.assertEqual([e["version"] for e in r.of("rejoined")], [1], r.err)
        self.assertNotIn("rejoin-failed", r.kinds())
        self.assertNotIn("drop", r.kinds())
        self.assertEqual(sorted(e["version"] for e in r.of("exit")), [1, 2])

    def test_restart_replays_close_of_a_connection_the_leader_closed_since(self):
        # Checkpoints every 200 calls: the last one is taken while the first connection is
        # open (400 calls of echoes), none after it closes. The follower is killed while the
        # server waits for the second connection: its copy replays the close of the first
        # connection, which the leader no longer has. The close must succeed as it did the first
        # time (this server gives up if it fails, as lighttpd logs it), or the copy cannot rejoin.
        port, t, results = self.serve([target("echo_server_checkclose_v1")] * 2, 2,
                                      checkpoint=200)
        c = EchoClient(port)
        for i in range(200):
            self.assertEqual(c.echo(b"m%d" % i), b"m%d" % i)
        c.close()
        time.sleep(0.5)
        pids = [e for e in self.events_so_far() if e["event"] == "start"][0]["pids"]
        os.kill(pids[0], signal.SIGKILL)
        c = EchoClient(port)
        for i in range(20):
            self.assertEqual(c.echo(b"n%d" % i), b"n%d" % i)
        c.close()
        t.join(90)
        r = results[0]
        self.assertEqual(r.code, 0, r.err)
        self.assertEqual(r.out, b"listening\nserved 2\n")
        self.assertEqual([e["version"] for e in r.of("restart")], [1], r.err)
        self.assertGreater(r.of("restart")[0]["checkpoint"], 0)
        self.assertEqual([e["version"] for e in r.of("rejoined")], [1], r.err)
        self.assertNotIn("rejoin-failed", r.kinds())
        self.assertNotIn("drop", r.kinds())
        self.assertEqual(sorted(e["version"] for e in r.of("exit")), [1, 2])

    def test_copy_that_joins_an_epoll_ctl_gets_its_own_cookie(self):
        # Version 2 crashes every 100 steps of a loop of epoll_ctl (a new cookie) and
        # epoll_wait (which must report it); its copies catch up while the leader makes the
        # epoll_ctl, and join it (the first copy nearly always). Without the cookie the copy registers there, its
        # next event came with the previous step's cookie (nginx's copy read another
        # connection than the leader right after its rejoin): a divergence, version 1 dropped.
        r = self.tandem([target("epoll_rejoin_v1"), target("epoll_rejoin_v2")], args=["2000"],
                        opts=["--checkpoint", "50", "--max-restarts", "30"], timeout=120)
        self.assertEqual(r.code, 0, r.err)
        self.assertEqual(r.out, b"epoll_rejoin: 2000 steps\n")
        # (A copy that has not caught up when its version's next step to crash at comes
        # crashes in its replay and is restarted again: fewer rejoins than crashes. Under load
        # a restart can be refused, once in a loaded CI run: the version then runs no more,
        # which proves nothing about cookies but breaks nothing either.)
        refused = r.of("restart-refused")
        if not refused:
            self.assertEqual(len(r.of("crash")), 20, r.kinds())
        self.assertGreater(len(r.of("rejoined")), 0, r.kinds())
        for kind in ("divergence", "rejoin-failed"):
            self.assertNotIn(kind, r.kinds())
        self.assertEqual(len(r.of("drop")), len(refused), (r.of("drop"), refused))

    def test_restarted_child_is_reaped_by_its_parent(self):
        # The child (an echo server) of version 1 faults once, on "boom" (the crash-injection
        # preload, selected by argv[0]: two paths to one binary), and is restarted from its
        # checkpoint. The copy is not its parent's child: when it exits, the parent's
        # waitpid(-1, WNOHANG) after SIGCHLD must still report it as the other version's does.
        self.restored_child_is_reported("sigchld", "a")

    def test_restored_child_is_reported_to_a_blocking_wait(self):
        # As above, but the parent blocks until the child ends (waitpid without WNOHANG, wait,
        # waitid for that pid or any child), in the version whose child was restored (a, the
        # follower) or in the other one (b, whose child's crash makes a lead). The parent must
        # get the other version's report (pid, status), not the crashed original's death, and
        # neither wait forever nor diverge.
        for how in ("wait4", "wait4any", "waitid", "waitidany"):
            for crashing in ("a", "b"):
                with self.subTest(how=how, crashing=crashing):
                    self.restored_child_is_reported(how, crashing)

    def restored_child_is_reported(self, how, crashing):
        preload = os.environ.get("CRASHINJECT", "build/tests/preload/libtandem_crashinject.so")
        tmp = os.path.join(self.tmp, f"{how}-{crashing}")
        bins = []
        for v in ("a", "b"):
            os.makedirs(os.path.join(tmp, v))
            path = os.path.join(tmp, v, "forking_echo")
            os.symlink(os.path.abspath(target("forking_echo_v1")), path)
            bins.append(path)
        env = dict(os.environ, LD_PRELOAD=os.path.abspath(preload),
                   TANDEM_CRASH_VERSION_MATCH=f"/{crashing}/forking_echo",
                   TANDEM_CRASH_PATTERN="boom", TANDEM_CRASH_ONCE="1")
        port = free_port()
        results = []
        t = threading.Thread(target=lambda: results.append(
            self.tandem(bins, args=[str(port), how], timeout=60, opts=["--checkpoint", "20"],
                        env=env)))
        t.start()
        c = EchoClient(port)
        for i in range(30):
            self.assertEqual(c.echo(b"m%d" % i), b"m%d" % i)
        self.assertEqual(c.echo(b"boom"), b"boom")
        for i in range(30):
            self.assertEqual(c.echo(b"n%d" % i), b"n%d" % i)
        c.close()
        t.join(60)
        self.assertFalse(t.is_alive(), "tandem did not end")
        r = results[0]
        self.assertEqual((r.code, r.out), (0, b"listening\nchild exited 7: ok\n"), r.err)
        crashed = 1 if crashing == "a" else 2
        self.assertEqual([(e["version"], e["signal"]) for e in r.of("crash")], [(crashed, 11)])
        self.assertEqual([e["version"] for e in r.of("restart")], [crashed], r.err)
        self.assertEqual([e["version"] for e in r.of("rejoined")], [crashed], r.err)
        self.assertEqual([e["version"] for e in r.of("restored-child-reported")], [crashed],
                         r.err)
        self.assertNotIn("divergence", r.kinds())
        self.assertNotIn("drop", r.kinds())
        self.assertEqual(sorted(e["version"] for e in r.of("exit")), [1, 2])

    def test_exit_status_after_a_restart_is_the_programs(self):
        # One version faults once on "boom" (crash-injection preload) and comes back; then
        # tandem is stopped with SIGTERM, which the echo server does not handle. The status is
        # 128 + SIGTERM, as natively: the crash it came back from does not count. (Which
        # version decides the status depends on the order the versions die in: the leader and
        # the follower crash in turn, twice each.)
        preload = os.environ.get("CRASHINJECT", "build/tests/preload/libtandem_crashinject.so")
        bins = []
        for v in ("a", "b"):
            os.makedirs(os.path.join(self.tmp, v))
            path = os.path.join(self.tmp, v, "echo_server")
            os.symlink(os.path.abspath(target("echo_server_v1")), path)
            bins.append(path)
        for run, crashing in enumerate(("b", "a", "b", "a")):
            with self.subTest(run=run, crashing=crashing):
                self.stopped_after_restart(bins, preload, crashing, run)

    def stopped_after_restart(self, bins, preload, crashing, run):
        env = dict(os.environ, LD_PRELOAD=os.path.abspath(preload),
                   TANDEM_CRASH_VERSION_MATCH=f"/{crashing}/echo_server",
                   TANDEM_CRASH_PATTERN="boom", TANDEM_CRASH_ONCE="1")
        port = free_port()
        self.forget_events()
        events = os.path.join(self.events_dir, f"events-{run}.jsonl")
        proc = subprocess.Popen([TANDEM, "run", "-q", "--events", events, "--checkpoint", "20",
                                 *bins, "--", str(port), "5"], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            c = EchoClient(port)
            for i in range(30):
                self.assertEqual(c.echo(b"m%d" % i), b"m%d" % i)
            self.assertEqual(c.echo(b"boom"), b"boom")
            for i in range(30):
                self.assertEqual(c.echo(b"n%d" % i), b"n%d" % i)
            self.wait_for_event("rejoined")
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        kinds = [e["event"] for e in self.events_so_far()]
        self.assertIn("restart", kinds)
        self.assertEqual(proc.returncode, 128 + signal.SIGTERM, err)

    def test_deterministic_crash_rejoins_with_its_input_withheld(self):
        port, t, results = self.serve([target("echo_server_v1"), target("echo_server_v2")], 2)
        c = EchoClient(port)
        # "boom" crashes the new version every time it reads it: restarted, it crashes again
        # in replay at the same step; restarted once more with that input withheld (its
        # connection reset for it), it rejoins and serves the next connection with the other.
        for msg in (b"hello", b"boom"):
            self.assertEqual(c.echo(msg), msg)
        # The connection stays open until the copy rejoined: it rejoins with that connection
        # withheld. (Had the leader closed it before, the number would be shared again: see
        # the next test.)
        self.wait_for_event("rejoined")
        self.assertEqual(c.echo(b"after the crash"), b"after the crash")
        c.close()
        c = EchoClient(port)
        for msg in (b"second connection", b"both versions again"):
            self.assertEqual(c.echo(msg), msg)
        c.close()
        t.join(90)
        r = results[0]
        self.assertEqual(r.code, 0, r.err)
        self.assertEqual(r.out, b"listening\nserved 2\n")
        self.assertEqual([e["version"] for e in r.of("crash")], [2, 2])
        self.assertEqual([e["version"] for e in r.of("restart")], [2, 2])
        self.assertEqual(r.of("restart")[1]["withheld_fd"], r.of("withheld")[0]["fd"])
        rejoined = r.of("rejoined")
        self.assertEqual(len(rejoined), 1)
        self.assertEqual(rejoined[0]["withheld_fds"], [r.of("withheld")[0]["fd"]])
        self.assertNotIn("drop", r.kinds())
        self.assertNotIn("divergence", r.kinds())
        # Both versions ran to the end: the restarted one served the second connection too.
        self.assertEqual(sorted(e["version"] for e in r.of("exit")), [1, 2])

    def test_withheld_connection_closed_by_the_leader_while_the_copy_replays(self):
        # A long log (one checkpoint, before start-up; 1500 echoes before "boom"): the copy
        # replays it twice (crash, then the withheld input) while the leader finishes the
        # first connection and accepts the second, at the same descriptor number. The leader's
        # close of the withheld connection makes that number shared again for the copy too:
        # it replays the second connection's steps and rejoins without diverging.
        port, t, results = self.serve([target("echo_server_v1"), target("echo_server_v2")], 2,
                                      checkpoint=100000)
        c = EchoClient(port)
        for i in range(1500):
            self.assertEqual(c.echo(b"m%d" % i), b"m%d" % i)
        for msg in (b"boom", b"after the crash"):
            self.assertEqual(c.echo(msg), msg)
        c.close()
        c = EchoClient(port)
        for i in range(20):
            self.assertEqual(c.echo(b"n%d" % i), b"n%d" % i)
        replay = max(e["replay_steps"] for e in self.events_so_far() if e["event"] == "restart")
        self.wait_for_event("rejoined")
        for i in range(20, 40):
            self.assertEqual(c.echo(b"n%d" % i), b"n%d" % i)
        c.close()
        t.join(90)
        r = results[0]
        self.assertEqual(r.code, 0, r.err)
        self.assertEqual(r.out, b"listening\nserved 2\n")
        self.assertGreater(replay, 3000)
        self.assertEqual([e["version"] for e in r.of("restart")], [2, 2])
        withheld = r.of("withheld")[0]["fd"]
        # The second connection got the number of the first (the lowest free one).
        self.assertEqual(r.of("rejoined")[0]["withheld_fds"], [], r.err)
        self.assertNotIn("drop", r.kinds())
        self.assertNotIn("divergence", r.kinds())
        self.assertEqual(sorted(e["version"] for e in r.of("exit")), [1, 2])
        self.assertGreaterEqual(withheld, 3)

    def test_without_checkpoints_a_crashed_version_is_dropped(self):
        port, t, results = self.serve([target("echo_server_v1"), target("echo_server_v2")], 1,
                                      checkpoint=0)
        c = EchoClient(port)
        for msg in (b"hello", b"boom", b"after"):
            self.assertEqual(c.echo(msg), msg)
        c.close()
        t.join(90)
        r = results[0]
        self.assertEqual(r.code, 0, r.err)
        self.assertNotIn("restart", r.kinds())
        self.assertEqual([e["version"] for e in r.of("drop")], [2])

    def test_timer_left_after_a_restart(self):
        # A copy restored from a checkpoint has no timer (fork does not copy it): its alarm()
        # answers what the version saw the first time, and later alarms the leader's value.
        lines = "".join(f"line {i}\n" for i in range(6)) + "crash\nafter\ncrash\n"
        r = self.tandem([target("alarmcrash_v1"), target("alarmcrash_v2")],
                        stdin=lines.encode(), opts=["--checkpoint", "3"])
        expected = "".join(f"echo: line {i}\n" for i in range(6))
        expected += "timer set: yes\necho: after\ntimer set: yes\n"
        self.assertEqual((r.code, r.out.decode()), (0, expected), r.err)
        self.assertEqual(len(r.of("restart")), 1, r.err)
        self.assertEqual(len(r.of("rejoined")), 1, r.err)
        self.assertEqual((r.of("divergence"), r.of("drop")), ([], []), r.err)


class LineClient:
    """A client of rx_server: GET NAME lines, each answered with the file's bytes."""
    def __init__(self, port, files):
        self.files = files
        self.c = EchoClient(port)

    def get(self, name):
        self.c.s.sendall(f"GET {name}\n".encode())
        want = self.files[name]
        got = b""
        while len(got) < len(want):
            chunk = self.c.s.recv(65536)
            if not chunk:
                break
            got += chunk
        return got == want

    def close(self):
        self.c.close()


class RxServer(TandemTest):
    """Rx (a deterministic crash: the input withheld) with an event-loop file server that has
    lighttpd's and nginx's habits (target rx_server): several connections at once, per request
    a file lookup and a buffered log line on calls that do not name the connection, and a
    shutdown of a connection that fails. Version 2 crashes every time it reads "boom"."""

    def serve(self, opts):
        root = os.path.join(self.tmp, "www")
        os.makedirs(root)
        files = {}
        for i, name in enumerate(["alpha", "beta", "gamma", "delta", "boom"]):
            files[name] = "".join(f"{name} {k}\n" for k in range(10 + 30 * i)).encode()
            with open(os.path.join(root, name), "wb") as f:
                f.write(files[name])
        log = os.path.join(self.tmp, "access.log")
        port = free_port()
        results = []

        def run():
            results.append(self.tandem([target("rx_server_v1"), target("rx_server_v2")],
                                       args=[str(port), root, log, "3"], timeout=90,
                                       opts=["--checkpoint", "20", *opts]))

        t = threading.Thread(target=run)
        t.start()
        return port, files, log, t, results

    def wait_for_event(self, kind, timeout=30):
        deadline = time.monotonic() + timeout
        while True:
            for name in os.listdir(self.events_dir):
                with open(os.path.join(self.events_dir, name)) as f:
                    if any(json.loads(line)["event"] == kind for line in f if line.strip()):
                        return
            self.assertLess(time.monotonic(), deadline, f"no {kind} event")
            time.sleep(0.02)

    def check(self, opts):
        port, files, log, t, results = self.serve(opts)
        a = LineClient(port, files)
        b = LineClient(port, files)
        names = ["alpha", "beta", "gamma", "delta"]
        asked = 0
        for k in range(6):
            self.assertTrue(a.get(names[k % 4]))
            self.assertTrue(b.get(names[(k + 1) % 4]))
            asked += 2
        # The crash: the other version answers; version 2's copy crashes again in replay, is
        # restored with this input withheld (its connection reset for it) and rejoins.
        self.assertTrue(a.get("boom"))
        asked += 1
        self.wait_for_event("rejoined")
        # Both connections go on: the withheld one is the other version's alone, its lookups
        # and log lines too; the log's buffer is written at other times in the two versions.
        for k in range(40):
            self.assertTrue(a.get(names[k % 4]), f"request {k} on the withheld connection")
            self.assertTrue(b.get(names[(k + 2) % 4]), f"request {k}")
            asked += 2
        a.close()
        b.close()
        # A third connection, served by both versions again.
        c = LineClient(port, files)
        for k in range(10):
            self.assertTrue(c.get(names[k % 4]))
            asked += 1
        c.close()
        t.join(90)
        r = results[0]
        self.assertEqual((r.code, r.out), (0, b"listening\nserved 3\n"), r.err)
        self.assertEqual([e["version"] for e in r.of("crash")], [2, 2], r.err)
        self.assertEqual([e["version"] for e in r.of("restart")], [2, 2], r.err)
        withheld = r.of("withheld")
        self.assertEqual([e["version"] for e in withheld], [2], r.err)
        rejoined = r.of("rejoined")
        self.assertEqual(len(rejoined), 1, r.err)
        self.assertTrue(rejoined[0]["rx"])
        self.assertEqual(rejoined[0]["withheld_fd"], withheld[0]["fd"])
        self.assertIn("withheld", rejoined[0]["guarantee"])
        self.assertEqual([e for e in r.events if e["event"] in ("drop", "divergence",
                                                               "rejoin-failed")], [], r.err)
        self.assertEqual(sorted(e["version"] for e in r.of("exit")), [1, 2], r.err)
        # Every request's line once: the log has the bytes of the version without the
        # withheld input's gap, written once.
        with open(log) as f:
            lines = f.read().splitlines()
        self.assertEqual(len(lines), asked)

    def test_leader_crashes_deterministically(self):
        self.check([])

    def test_follower_crashes_deterministically(self):
        self.check(["--leader", "1"])


class NoCheckpoint(Exception):
    """The checkpoint a case needs was not taken (a precondition, not the property tested)."""


class ExecutorDeath(TandemTest):
    """The leader dies while it executes a call for the others: a thread of it crashes while
    another of its threads writes a big reply (blocked: the client does not read yet), or the
    whole single-threaded leader is killed from outside then. The write went through in part;
    that count is what the others get, and the program writes the rest with the next leader:
    the client gets the reply exactly once (before, the next leader wrote the whole reply
    again after the part already sent)."""

    SIZE = 4_000_000

    @staticmethod
    def connect(port):
        deadline = time.monotonic() + 20
        while True:
            s = socket.socket()
            # A small receive window: the server's write blocks after a few kilobytes.
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
            s.settimeout(20)
            try:
                s.connect(("127.0.0.1", port))
                return s
            except OSError:
                s.close()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    @staticmethod
    def recv_exact(s, n):
        got = bytearray()
        while len(got) < n:
            chunk = s.recv(min(1 << 20, n - len(got)))
            if not chunk:
                break
            got += chunk
        return bytes(got)

    def events(self, path):
        with open(path) as f:
            return [json.loads(line) for line in f if line.strip()]

    def run_case(self, threads, checkpoint, name="big_reply", opts=()):
        port = free_port()
        events = os.path.join(self.events_dir,
                              f"events-{name}-{threads}-{checkpoint}-{len(opts)}-"
                              f"{time.monotonic_ns()}.jsonl")
        connections = 3 if threads else 1
        proc = subprocess.Popen([TANDEM, "run", "-q", "--events", events, "--checkpoint",
                                 str(checkpoint), *opts, target(f"{name}_v1"),
                                 target(f"{name}_v2"),
                                 "--", str(port), str(connections), "1" if threads else "0"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            a = self.connect(port)
            a.sendall(b"hello")
            self.assertEqual(self.recv_exact(a, 8), b"ok hello")
            a.sendall(b"big %d" % self.SIZE)
            # The leader (version 2) is inside its write of the reply once its first bytes
            # arrive; with the client not reading, it blocks there after a few kilobytes.
            self.assertEqual(a.recv(1, socket.MSG_PEEK), b"a")
            time.sleep(0.2)
            if threads:
                b = self.connect(port)
                b.sendall(b"hello")
                self.assertEqual(self.recv_exact(b, 8), b"ok hello")
                if checkpoint:
                    # A checkpoint of its 3 threads (taken when the main thread makes its
                    # next call, accept): the crashed version comes back from it.
                    deadline = time.monotonic() + 20
                    while not any(e["event"] == "checkpoint" and e.get("threads") == 3
                                  for e in self.events(events)):
                        if time.monotonic() > deadline:
                            raise NoCheckpoint()
                        time.sleep(0.02)
                b.sendall(b"crash")  # version 2 faults in this connection's thread
                self.assertEqual(self.recv_exact(b, 8), b"ok crash")
            else:
                pids = [e for e in self.events(events) if e["event"] == "start"][0]["pids"]
                os.kill(pids[1], signal.SIGKILL)
            reply = self.recv_exact(a, self.SIZE)
            expected = (bytes(range(ord("a"), ord("z") + 1)) * (self.SIZE // 26 + 1))[:self.SIZE]
            if reply != expected:
                at = next((i for i in range(min(len(reply), self.SIZE))
                           if reply[i] != expected[i]), len(reply))
                self.fail(f"the reply differs from byte {at} on")
            a.sendall(b"end")
            self.assertEqual(self.recv_exact(a, 6), b"ok end", "more bytes after the reply")
            a.close()
            if threads:
                b.sendall(b"after")
                self.assertEqual(self.recv_exact(b, 8), b"ok after")
                b.close()
                self.connect(port).close()
            out, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        evs = self.events(events)
        kinds = [e["event"] for e in evs]
        expected_out = "listening\nconnection 1: 3 requests, %d bytes\n" % (self.SIZE + 14)
        if threads:
            expected_out += "connection 2: 3 requests, 24 bytes\nconnection 3: 0 requests, 0 bytes\n"
        self.assertEqual((proc.returncode, out.decode()), (0, expected_out), err)
        died = [e for e in evs if e["event"] == "executor-died" and e["call"].startswith("write")]
        self.assertEqual(len(died), 1, err)
        self.assertEqual((died[0]["version"], died[0]["outcome"], died[0]["resolution"]),
                         (2, "returned", "served from its result"))
        self.assertGreater(died[0]["result"], 0)
        self.assertLess(died[0]["result"], self.SIZE)
        if checkpoint:
            self.assertEqual([e["version"] for e in evs if e["event"] == "restart"], [2], err)
            self.assertIn(2, [e["version"] for e in evs if e["event"] == "rejoined"], err)
            self.assertNotIn("drop", kinds)
        else:
            self.assertEqual([e["version"] for e in evs if e["event"] == "drop"], [2], err)
        self.assertNotIn("divergence", kinds)
        self.assertNothingLeft(target(f"{name}_v"))

    def test_thread_of_the_leader_crashes_while_another_writes(self):
        for checkpoint in (0, 50):
            with self.subTest(checkpoint=checkpoint):
                # The checkpoint of the 3 threads can only be taken at the main thread's next
                # call (accept); a try skipped there is final (docs/limits.md), about 1 run in
                # 10 under load. Without it the case tests nothing: it is run again, at most
                # twice more.
                for attempt in range(3):
                    try:
                        self.run_case(threads=True, checkpoint=checkpoint)
                        break
                    except NoCheckpoint:
                        if attempt == 2:
                            self.fail("no checkpoint of the 3 threads in 3 runs")

    def test_leader_killed_while_it_writes(self):
        for checkpoint in (0, 50):
            with self.subTest(checkpoint=checkpoint):
                self.run_case(threads=False, checkpoint=checkpoint)

    def test_leader_dies_inside_a_merged_write(self):
        # Version 1 writes the reply in two halves, version 2 (the leader) in one: the first
        # half is written once for both (merged), by the leader, which dies inside it. Version
        # 1 takes the count written as its part and writes only the rest. Merged at a
        # rendezvous (--lockstep), or against the leader's early write.
        for opts in (["--lockstep"], []):
            with self.subTest(opts=opts):
                self.run_case(threads=True, checkpoint=0, name="big_reply_chunked", opts=opts)


if __name__ == "__main__":
    unittest.main()


def mt_echo_client(port, connections, boom_at=None, messages=60, first=0):
    """Talks to mt_echo: `connections` connections one after the other (numbered from `first`),
    `messages` echoes each (checked); connection `boom_at` sends "boom" halfway (version 2
    faults on it, once)."""
    for c in range(first, first + connections):
        client = EchoClient(port)
        for i in range(messages):
            msg = b"boom%d" % c if (c == boom_at and i == messages // 2) else b"c%d-m%d" % (c, i)
            got = client.echo(msg)
            if got != msg:
                raise AssertionError(f"connection {c} message {i}: sent {msg!r}, got {got!r}")
        client.close()


class MultiThreadedRestart(TandemTest):
    """A crashed version of a multi-threaded process (main thread, two workers fed through
    pipes, a background thread in a futex wait) comes back whole from a checkpoint of all its
    threads and rejoins; the output is the native one."""

    CONNECTIONS = 6

    def native_output(self, name="mt_echo", client=None, boom_at=2, connections=CONNECTIONS):
        port = free_port()
        proc = subprocess.Popen([target(f"{name}_v1"), str(port), str(connections)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if client is None:
            mt_echo_client(port, connections, boom_at=boom_at)
        else:
            client(port)
        out, err = proc.communicate(timeout=60)
        self.assertEqual(proc.returncode, 0, err)
        return out

    def run_under_tandem(self, opts, during, name="mt_echo", checkpoint="50",
                         connections=CONNECTIONS):
        port = free_port()
        results = []

        def run():
            results.append(self.tandem([target(f"{name}_v1"), target(f"{name}_v2")],
                                       args=[str(port), str(connections)], timeout=120,
                                       opts=["--checkpoint", checkpoint, *opts]))

        t = threading.Thread(target=run)
        t.start()
        try:
            during(port)
        except Exception as e:
            # What tandem is doing now (a hang) or said at its end (its stderr) is what tells
            # why the client failed.
            now = self.describe_running()
            t.join(130)
            said = results[0].err.decode(errors="replace")[-3000:] if results else "(running)"
            raise AssertionError(f"{e!r}; tandem ended: {not t.is_alive()}; when the client "
                                 f"failed:\n{now}\nits stderr:\n{said}")
        t.join(130)
        self.assertFalse(t.is_alive(), "tandem did not end")
        return results[0]

    def check_rejoined(self, r, crashed_version, threads=4):
        self.assertEqual(r.code, 0, r.err)
        restarts = r.of("restart")
        self.assertEqual([e["version"] for e in restarts], [crashed_version], r.err)
        self.assertEqual(restarts[0]["threads"], threads, restarts[0])
        self.assertIn(crashed_version, [e["version"] for e in r.of("rejoined")], r.err)
        self.assertNotIn("rejoin-failed", r.kinds(), r.err)
        self.assertNotIn("drop", r.kinds(), r.err)
        self.assertNotIn("restart-refused", r.kinds(), r.err)
        self.assertEqual(sorted(e["version"] for e in r.of("exit")), [1, 2])
        self.assertTrue(all(e["code"] == 0 for e in r.of("exit")), r.of("exit"))

    def test_leader_crash_in_a_worker_thread(self):
        # Version 2 leads (prefer-new) and faults in the worker that reads "boom"; version 1
        # is promoted at that call and goes on; version 2's process comes back with its 4
        # threads, replays what each thread's pair did since the checkpoint, and rejoins.
        native = self.native_output()
        r = self.run_under_tandem([], lambda port: mt_echo_client(port, self.CONNECTIONS, 2))
        self.assertEqual([e["version"] for e in r.of("crash")], [2], r.err)
        self.check_rejoined(r, 2)
        self.assertEqual(r.out, native)

    def test_crash_while_a_thread_waits_with_a_deadline(self):
        # mt_timed's background thread reads the clock, then waits on its condition variable
        # with a deadline (as jemalloc's background thread in redis): each checkpoint's freeze
        # interrupts that futex wait, which the kernel continues with restart_syscall. That
        # restart is the thread's own (not its last intercepted call, clock_gettime, served
        # from the leader), and a copy of the thread taken inside it is restored at the futex
        # wait it continues (before, the copy met restart_syscall where its log had
        # clock_gettime, and could not rejoin: redis, 1 crash-injection trial of 50). Both
        # the leader and the follower crash in turn.
        native = self.native_output("mt_timed")
        for leader in (2, 1):
            with self.subTest(leader=leader):
                r = self.run_under_tandem(["--leader", str(leader)],
                                          lambda port: mt_echo_client(port, self.CONNECTIONS, 2),
                                          name="mt_timed", checkpoint="20")
                self.assertEqual([e["version"] for e in r.of("crash")], [2], r.err)
                self.check_rejoined(r, 2)
                self.assertEqual(r.out, native)

    def test_follower_killed_from_outside_several_times(self):
        # The follower's whole process is killed with SIGKILL three times, each time in the
        # middle of a connection (its main thread waits in accept, one worker echoes, the
        # other waits at its pipe read, which the leader makes, and the background thread in
        # a futex wait); the third time in the last connection, while its main thread waits
        # in pthread_join for the worker that serves it. Each time it comes back with its
        # threads and rejoins; the program goes on with both versions, and tandem ends. Both
        # ways round: under --leader 1 the follower is the newest version, which prefer-new
        # lets win divergences.
        connections = 8
        native = self.native_output(boom_at=None, connections=connections)
        for leader in (1, 2):
            with self.subTest(leader=leader):
                self.killed_from_outside(leader, native, connections)

    def test_follower_with_a_timed_wait_killed_from_outside_several_times(self):
        # The same with mt_timed: its background thread reads the clock (an intercepted call)
        # and then waits natively on its condition variable with a deadline. Its restored copy
        # replays that clock reading as its last step and blocks in the futex wait without
        # another intercepted call: it must count as rejoined once its log is done, or no
        # checkpoint of the process is taken again ("replaying or held") and the next kill
        # finds none (before: "no checkpoint" in about half the runs, then tandem hung).
        connections = 8
        native = self.native_output("mt_timed", boom_at=None, connections=connections)
        for leader in (1, 2):
            with self.subTest(leader=leader):
                self.killed_from_outside(leader, native, connections, name="mt_timed")

    def test_copy_killed_again_right_after_its_restart(self):
        # mt_timed's follower is killed, and its copy is killed again as soon as its restart is
        # announced: while it is given its descriptors or its threads replay or wait to be let
        # go. Its main thread's death is reported only once its other threads are gone, and
        # those stood at the stops tandem held them at: the program stalled and tandem hung
        # (5 of 10 runs), its tracer thread waiting for the dead main thread, or for the held
        # threads.
        # Now the version comes back or is dropped with an event, and the program goes on.
        connections = 4
        native = self.native_output(
            "mt_timed", lambda port: mt_echo_client(port, connections, messages=40),
            connections=connections)
        self.forget_events()
        events = self.events_so_far

        def during(port):
            for c in range(connections):
                client = EchoClient(port)
                for i in range(40):
                    if c == 1 and i == 20:
                        start = [e for e in events() if e["event"] == "start"][0]
                        os.kill(start["pids"][0], signal.SIGKILL)
                        deadline = time.monotonic() + 20
                        while not any(e["event"] == "restart" for e in events()):
                            self.assertLess(time.monotonic(), deadline, "no restart")
                            time.sleep(0.0005)
                        restart = [e for e in events() if e["event"] == "restart"][0]
                        try:
                            os.kill(restart["pid"], signal.SIGKILL)
                        except ProcessLookupError:
                            pass
                    msg = b"c%d-m%d" % (c, i)
                    self.assertEqual(client.echo(msg), msg)
                client.close()

        r = self.run_under_tandem(["--leader", "2"], during, name="mt_timed",
                                  connections=connections)
        self.assertEqual(r.code, 0, r.err)
        self.assertEqual(r.out, native)
        self.assertGreaterEqual([e["version"] for e in r.of("crash")].count(1), 1, r.err)
        self.assertNotIn("divergence", r.kinds(), r.err)
        self.assertNothingLeft(target("mt_timed_v"))

    def killed_from_outside(self, leader, native, connections, name="mt_echo"):
        # The last kill needs a checkpoint of the copy that came back, which can only be taken
        # at its main thread's next call; a try skipped there is final (docs/limits.md): the
        # whole run is made again then, at most twice more (1 run in about 20 under load).
        for attempt in range(3):
            try:
                return self.killed_from_outside_once(leader, native, connections, name)
            except NoCheckpoint:
                print(f"(no checkpoint before the last kill, run {attempt + 1}: made again)",
                      file=sys.stderr)
                if attempt == 2:
                    self.fail("no checkpoint before the last kill in 3 runs")

    def killed_from_outside_once(self, leader, native, connections, name):
        follower = 3 - leader
        self.forget_events()
        events = self.events_so_far

        def can_kill():
            # Once the copy of its last restart rejoined (its main thread, in accept; a kill
            # during its replay would be a second death "at the same place") and a checkpoint
            # of all its threads was taken since (one is tried at each call of the main
            # thread, and taken only if every thread stands at a known point).
            es = events()
            since = max([k + 1 for k, e in enumerate(es) if e["event"] == "restart"], default=0)
            return (any(e["event"] == "checkpoint" and "threads" in e for e in es[since:]) and
                    (since == 0 or any(e["event"] == "rejoined" and e["group"] == 1
                                       and e["version"] == follower for e in es[since:])))

        def rejoined_since_last_restart():
            es = events()
            since = max([k + 1 for k, e in enumerate(es) if e["event"] == "restart"], default=0)
            return since > 0 and any(e["event"] == "rejoined" and e["group"] == 1 and
                                     e["version"] == follower for e in es[since:])

        def kill():
            restarts = [e for e in events() if e["event"] == "restart"]
            pid = (restarts[-1]["pid"] if restarts else
                   [e for e in events() if e["event"] == "start"][0]["pids"][follower - 1])
            os.kill(pid, signal.SIGKILL)

        kills = []
        no_checkpoint = []

        def during(port):
            for c in range(connections):
                client = EchoClient(port)
                for i in range(60):
                    last = c == connections - 1
                    # The second kill leaves a whole connection before the last: the main
                    # thread's accept there is where a checkpoint of the copy that came
                    # back can be taken (in the last one it waits in pthread_join, and a kill
                    # in the one before left no agreed call of it after the copy rejoined).
                    due = (len(kills) < 2 and 1 <= c < connections - 2 and
                           (not kills or c >= kills[-1] + 2)) or (
                        len(kills) == 2 and last)
                    ready = (due and i >= 30 and not no_checkpoint and
                             (can_kill() or (last and i == 30)))
                    if ready and last:
                        deadline = time.monotonic() + 20
                        while not can_kill() and time.monotonic() < deadline:
                            time.sleep(0.02)
                        ready = can_kill()
                        if not ready:
                            # No kill then: the program ends normally, the run is made again
                            # (killed_from_outside).
                            no_checkpoint.append(c)
                    if ready:
                        kill()
                        kills.append(c)
                        # The client waits for the copy to catch up (its main thread rejoins
                        # at accept): with the leader serving all along, a copy may replay
                        # behind it for a long time. (Not the last time: its main thread then
                        # rejoins at the final output, once this connection ended.)
                        deadline = time.monotonic() + 20
                        while not last and not rejoined_since_last_restart():
                            self.assertLess(time.monotonic(), deadline, "no rejoin")
                            time.sleep(0.02)
                    msg = b"c%d-m%d" % (c, i)
                    self.assertEqual(client.echo(msg), msg)
                client.close()

        r = self.run_under_tandem(["--leader", str(leader)], during, name=name,
                                  connections=connections)
        if no_checkpoint:
            raise NoCheckpoint()
        self.assertEqual(len(kills), 3, kills)
        self.assertEqual(r.code, 0, r.err)
        self.assertEqual(r.out, native)
        self.assertEqual([e["version"] for e in r.of("crash")], [follower] * 3, r.err)
        # The last time, the worker without a connection ended: the checkpoint taken since
        # has 3 threads, or 4 when it was taken before (that thread is then re-created, and
        # ends again). The copy's main thread replays until the final output, which it must
        # take from the log, not write a second time.
        restarts = r.of("restart")
        self.assertEqual([(e["version"], e["threads"]) for e in restarts[:2]],
                         [(follower, 4)] * 2, r.err)
        self.assertEqual(len(restarts), 3, r.err)
        self.assertEqual(restarts[2]["version"], follower, r.err)
        self.assertIn(restarts[2]["threads"], (3, 4), r.err)
        for kind in ("drop", "restart-refused", "rejoin-failed", "divergence"):
            self.assertNotIn(kind, r.kinds(), r.err)
        self.assertEqual(sorted(e["version"] for e in r.of("exit")), [1, 2])
        self.assertNothingLeft(target(f"{name}_v"))

    def test_follower_crash_in_a_worker_thread(self):
        native = self.native_output()
        r = self.run_under_tandem(["--leader", "1"],
                                  lambda port: mt_echo_client(port, self.CONNECTIONS, 2))
        self.assertEqual([e["version"] for e in r.of("crash")], [2], r.err)
        self.check_rejoined(r, 2)
        self.assertEqual(r.out, native)

    # mt_handoff hands each connection to a worker as memcached does: the descriptor goes into
    # the worker's queue in memory, and only a wake-up through the worker's eventfd is a system
    # call; the main thread makes bookkeeping calls between accept and the hand-over. With
    # --checkpoint 1000 (the default) the copy is the one taken once the threads exist: its main
    # thread replays every accept, bookkeeping and hand-over since. Its worker replays
    # epoll_wait and the eventfd's read from its log at once; before the replay order it found
    # the queue empty (its main thread had not replayed up to the hand-over yet), made
    # epoll_wait where its log had getpeername and was dropped (rejoin-failed), as memcached's
    # restored workers were in 10 of 10 crash-injection trials.
    def check_handoff(self, opts):
        native = self.native_output("mt_handoff")
        r = self.run_under_tandem(opts, lambda port: mt_echo_client(port, self.CONNECTIONS, 2),
                                  name="mt_handoff", checkpoint="1000")
        self.assertEqual([e["version"] for e in r.of("crash")], [2], r.err)
        self.assertNotIn(b"queue empty", r.err)
        self.check_rejoined(r, 2, threads=3)
        self.assertEqual(r.out, native)

    def test_leader_crash_after_a_hand_over_through_memory(self):
        self.check_handoff([])

    def test_follower_crash_after_a_hand_over_through_memory(self):
        self.check_handoff(["--leader", "1"])

    def test_copy_replays_what_the_leader_did_after_its_threads_ended(self):
        # The crash is on the last message of the last connection: the promoted leader's
        # workers end and its main thread, alone again, prints its report while the restored
        # copy still replays. The log stays until the copy caught up. It was dropped at the
        # leader's first call with one thread (its checkpoints were of threads that are gone):
        # the copy's main thread found its log ended before the report and printed it a second
        # time, or was dropped (its log discarded).
        last = self.CONNECTIONS - 1

        def client(port):
            mt_echo_client(port, last)
            mt_echo_client(port, 1, boom_at=last, messages=2, first=last)

        native = self.native_output("mt_handoff", client)
        r = self.run_under_tandem([], client, name="mt_handoff", checkpoint="1000")
        self.assertEqual([e["version"] for e in r.of("crash")], [2], r.err)
        self.check_rejoined(r, 2, threads=3)
        self.assertEqual(r.out, native)
