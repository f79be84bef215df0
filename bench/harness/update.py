"""update: the live-update benchmarks of bench/update/run.py and bench/update/ttst.py, run as
they are and folded into this report: update time against heap objects and changed-type share,
the example server, the allocator's overhead (run.py; `tandem update` validates by default), and
validated vs forward-only updates (`--no-validate`) with the peak memory of a validated one
(ttst.py). Each script owns its method (medians of --repeat runs, every update verified); this
module only runs them with a timeout and reads their JSON.
"""
import json
import os
import subprocess
import sys

from .common import last_line, run_bounded

TIMEOUT_QUICK = 300
TIMEOUT_FULL = 3600


def run(ctx, log):
    out = os.path.join(ctx.out, "update")
    script = os.path.join(ctx.repo, "bench", "update", "run.py")
    cmd = [sys.executable, script, "--build", ctx.build, "--out", out]
    if ctx.quick:
        cmd.append("--quick")
    shown = [os.path.relpath(c, ctx.repo) if c.startswith(ctx.repo) else c for c in cmd[1:]]
    log(f"  update: {' '.join(shown)}")
    try:
        rc, stdout, err, secs, _ = run_bounded(cmd, TIMEOUT_QUICK if ctx.quick else TIMEOUT_FULL,
                                               stdin=subprocess.DEVNULL)
    except Exception as e:  # Failed (timeout) or the script missing: a result, not a crash
        return {"failed": str(e)}
    if rc != 0:
        return {"failed": f"bench/update/run.py exit status {rc}: "
                          f"{last_line(err or stdout.decode())}"}
    with open(os.path.join(out, "results.json")) as f:
        results = json.load(f)
    suite = {"results": results, "seconds": round(secs, 1),
             "files": [os.path.relpath(os.path.join(out, n), ctx.out)
                       for n in ("results.json", "results.md")]}
    suite["validation"] = _ttst(ctx, out, log)
    return suite


def _ttst(ctx, out, log):
    """Validated vs forward-only updates (bench/update/ttst.py), or {"failed": reason}."""
    script = os.path.join(ctx.repo, "bench", "update", "ttst.py")
    if not os.path.exists(script):
        return {"failed": "bench/update/ttst.py is missing"}
    cmd = [sys.executable, script, "--build", ctx.build, "--out", out]
    cmd += ["--repeat", "1", "--counts", "1000,10000"] if ctx.quick else ["--repeat", "3"]
    shown = [os.path.relpath(c, ctx.repo) if c.startswith(ctx.repo) else c for c in cmd[1:]]
    log(f"  update: {' '.join(shown)}")
    try:
        rc, stdout, err, _, _ = run_bounded(cmd, TIMEOUT_QUICK if ctx.quick else TIMEOUT_FULL,
                                            stdin=subprocess.DEVNULL)
    except Exception as e:
        return {"failed": str(e)}
    if rc != 0:
        return {"failed": f"bench/update/ttst.py exit status {rc}: "
                          f"{last_line(err or stdout.decode())}"}
    with open(os.path.join(out, "ttst.json")) as f:
        return {"results": json.load(f),
                "files": [os.path.relpath(os.path.join(out, n), ctx.out)
                          for n in ("ttst.json", "ttst.md")]}
