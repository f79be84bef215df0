"""Time-traveling state transfer: every update is validated by transferring the new state back into
a reversed copy of the old process, which the old process compares with itself.

- a correct update of each example version commits with full coverage;
- forward callbacks without backward ones leave their objects unvalidated: the update commits and
  reports the lower coverage; --no-validate transfers forward only;
- a wrong callback (writes one byte too many, corrupts a pointer, forgets a field) is caught by the
  comparison: the update is rolled back, the old process serves the same data, and the report
  names the first differing member;
- updating back to the previous version (a cold rollback) converts with the backward callbacks.
"""
import re
import time
import unittest

from harness import (LiveTestCase, KvClient, LineTarget, alive, example_bin, live_bin,
                     our_children, start_kvstore)

KEYS = 120
COVERAGE = re.compile(r"validated (\d+\.\d)% \((\d+) of (\d+) objects, (\d+) of (\d+) bytes\)")


def coverage(result):
    m = COVERAGE.search(result.stdout)
    return (float(m.group(1)), int(m.group(2)), int(m.group(3))) if m else None


class TtstTest(LiveTestCase):
    def start(self, version="v1"):
        server, port = start_kvstore(self, version)
        c = KvClient(port)
        for i in range(KEYS):
            self.assertEqual(c.cmd(f"SET key{i} value{i}"), "OK")
        for i in range(30):
            c.cmd(f"GET key{i % 7}")
        c.cmd("NOSUCH")
        return server, port, c

    def snapshot(self, c):
        return [c.cmd(f"HITS key{i}") for i in range(7)] + [c.cmd(f"GET key{i}")
                                                             for i in range(7, KEYS)]

    def assertCommittedWith(self, r, full):
        self.assertCommitted(r)
        cov = coverage(r)
        self.assertIsNotNone(cov, r.stdout)
        if full:
            self.assertEqual(cov[0], 100.0, r.stdout)
            self.assertEqual(cov[1], cov[2], r.stdout)
        else:
            self.assertLess(cov[0], 100.0, r.stdout)
        validated = [e for e in r.events if e["event"] == "validated"]
        self.assertEqual(len(validated), 1, r.events)
        self.assertEqual(validated[0]["differing_words"], 0)
        self.assertGreater(validated[0]["bytes_compared"], 0)
        return cov

    def assertCaught(self, server, port, c, before, new_bin, where):
        r = self.update(server.pid, new_bin)
        self.assertFailed(r, "state_differs", "differs from the original")
        self.assertIn(where, r.stderr)
        self.assertIn("keeps running unchanged", r.stderr)
        # The past is intact: the same data on the same connection, and nothing left behind (the
        # new version and the reversed copy were killed and reaped by the old process).
        self.assertTrue(alive(server.pid))
        self.assertEqual(our_children(), [server.pid])
        self.assertEqual(self.snapshot(KvClient(port)), before)
        self.assertEqual(c.cmd("VERSION"), "VERSION v1")
        # A correct update still commits afterwards, fully validated.
        r = self.update(server.pid, example_bin("kvstore-v2"))
        self.assertCommittedWith(r, full=True)
        self.assertEqual(c.cmd("GET key42"), "VALUE value42")
        self.assertEqual(c.cmd("HITS key3"), "HITS 4")

    def test_each_version_commits_fully_validated(self):
        server, port, c = self.start()
        r2 = self.update(server.pid, example_bin("kvstore-v2"))
        cov2 = self.assertCommittedWith(r2, full=True)
        self.assertGreaterEqual(cov2[2], 2 * KEYS + 1)  # entries, strings, variables
        self.assertEqual(c.cmd("HITS key3"), "HITS 4")
        c.cmd("SET added after")
        r3 = self.update(r2.new_pid, example_bin("kvstore-v3"))
        self.assertCommittedWith(r3, full=True)
        self.assertEqual(c.cmd("VERSION"), "VERSION v3")
        self.assertEqual(self.snapshot(c)[7:], [f"VALUE value{i}" for i in range(7, KEYS)])
        self.assertEqual(c.cmd("GET added"), "VALUE after")
        self.assertEqual(c.cmd("HITS key3"), "HITS 4")

    def test_cxx_program_fully_validated(self):
        t = LineTarget(self, [example_bin("inventory-v1")])
        for i in range(40):
            self.assertEqual(t.cmd(f"add item{i} {i}"), "ok")
        before = t.cmd("dump")
        r = self.update(t.pid, example_bin("inventory-v2"))
        self.assertCommittedWith(r, full=True)
        self.assertEqual(t.cmd("dump").split("items=")[1], before.split("items=")[1])
        self.assertEqual(t.cmd("get item7"), "item7=7")

    def test_forward_only_callbacks_reduce_coverage(self):
        server, port, c = self.start()
        r = self.update(server.pid, live_bin("kvstore-v2-forward-only"), extra=["--verbose"])
        self.assertEqual(r.rc, 0, r)
        cov = coverage(r)
        self.assertLess(cov[0], 50.0, r.stdout)  # every entry and the table are left out
        left_out = [e["why"] for e in r.events if e["event"] == "not_validated"]
        self.assertTrue(any("struct entry: forward callback without TANDEM_BACKWARD_TYPE" in w
                            for w in left_out), left_out)
        self.assertTrue(any("kvstore.c:store: forward callback without TANDEM_BACKWARD_VAR" in w
                            for w in left_out), left_out)
        self.assertIn("not validated: ", r.stderr)  # --verbose says why
        self.assertEqual(c.cmd("GET key42"), "VALUE value42")
        self.assertEqual(c.cmd("HITS key3"), "HITS 4")

    def test_no_validate_transfers_forward_only(self):
        server, port, c = self.start()
        r = self.update(server.pid, example_bin("kvstore-v2"), extra=["--no-validate"])
        self.assertCommitted(r)
        self.assertIn("not validated (--no-validate)", r.stdout)
        events = {e["event"] for e in r.events}
        self.assertNotIn("reversed", events)
        self.assertNotIn("validated", events)
        self.assertEqual(c.cmd("GET key42"), "VALUE value42")

    def test_callback_writing_one_byte_too_many_is_caught(self):
        server, port, c = self.start()
        before = self.snapshot(KvClient(port))
        self.assertCaught(server, port, c, before, live_bin("kvstore-v2-callback-overflow"),
                          "kvstore.c:stats.last_at")

    def test_callback_corrupting_a_pointer_is_caught(self):
        server, port, c = self.start()
        before = self.snapshot(KvClient(port))
        self.assertCaught(server, port, c, before, live_bin("kvstore-v2-callback-pointer"),
                          "kvstore.c:store.buckets")

    def test_callback_forgetting_a_field_is_caught(self):
        server, port, c = self.start()
        r = self.update(server.pid, example_bin("kvstore-v2"))
        self.assertCommittedWith(r, full=True)
        v2 = r.new_pid
        time.sleep(1.1)  # creation times (seconds) are non-zero and older than the update
        before = self.snapshot(KvClient(port))
        r = self.update(v2, live_bin("kvstore-v3-forget-field"))
        self.assertFailed(r, "state_differs", ").created")
        self.assertIn("struct entry", r.stderr)
        self.assertTrue(alive(v2))
        self.assertEqual(self.snapshot(KvClient(port)), before)
        self.assertEqual(c.cmd("VERSION"), "VERSION v2")
        r = self.update(v2, example_bin("kvstore-v3"))
        self.assertCommittedWith(r, full=True)


    def test_update_back_to_the_previous_version_keeps_the_state(self):
        server, port, c = self.start()
        r2 = self.update(server.pid, example_bin("kvstore-v2"))
        self.assertCommittedWith(r2, full=True)
        self.assertEqual(c.cmd("SET later yes"), "OK")
        self.assertEqual(c.cmd("APPEND key3 -x"), "OK")  # a v2 command
        # Back to v1 (its predecessor, TANDEM_VERSION): v2's backward callbacks convert the state
        # (the 128-bucket table back into 64 buckets), running in a copy of the v2 process.
        r1 = self.update(r2.new_pid, example_bin("kvstore-v1"))
        self.assertEqual(r1.rc, 0, r1)
        self.assertIn("undo", {e["event"] for e in r1.events})
        cov = coverage(r1)
        self.assertLess(cov[0], 100.0, r1.stdout)  # what the converters changed is left out
        self.assertEqual(c.cmd("VERSION"), "VERSION v1")
        self.assertEqual(c.cmd("GET later"), "VALUE yes")
        self.assertEqual(c.cmd("GET key3"), "VALUE value3-x")
        self.assertEqual(c.cmd("HITS key3"), "HITS 5")
        self.assertEqual(self.snapshot(c)[7:], [f"VALUE value{i}" for i in range(7, KEYS)])
        self.assertIn(f"keys={KEYS + 1} ", c.cmd("STATS"))
        # And forward again.
        r2 = self.update(r1.new_pid, example_bin("kvstore-v2"))
        self.assertCommittedWith(r2, full=True)
        self.assertEqual(c.cmd("GET key100"), "VALUE value100")


if __name__ == "__main__":
    unittest.main()
