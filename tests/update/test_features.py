"""One of each transformation (tests/update/targets/features): the seed's Listing 2, enums by
name, bit-fields, float -> double, added members in heap nodes reached through interior, tagged
and integer-held pointers, an annotated union, a void * annotated with its type, a 2-D array grown
in both dimensions, TLS of the updating thread, a string literal, stdout (inside libc), a pointer
to a static function, a flexible array member, a renamed variable, a registered local, and the
TANDEM_RANGE, TANDEM_OPAQUE and TANDEM_SKIP annotations."""
import unittest

from harness import LiveTestCase, LineTarget, live_bin

BEFORE = ("count=3 str=abc id=7 u=42 addr=1234 inner=1 favourite=2 bits=5,17,1000 ratio=1.50 "
          "list=100,200,300, shapes=77:circle:200 blob=9:300 handle=100 tagged=1:200 "
          "matrix=1,23,12 tls=5 greeting=hello, world out=1 op=42 message=5:howdy name=renamed "
          "session=1:local vec=10,11,12,13,14,/8 token=abcdef12345 build=1")
# str truncated to 2 chars; favourite GREEN renumbered 2 -> 7; weight added (0) to every node;
# matrix[3][4] (new element) is 0; message gained flags (0); the local gained extra (0); the
# range's 5 live ints became longs with its capacity of 8 kept; the opaque token is kept as it
# is (it would be a dangling pointer otherwise); build_number is skipped: v2 keeps its own 2.
AFTER = ("count=3 str=ab id=7 u=42 addr=1234 inner=1 favourite=7 bits=5,17,1000 ratio=1.50 "
         "list=100/0,200/0,300/0, shapes=77:circle:200 blob=9:300 handle=100 tagged=1:200 "
         "matrix=1,23,12,0 tls=5 greeting=hello, world out=1 op=42 message=5:0:howdy "
         "title=renamed session=1:0:local vec=10,11,12,13,14,/8 token=abcdef12345 build=2")


class FeaturesTest(LiveTestCase):
    def test_every_transformation(self):
        t = LineTarget(self, [live_bin("features-v1")])
        self.assertEqual(t.cmd("bump"), "bumped")
        self.assertEqual(t.cmd("dump"), BEFORE)
        r = self.update(t.pid, live_bin("features-v2"))
        self.assertCommitted(r)
        self.assertEqual(t.cmd("dump"), AFTER)
        notes = [e["text"] for e in r.events if e["event"] == "note"]
        for expected in ("struct s.id: short int -> int", "var.str: array truncated from 3 to 2",
                         "struct s: member ptr dropped", "ratio: float -> double",
                         "struct node: member weight added", "struct msg.len: long unsigned int "
                         "-> unsigned int"):
            self.assertTrue(any(expected in n for n in notes), (expected, notes))


if __name__ == "__main__":
    unittest.main()
