"""Signal paths under `tandem run` (issue 4): each mode of the `signals` target prints what a
native run prints, in every version, without divergence (tests/targets/signals.c)."""
import os
import signal
import subprocess
import time
import unittest

from harness import TANDEM, TandemTest, target


class Signals(TandemTest):
    def same_as_native(self, mode, copies_list=(2, 3)):
        native = self.native(target("signals_v1"), [mode])
        self.assertEqual(native.returncode, 0, native.stderr)
        for copies in copies_list:
            r = self.tandem([target("signals_v1")], [mode], opts=["--copies", str(copies)])
            self.assertEqual((r.code, r.out), (0, native.stdout), f"--copies {copies}: {r.err}")
            self.assertNoDivergence(r)
        return r

    def test_timer_signal_reaches_every_version_or_none(self):
        # 300 timers armed and cancelled around a sleep of the same length: in some rounds a
        # version's timer fires just before the cancel and another's just after.
        self.same_as_native("timers")

    def test_sigchld_from_children(self):
        self.same_as_native("sigchld")

    def test_wait_for_a_reaped_child_interrupted_by_another_childs_sigchld(self):
        # Version 2 reaps its first child at once; version 1's copy of it takes a while to end,
        # and version 1's wait for it is interrupted by its second child's SIGCHLD. It must
        # still reap that child in the same round (dash waited once more than the others for
        # a pipeline's children: 1 run in 10 of test_fork_exec_and_shell_pipeline).
        native = self.native(target("reaper_v1"))
        self.assertEqual(native.stdout, b"reaped 2, statuses 7\n" * 3)
        for _ in range(3):
            r = self.tandem([target("reaper_v1"), target("reaper_v2")])
            self.assertEqual((r.code, r.out), (0, native.stdout), r.err)
            self.assertNoDivergence(r)

    def test_sigpipe_reaches_the_versions_served_the_write(self):
        # Only the leader writes; the followers get its EPIPE and the SIGPIPE with it, before
        # their next instruction (the handler's count is printed right after the write).
        self.same_as_native("sigpipe")

    def test_handler_on_alternate_stack(self):
        self.same_as_native("altstack")

    def test_blocking_read_interrupted_by_timer(self):
        # Without SA_RESTART the read fails with EINTR; with it, the read goes on. The leader
        # blocks in the read it executes for the others while a follower's timer fires.
        self.same_as_native("eintr")

    def test_signalfd(self):
        self.same_as_native("signalfd")

    def test_sighup_sent_to_tandem_reaches_the_program(self):
        events = os.path.join(self.events_dir, "hup.jsonl")
        proc = subprocess.Popen([TANDEM, "run", "-q", "--events", events, "--copies", "2",
                                 target("signals_v1"), "--", "hup"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            self.assertEqual(proc.stdout.readline(), b"hup: ready\n")
            proc.send_signal(signal.SIGHUP)
            self.assertEqual(proc.stdout.readline(), b"hup: got SIGHUP\n")
            time.sleep(0.1)
            proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=20)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        self.assertEqual((proc.returncode, out), (128 + signal.SIGTERM, b""), err)
        self.assertNothingLeft("signals_v1")


if __name__ == "__main__":
    unittest.main()
