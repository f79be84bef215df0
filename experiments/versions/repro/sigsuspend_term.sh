#!/bin/bash
# Reproduces tandem bug 4 (../results.md): SIGTERM sent to tandem never reaches a program that
# waits for it in sigsuspend (nginx's master does), with --copies 2 of one binary: the leader's
# process gets the signal and stops for the common delivery point; the follower sleeps in its
# own rt_sigsuspend and never makes another call. Expected "got SIGTERM" and exit 0.
#   experiments/versions/repro/sigsuspend_term.sh [TANDEM]
set -u
here=$(cd "$(dirname "$0")" && pwd)
tandem=${1:-$here/../../../build/tools/tandem}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cc -O1 -o "$tmp/prog" "$here/sigsuspend_term.c"
echo "== native:"; "$tmp/prog" & p=$!; sleep 0.5; kill -TERM $p; wait $p; echo "exit $?"
echo "== tandem --copies 2:"
"$tandem" run -q --copies 2 "$tmp/prog" & t=$!
sleep 1; kill -TERM $t
for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 $t 2>/dev/null || break; sleep 0.5; done
if kill -0 $t 2>/dev/null; then
  echo "still running 5 s after SIGTERM: killing tandem with SIGKILL"; kill -KILL $t
fi
wait $t; echo "exit $?"
