"""Quiescence with threads: the update waits until the main thread and both workers are at
their update points (a thread that called tandem_thread_done() and blocks is not waited for),
and the workers' counts, kept in globals, continue in the new version."""
import time
import unittest

from harness import LiveTestCase, LineTarget, live_bin


class ThreadsTest(LiveTestCase):
    def counts(self, t):
        words = t.cmd("counts").split()
        return int(words[1]), int(words[2]), int(words[4])

    def test_update_with_worker_threads(self):
        t = LineTarget(self, [live_bin("threads")])
        time.sleep(0.3)
        a, b, gen = self.counts(t)
        self.assertGreater(a, 0)
        self.assertGreater(b, 0)
        self.assertEqual(gen, 0)
        r = self.update(t.pid, live_bin("threads"))  # the same binary: a restart with state
        self.assertCommitted(r)
        a2, b2, gen2 = self.counts(t)
        self.assertGreaterEqual(a2, a)
        self.assertGreaterEqual(b2, b)
        self.assertEqual(gen2, 1)
        time.sleep(0.3)
        a3, b3, _ = self.counts(t)  # the new version's workers count on
        self.assertGreater(a3, a2)
        self.assertGreater(b3, b2)
        r = self.update(r.new_pid, live_bin("threads"))
        self.assertCommitted(r)
        self.assertEqual(self.counts(t)[2], 2)


if __name__ == "__main__":
    unittest.main()
