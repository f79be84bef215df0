#!/bin/bash
# Reproduces the memcached pair's hang with a 40-line program: tandem run OLD NEW where NEW
# opens one more descriptor, then both name their threads through /proc/self/task/TID/comm.
#   experiments/versions/repro/run.sh [TANDEM]
# Expected: "worker 0", "worker 1", "done" (as with --copies 2). Seen: a divergence on
# write(<own /proc fd>, "worker", 6) whose fd numbers differ (a false positive), the old version
# held, then a hang: the new version's second thread waits for a partner that the held old
# version never creates; SIGTERM to tandem is not delivered (no common call); only SIGKILL ends it.
set -u
here=$(cd "$(dirname "$0")" && pwd)
tandem=${1:-$here/../../../build/tools/tandem}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cc -O1 -pthread -o "$tmp/old" "$here/own_fd_threads.c"
cc -O1 -pthread -DNEW -o "$tmp/new" "$here/own_fd_threads.c"
echo "== native new:"; "$tmp/new"
echo "== tandem --copies 2 new:"; timeout -s KILL 10 "$tandem" run -q --copies 2 "$tmp/new"; echo "exit $?"
echo "== tandem old new (SIGTERM after 5 s, SIGKILL after 10 s):"
timeout -k 5 -s TERM 5 "$tandem" run --events "$tmp/ev.jsonl" "$tmp/old" "$tmp/new"
echo "exit $? (124: timed out and stopped by SIGTERM; 137: SIGTERM ignored, SIGKILL needed)"
grep -o '"event": *"divergence".*' "$tmp/ev.jsonl" | head -3
