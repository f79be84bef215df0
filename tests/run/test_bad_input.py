"""Bad input to `tandem run`: one clear error line, a distinct exit code, nothing left behind."""
import os
import subprocess
import unittest

from harness import TANDEM, TandemTest, target


class BadInput(TandemTest):
    def run_tandem(self, *argv, timeout=20):
        return subprocess.run([TANDEM, *argv], capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)

    def assertOneLine(self, proc, code, fragment):
        self.assertEqual(proc.returncode, code, proc.stderr)
        lines = proc.stderr.decode().splitlines()
        self.assertEqual(len(lines), 1, proc.stderr)
        self.assertTrue(lines[0].startswith("tandem: "), lines)
        self.assertIn(fragment, lines[0])
        self.assertEqual(proc.stdout, b"")

    def test_missing_binary(self):
        p = self.run_tandem("run", target("calc_v1"), "/nonexistent/calc")
        self.assertOneLine(p, 127, "version 2: /nonexistent/calc: no such file")
        self.assertNothingLeft("calc_v1")

    def test_not_executable(self):
        path = os.path.join(self.tmp, "plain.txt")
        with open(path, "w") as f:
            f.write("not a program\n")
        p = self.run_tandem("run", path, target("calc_v1"))
        self.assertOneLine(p, 126, "version 1")
        self.assertIn("not executable", p.stderr.decode())

    def test_version_that_cannot_start(self):
        script = os.path.join(self.tmp, "broken.sh")
        with open(script, "w") as f:
            f.write("#!/nonexistent/interpreter\necho hi\n")
        os.chmod(script, 0o755)
        p = self.run_tandem("run", target("calc_v1"), script)
        self.assertOneLine(p, 127, "version 2")
        self.assertIn("cannot start", p.stderr.decode())
        self.assertNothingLeft("calc_v1")

    def test_unknown_flag(self):
        p = self.run_tandem("run", "--bogus", target("calc_v1"))
        self.assertOneLine(p, 125, "--bogus")

    def test_bad_policy_and_leader(self):
        self.assertOneLine(self.run_tandem("run", "--policy", "coinflip", target("calc_v1")), 125,
                           "unknown policy")
        self.assertOneLine(self.run_tandem("run", "--leader", "3", target("calc_v1"), target("calc_v2")),
                           125, "--leader")
        self.assertOneLine(self.run_tandem("run", "--policy", "majority", target("calc_v1"), target("calc_v2")),
                           125, "majority")
        self.assertOneLine(self.run_tandem("run", "--hang", "-1", target("calc_v1"), target("calc_v2")),
                           125, "--hang")

    def test_broken_rules_file(self):
        rules = os.path.join(self.tmp, "rules")
        with open(rules, "w") as f:
            f.write("absorb fstat\nabsorb no_such_call\n")
        p = self.run_tandem("run", "--rules", rules, target("calc_v1"), target("calc_v2"))
        self.assertOneLine(p, 124, "line 2: unknown syscall 'no_such_call'")
        p = self.run_tandem("run", "--rules", os.path.join(self.tmp, "missing"), target("calc_v1"))
        self.assertOneLine(p, 124, "rules file")

    def test_no_subcommand_or_program(self):
        self.assertOneLine(self.run_tandem(), 125, "subcommand")
        self.assertOneLine(self.run_tandem("run"), 125, "no program")


if __name__ == "__main__":
    unittest.main()
