"""update: the live-update benchmarks of bench/update/run.py, run as they are and folded into
this report (update time against heap objects and changed-type share, the example server, the
allocator's overhead). run.py owns its method (medians of --repeat runs, every update verified);
this module only runs it with a timeout and reads its results.json.
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
    return {"results": results, "seconds": round(secs, 1),
            "files": [os.path.relpath(os.path.join(out, n), ctx.out)
                      for n in ("results.json", "results.md")]}
