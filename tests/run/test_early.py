"""Early execution: the leader makes a query (time, stat, getppid) before the followers arrive
at it, and serves them from its record when they do (docs/architecture.md, "Early execution")."""
import json
import os
import signal
import subprocess
import time
import unittest

from harness import TANDEM, TandemTest, target

LINE = "queries: {n} iterations, getppid stable {n}, clock monotonic {n}, stat {s}\n"


def expected(n):
    return LINE.format(n=n, s=(n + 9) // 10).encode()


class Early(TandemTest):
    def early_rounds(self, r):
        exits = r.of("exit")
        self.assertTrue(exits, r.kinds())
        return max(e["early_rounds"] for e in exits)

    def test_queries_are_made_early(self):
        r = self.tandem([target("queries_v1"), target("queries_v2")], args=["2000"])
        self.assertEqual(r.code, 0, r.err)
        self.assertEqual(r.out, expected(2000))
        self.assertNoDivergence(r)
        self.assertEqual(r.of("absorbed"), [])
        # getppid and clock_gettime of (nearly) every iteration: the followers lag behind the
        # leader at each call, so it does not wait for them.
        self.assertGreater(self.early_rounds(r), 1000)

    def test_lockstep_turns_it_off(self):
        r = self.tandem([target("queries_v1"), target("queries_v2")], args=["500"],
                        opts=["--lockstep"])
        self.assertEqual(r.code, 0, r.err)
        self.assertEqual(r.out, expected(500))
        self.assertEqual(self.early_rounds(r), 0)
        self.assertGreater(r.of("exit")[0]["rounds"], 1000)

    def test_not_with_strict_or_majority(self):
        for opts, bins in ((["--policy", "strict"], [target("queries_v1"), target("queries_v2")]),
                           (["--policy", "majority", "--copies", "3"], [target("queries_v1")])):
            with self.subTest(opts=opts):
                r = self.tandem(bins, args=["300"], opts=opts)
                self.assertEqual(r.code, 0, r.err)
                self.assertEqual(r.out, expected(300))
                self.assertEqual(self.early_rounds(r), 0)

    def test_three_copies(self):
        r = self.tandem([target("queries_v1")], args=["2000"], opts=["--copies", "3"])
        self.assertEqual(r.code, 0, r.err)
        self.assertEqual(r.out, expected(2000))
        self.assertNoDivergence(r)
        self.assertGreater(self.early_rounds(r), 500)

    def test_prefer_old_leads_with_the_oldest(self):
        r = self.tandem([target("queries_v1"), target("queries_v2")], args=["1000"],
                        opts=["--policy", "prefer-old"])
        self.assertEqual(r.code, 0, r.err)
        self.assertEqual(r.out, expected(1000))
        self.assertNoDivergence(r)
        self.assertGreater(self.early_rounds(r), 500)

    def test_extra_query_of_the_leader_is_its_own(self):
        # Version 2 (the leader) makes one uname more: made early, the follower arrives with
        # its next getppid instead and leaves the round; the uname counts as the leader's alone.
        r = self.tandem([target("queries_extra_v1"), target("queries_extra_v2")],
                        args=["1000"])
        self.assertEqual(r.code, 0, r.err)
        self.assertEqual(r.out, expected(1000))
        self.assertNoDivergence(r)
        absorbed = r.of("absorbed")
        self.assertEqual(len(absorbed), 1, absorbed)
        self.assertEqual(absorbed[0]["version"], 2)
        self.assertTrue(absorbed[0]["early"])
        self.assertTrue(absorbed[0]["call"].startswith("uname"), absorbed[0])

    def test_extra_query_with_lockstep_is_absorbed_as_before(self):
        r = self.tandem([target("queries_extra_v1"), target("queries_extra_v2")],
                        args=["1000"], opts=["--lockstep"])
        self.assertEqual(r.code, 0, r.err)
        self.assertEqual(r.out, expected(1000))
        self.assertNoDivergence(r)
        self.assertTrue(r.of("absorbed"))
        self.assertFalse(any(e.get("early") for e in r.of("absorbed")))

    def killed_mid_loop(self, victim_index, attempt):
        """Runs a long loop of queries and kills one version's process in the middle (0: the
        follower, 1: the leader). The output is right whatever happens; returns the events."""
        n = 40000
        events = os.path.join(self.events_dir, f"events-{victim_index}-{attempt}.jsonl")
        proc = subprocess.Popen([TANDEM, "run", "-q", "--events", events, "--checkpoint", "1000",
                                 target("queries_v1"), target("queries_v2"), "--", str(n)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            pids = None
            deadline = time.monotonic() + 30
            while pids is None:
                self.assertLess(time.monotonic(), deadline, "no start event")
                if os.path.exists(events):
                    with open(events) as f:
                        for line in f:
                            e = json.loads(line)
                            if e["event"] == "start":
                                pids = e["pids"]
                time.sleep(0.01)
            # Well into the loop (some 10,000 iterations at 2 versions), with checkpoints.
            time.sleep(0.4)
            os.kill(pids[victim_index], signal.SIGKILL)
            out, err = proc.communicate(timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        with open(events) as f:
            evs = [json.loads(line) for line in f if line.strip()]
        kinds = [e["event"] for e in evs]
        self.assertEqual(proc.returncode, 0, err)
        self.assertEqual(out, expected(n))
        self.assertNotIn("divergence", kinds)
        self.assertNotIn("rejoin-failed", kinds)
        self.assertEqual(sorted(e["version"] for e in evs if e["event"] == "exit"), [1, 2])
        self.assertGreater(max(e["early_rounds"] for e in evs if e["event"] == "exit"), 1000)
        return kinds

    def killed_and_restarted(self, victim_index):
        # A SIGKILL can also hit while the version's checkpoint copy is being replaced, or make
        # its exit stop unreadable: then it is dropped without a restart (a race of the restart
        # code, with or without --lockstep). Such a run proves only the output; another is made.
        for attempt in range(4):
            kinds = self.killed_mid_loop(victim_index, attempt)
            if "drop" not in kinds:
                break
        self.assertIn("restart", kinds, kinds)
        self.assertIn("rejoined", kinds, kinds)

    def test_leader_killed_mid_loop(self):
        self.killed_and_restarted(1)

    def test_follower_killed_mid_loop(self):
        self.killed_and_restarted(0)


def effects_output(n):
    """What effects.c prints natively: a line per iteration, then the total."""
    data = [(i * 7 + 1) & 0xFF for i in range(256)]
    lines, total = [], 0
    for i in range(n):
        chunk = data[(i % 16) * 16:(i % 16) * 16 + 16]
        total += sum(chunk)
        lines.append(f"line {i}: {sum(chunk)}\n")
    return ("".join(lines) + f"total {total}\n").encode()


class EarlyEffects(TandemTest):
    """Reads and writes made early by the leader. At iteration 300 the follower (version 1)
    computes a while before its call, so the leader surely made its call first: the follower's
    other call is then decided against the leader's record as a rendezvous would decide it."""
    N = 1000

    def run_case(self, name, opts=(), env=None):
        r = self.tandem([target(f"{name}_v1"), target(f"{name}_v2")], args=[str(self.N)],
                        opts=opts, env=env)
        self.assertEqual(r.code, 0, r.err)
        self.assertEqual(r.out, effects_output(self.N))
        return r

    def early_rounds(self, r):
        return max(e["early_rounds"] for e in r.of("exit"))

    def test_reads_and_writes_are_made_early(self):
        r = self.run_case("effects")
        self.assertNoDivergence(r)
        # A read and a write per iteration: most are made before the follower arrived.
        self.assertGreater(self.early_rounds(r), self.N)

    def test_lockstep_turns_it_off(self):
        r = self.run_case("effects", opts=["--lockstep"])
        self.assertNoDivergence(r)
        self.assertEqual(self.early_rounds(r), 0)

    def test_other_chunking_takes_parts_of_the_early_write(self):
        env = dict(os.environ, TANDEM_LOG="debug")
        r = self.run_case("effects_chunks", env=env)
        self.assertNoDivergence(r)
        self.assertEqual(r.of("absorbed"), [])
        err = r.err.decode(errors="replace")
        # The follower's three writes each take their part of the leader's one.
        self.assertIn('write(1, "line", 4) takes 4 bytes of the early write', err)
        self.assertIn('takes 8 bytes of the early write', err)

    def test_benign_extra_call_of_a_late_follower_is_absorbed(self):
        r = self.run_case("effects_extra")
        self.assertNoDivergence(r)
        absorbed = r.of("absorbed")
        self.assertEqual(len(absorbed), 1, absorbed)
        self.assertEqual(absorbed[0]["version"], 1)
        self.assertIn("fstat", absorbed[0]["call"])  # fstat or newfstatat(1, "", ...)

    def test_other_bytes_follow_the_leaders_write(self):
        r = self.run_case("effects_diverge")
        d = r.of("divergence")
        self.assertEqual(len(d), 1, d)
        self.assertTrue(d[0]["early"])
        self.assertEqual(d[0]["version"], 1)
        self.assertEqual(d[0]["resolution"], "follows the winner's result")
        self.assertEqual(r.of("drop"), [])
        self.assertEqual(sorted(e["version"] for e in r.of("exit")), [1, 2])

    def test_strict_stops_before_the_other_write(self):
        r = self.tandem([target("effects_diverge_v1"), target("effects_diverge_v2")],
                        args=[str(self.N)], opts=["--policy", "strict"])
        self.assertEqual(r.code, 123, r.err)
        self.assertEqual(self.early_rounds(r), 0)
        # Nothing of iteration 300 was written.
        self.assertEqual(r.out, b"".join(effects_output(self.N).splitlines(True)[:300]))

    def test_extra_write_of_the_leader_holds_the_follower_until_it_reconverges(self):
        r = self.run_case("effects_leader_extra")
        self.assertEqual(r.err.count(b"extra\n"), 1, r.err)
        d = r.of("divergence")
        self.assertEqual(len(d), 1, d)
        self.assertTrue(d[0]["early"])
        self.assertEqual(d[0]["resolution"], "held until it reconverges")
        self.assertEqual(len(r.of("reconverged")), 1, r.kinds())
        self.assertEqual(r.of("drop"), [])


if __name__ == "__main__":
    unittest.main()
