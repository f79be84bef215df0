"""The C++ example (examples/inventory): globals holding std::string (short and long), a
std::vector of a struct whose layout changes (a member added, an int widened), and a std::map
whose nodes are reached through base-class pointers. After the update every item and every map
lookup is intact, and the new version exits cleanly, its destructors freeing every transferred
object through the allocator."""
import os
import unittest

from harness import LiveTestCase, LineTarget, example_bin

ITEMS = [(f"item{i}", i) for i in range(40)] + [("widget-with-a-name-longer-than-sso", 5)]


class CxxTest(LiveTestCase):
    def test_std_containers_survive_a_layout_change(self):
        t = LineTarget(self, [example_bin("inventory-v1")])
        for name, qty in ITEMS:
            self.assertEqual(t.cmd(f"add {name} {qty}"), "ok")
        expected = "".join(f"{n}:{q}," for n, q in ITEMS)
        self.assertEqual(t.cmd("dump"),
                         f"v1 owner=the central warehouse of the north ops={len(ITEMS) + 1} "
                         f"items={expected}")
        r = self.update(t.pid, example_bin("inventory-v2"))
        self.assertCommitted(r)
        self.assertEqual(t.cmd("dump"),
                         f"v2 owner=the central warehouse of the north ops={len(ITEMS) + 2} "
                         f"items={expected}")
        for name, qty in ITEMS:  # through the transferred std::map
            self.assertEqual(t.cmd(f"get {name}"), f"{name}={qty}")
        self.assertEqual(t.cmd("add item7 3"), "ok")
        self.assertEqual(t.cmd("get item7"), "item7=10")
        # The vector's spare capacity is still capacity of the (larger) new Item: filling it and
        # growing past it must stay inside the allocation (glibc checks at free, below).
        more = [(f"late{i}", 100 + i) for i in range(80)]
        for name, qty in more:
            self.assertEqual(t.cmd(f"add {name} {qty}"), "ok")
        for name, qty in ITEMS[:5] + more:
            want = qty + 3 if name == "item7" else qty
            self.assertEqual(t.cmd(f"get {name}"), f"{name}={want}")
        t.p.stdin.close()  # the new version reads EOF and returns from main
        _, status = os.waitpid(r.new_pid, 0)
        self.assertTrue(os.WIFEXITED(status), status)
        self.assertEqual(os.WEXITSTATUS(status), 0)
        self.pids.remove(r.new_pid)


if __name__ == "__main__":
    unittest.main()
