"""Real programs under `tandem run --copies 2`: output and exit status identical to native."""
import os
import shutil
import unittest

from harness import TandemTest


class RealPrograms(TandemTest):
    def same_as_native(self, argv, stdin=b"", cwd=None, copies=2, native_argv=None):
        """Runs argv natively (or native_argv, for commands that must not share state with the
        tandem run, like a database file) and under tandem; compares output and status."""
        binary = shutil.which(argv[0])
        self.assertIsNotNone(binary, argv[0])
        native_args = (native_argv or argv)[1:]
        native = self.native(binary, native_args, stdin=stdin, cwd=cwd)
        r = self.tandem([binary], args=argv[1:], stdin=stdin, opts=["--copies", str(copies)],
                        cwd=cwd, timeout=120)
        self.assertEqual(r.out, native.stdout, r.err)
        self.assertEqual(r.code, native.returncode, r.err)
        self.assertNoDivergence(r)
        return r

    def setUp(self):
        super().setUp()
        with open(os.path.join(self.tmp, "data.txt"), "w") as f:
            for i in range(200):
                f.write(f"{(i * 7919) % 1000:04d},name{i},{i % 13}\n")

    def test_coreutils(self):
        data = os.path.join(self.tmp, "data.txt")
        # A folder whose parent only this test changes (the ".." line shows its link count).
        lsdir = os.path.join(self.tmp, "a", "b")
        os.makedirs(lsdir)
        for name in ("x", "y.txt", ".hidden"):
            open(os.path.join(lsdir, name), "w").close()
        self.same_as_native(["ls", "-la", "--time-style=+", lsdir])
        self.same_as_native(["cat", data])
        self.same_as_native(["sort", "-t,", "-k3n", "-k1", data])
        self.same_as_native(["md5sum", data])
        self.same_as_native(["cut", "-d,", "-f2,3", data])
        self.same_as_native(["ls", "/nonexistent-dir"])  # a failing command: same status

    def test_sqlite3_script(self):
        db = os.path.join(self.tmp, "t.db")
        script = (b"create table t(a integer, b text);\n"
                  b"insert into t values (1, 'one'), (2, 'two'), (3, 'three');\n"
                  b"insert into t select a + 3, b || '!' from t;\n"
                  b"select count(*), sum(a), group_concat(b, ' ') from t;\n"
                  b"select * from t where a % 2 = 0 order by a desc;\n")
        r = self.same_as_native(["sqlite3", db], stdin=script,
                                native_argv=["sqlite3", db + ".native"])
        self.assertIn(b"6|21|", r.out)

    def test_python3_script(self):
        script = os.path.join(self.tmp, "s.py")
        with open(script, "w") as f:
            f.write("import json, hashlib, collections\n"
                    "d = collections.Counter(i % 7 for i in range(10000))\n"
                    "print(json.dumps(sorted(d.items())))\n"
                    "print(hashlib.sha256(b'tandem').hexdigest())\n"
                    "print({'b': 1, 'a': 2})\n")
        env_python = shutil.which("python3")
        # Hash randomisation comes from getrandom: all versions must agree on it.
        self.same_as_native([os.path.realpath(env_python), "-S", script])

    def test_bash_pipeline(self):
        data = os.path.join(self.tmp, "data.txt")
        self.same_as_native(["bash", "-c", f"cut -d, -f3 {data} | sort -n | uniq -c | sort -rn | head -3"])

    def test_cc_compiles_and_links(self):
        src = os.path.join(self.tmp, "hello.c")
        with open(src, "w") as f:
            f.write('#include <stdio.h>\nint main(void){puts("compiled under tandem");return 0;}\n')
        exe = os.path.join(self.tmp, "hello")
        self.same_as_native(["cc", "-O1", "-o", exe, src])
        self.assertEqual(self.native(exe).stdout, b"compiled under tandem\n")


if __name__ == "__main__":
    unittest.main()
