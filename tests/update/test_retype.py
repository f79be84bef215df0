"""A heap object typed again after its allocation in the new version was made
(tests/update/targets/retype.c): first reached as the struct it begins with, then, more than a
batch of allocations later, as its own larger type. The transfer frees the first allocation and
makes one of the new size; the object and 70,000 others arrive intact, validated and forward
only."""
import unittest

from harness import LiveTestCase, LineTarget, live_bin

STATE = "id=42 same=1 self=1 extra=1,2,3,4,5,6 added=0 fillers=70000/1"


class RetypeTest(LiveTestCase):
    def check(self, extra=()):
        t = LineTarget(self, [live_bin("retype-v1")])
        self.assertEqual(t.readline(timeout=30), "READY")
        self.assertEqual(t.cmd("dump"), STATE)
        r = self.update(t.pid, live_bin("retype-v2"), timeout=30, extra=extra)
        self.assertCommitted(r)
        allocated = [e for e in r.events if e["event"] == "allocated"]
        self.assertEqual([e["reallocated"] for e in allocated], [1], r.events)
        self.assertEqual(t.cmd("dump", timeout=30), STATE)

    def test_validated(self):
        self.check()

    def test_forward_only(self):
        self.check(extra=("--no-validate",))


if __name__ == "__main__":
    unittest.main()
