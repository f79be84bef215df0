"""cpu: CPU-bound real programs, native vs `tandem run --copies 2` (one follower), and with one
version to tell interception from the cost of running a second version.

Each input is generated here, deterministically, so that every run does the same work and the
output of a tandem run can be compared with native's: a run whose output differs is recorded as
failed, since a fast wrong answer is not a result. Times are wall-clock seconds of the whole
command, tandem's start-up included (about 30 ms). The programs are single-threaded (xz is
asked for -T1, so that its output and its use of the CPUs do not depend on the machine), so
native uses one CPU and tandem's two versions run side by side on the two vCPUs.
"""
import hashlib
import os
import random
import shutil
import subprocess

from .common import Config, Failed, measure_rows, describe_failure, run_bounded, tandem_cmd

ROUNDS = 5
TIMEOUT = 300

PY_SCRIPT = """\
# A small interpreter-bound workload: integer arithmetic, dicts, strings, sorting.
def collatz_len(n, cache={1: 1}):
    path = []
    while n not in cache:
        path.append(n)
        n = n // 2 if n % 2 == 0 else 3 * n + 1
    k = cache[n]
    for m in reversed(path):
        k += 1
        cache[m] = k
    return k

LIMIT = {limit}
best = max(range(1, LIMIT), key=collatz_len)
words = sorted(str(i * 7919 % LIMIT) for i in range(LIMIT // 4))
print(best, collatz_len(best), len(words), words[len(words) // 2])
"""

SQL = """\
CREATE TABLE t(id INTEGER PRIMARY KEY, k TEXT, v INTEGER);
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < {rows})
  INSERT INTO t SELECT x, printf('%08x', (x * 2654435761) % 4294967296), (x * 7) % 1000 FROM c;
CREATE INDEX tk ON t(k);
SELECT v, count(*), sum(id) FROM t GROUP BY v ORDER BY 2 DESC, 1 LIMIT 3;
SELECT count(*) FROM t a JOIN t b ON a.v = b.id WHERE a.k < b.k;
SELECT k FROM t ORDER BY k LIMIT 1 OFFSET {half};
UPDATE t SET v = v + 1 WHERE id % 3 = 0;
SELECT sum(v) FROM t;
"""


def _c_source(functions):
    # Many small functions with loops and arithmetic: enough for the optimiser to work on.
    parts = ["#include <stdio.h>"]
    for i in range(functions):
        parts.append(f"""
static long f{i}(long x) {{
  long s = {i};
  for (int j = 0; j < 64; j++) {{
    s = s * 31 + (x ^ j) % {i + 7};
    if (s > 1000000007) s %= 1000000007;
  }}
  return s + {'f%d(x / 2)' % (i - 1) if i else '0'};
}}""")
    parts.append("int main(int argc, char **argv) {\n  long s = 0;")
    parts.append(f"  for (long x = 0; x < 100; x++) s += f{functions - 1}(x + argc);")
    parts.append('  printf("%ld\\n", s);\n  return 0;\n}')
    return "\n".join(parts)


def _text_file(path, mib):
    # Words from a small vocabulary: compressible like real text, not trivially so.
    r = random.Random(6)
    vocab = ["".join(r.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(r.randint(2, 10)))
             for _ in range(5000)]
    with open(path, "w") as f:
        size = 0
        while size < mib * 2**20:
            line = " ".join(r.choice(vocab) for _ in range(12)) + "\n"
            f.write(line)
            size += len(line)


def _workloads(ctx):
    """name -> (argv, stdin path or None, output file or None); generates the inputs."""
    q = ctx.quick
    d = os.path.join(ctx.tmp, "cpu")
    os.makedirs(d, exist_ok=True)
    text = os.path.join(d, "text.txt")
    _text_file(text, 0.25 if q else 3)
    sql = os.path.join(d, "work.sql")
    rows = 20000 if q else 600000
    with open(sql, "w") as f:
        f.write(SQL.format(rows=rows, half=rows // 2))
    py = os.path.join(d, "compute.py")
    with open(py, "w") as f:
        f.write(PY_SCRIPT.replace("{limit}", str(30000 if q else 1000000)))
    c = os.path.join(d, "gen.c")
    with open(c, "w") as f:
        f.write(_c_source(40 if q else 400))
    python = shutil.which("python3", path="/usr/bin") or "/usr/bin/python3"
    return {
        "xz -6 (compress text)": (["/usr/bin/xz", "-6", "-T1", "-c", text], None, None),
        "sqlite3 (SQL workload)": (["/usr/bin/sqlite3", ":memory:"], sql, None),
        "python3 (compute script)": ([python, py], None, None),
        "cc -O2 (compile + link)": (["/usr/bin/cc", "-O2", "-o", os.path.join(d, "gen"), c],
                                    None, os.path.join(d, "gen")),
    }


def _digest(stdout, out_file):
    h = hashlib.sha256(stdout)
    if out_file:
        if not os.path.exists(out_file):
            raise Failed(f"{os.path.basename(out_file)} was not written")
        with open(out_file, "rb") as f:
            h.update(f.read())
        os.unlink(out_file)
    return h.hexdigest()


def configs_for(ctx, argv, stdin_path, out_file):
    events = os.path.join(ctx.tmp, "cpu-events.jsonl")
    reference = {}

    def once(cmd, events_file):
        stdin = open(stdin_path, "rb") if stdin_path else subprocess.DEVNULL
        try:
            rc, out, err, secs, cpu = run_bounded(cmd, TIMEOUT, stdin=stdin)
        finally:
            if stdin_path:
                stdin.close()
        if rc != 0:
            raise Failed(describe_failure(rc, err, events_file))
        digest = _digest(out, out_file)
        if events_file is None:
            reference.setdefault("digest", digest)
        elif reference.get("digest") not in (None, digest):
            raise Failed("output differs from native")
        return secs, {"cpu_s": round(cpu, 3)}

    # tandem-1 separates the cost of interception from that of a second version, which needs
    # a second free CPU and holds the first at every rendezvous when it does not get one.
    return [Config("native", lambda _: once(argv, None)),
            Config("tandem-1", lambda _: once(tandem_cmd(ctx, 1, argv, events), events)),
            Config("tandem-2", lambda _: once(tandem_cmd(ctx, 2, argv, events), events))]


def run(ctx, log):
    rows = []
    for name, (argv, stdin, out_file) in _workloads(ctx).items():
        log(f"  cpu {name}")
        rows.append(measure_rows(configs_for(ctx, argv, stdin, out_file), ctx.rounds(ROUNDS),
                                 "lower", log, name, "s",
                                 command=" ".join(os.path.basename(a) for a in argv)))
    return {"rows": rows,
            "placement": "not pinned: each program is single-threaded; tandem pins version 1 "
                         "to CPU 0 and version 2 to CPU 1"}
