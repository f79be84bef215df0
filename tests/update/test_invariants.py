"""Invariant checks abort the update: a dangling pointer, an ambiguous union holding a pointer,
an untyped (void *) object holding pointers, one object reached as two unrelated types, a
function that no longer exists, a pointer to the stack, a string literal the new version lacks,
memory not allocated through malloc, a FILE from fopen(). Each is refused with its reason (exit
code 13), and the old process keeps running with its state; plain data behind a void * is
transferred."""
import unittest

from harness import LiveTestCase, LineTarget, alive, live_bin, our_children

CASES = {
    "dangle": "g_cache: dangling pointer into the heap (to freed memory)",
    "union": "g_msg.u: ambiguous union",
    "void": "object reached only through void* holds a pointer",
    "badtype": "g_other: a struct other pointer points to heap object (struct item",
    "badfield": "g_weight: a double pointer points to heap object (struct item, 16 bytes",
    "fnremoved": "function invariants.c:legacy_handler no longer exists in the new version",
    "stack": "g_stackptr: pointer to the stack",
    "literal": 'g_mode: string literal "legacy-mode" does not exist in the new version',
    "mmap": "g_region: pointer to memory not allocated through malloc",
    "fopen": "a FILE from fopen() cannot be transferred",
}


class InvariantsTest(LiveTestCase):
    def refuse(self, situation, reason):
        t = LineTarget(self, [live_bin("invariants-v1")])
        try:
            first = t.cmd(situation)
            self.assertTrue(first.startswith(f"{situation} checks=1"), first)
            r = self.update(t.pid, live_bin("invariants-v2"))
            self.assertFailed(r, "refused", reason)
            self.assertTrue(alive(t.pid))
            self.assertEqual(our_children(), [t.pid])
            self.assertEqual(t.cmd("check"),
                             first.replace(f"{situation} checks=1", "check checks=2"))
        finally:
            t.close()

    def test_each_violation_is_refused(self):
        for situation, reason in CASES.items():
            with self.subTest(situation=situation):
                self.refuse(situation, reason)

    def test_plain_data_behind_void_pointer_is_transferred(self):
        t = LineTarget(self, [live_bin("invariants-v1")])
        t.cmd("voidplain")
        r = self.update(t.pid, live_bin("invariants-v2"))
        self.assertCommitted(r)
        self.assertEqual(t.cmd("check"), "v2 check checks=2 mode=normal ctx=21")


if __name__ == "__main__":
    unittest.main()
