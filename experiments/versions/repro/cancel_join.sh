#!/bin/bash
# Reproduces tandem bug 5 (../results.md): pthread_cancel + pthread_join hangs under
# tandem run --copies 2 (natively: "cancelling", "joined", exit 0), because a follower's signal
# handlers see the real sender pid in siginfo but the virtual pid from getpid().
#   experiments/versions/repro/cancel_join.sh [TANDEM]
set -u
here=$(cd "$(dirname "$0")" && pwd)
tandem=${1:-$here/../../../build/tools/tandem}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cc -O1 -pthread -o "$tmp/cancel_join" "$here/cancel_join.c"
cc -O1 -pthread -o "$tmp/siginfo_pid" "$here/siginfo_pid.c"
echo "== native:"; "$tmp/cancel_join"; echo "exit $?"
echo "== tandem --copies 2 (killed after 10 s):"
timeout -s KILL 10 "$tandem" run -q --copies 2 "$tmp/cancel_join"
echo "exit $? (137: hung)"
echo "== siginfo_pid natively, then under tandem --copies 2 (per-version exit codes from the events):"
"$tmp/siginfo_pid"; echo "native exit $?"
timeout -s KILL 10 "$tandem" run -q --events "$tmp/ev.jsonl" --copies 2 "$tmp/siginfo_pid"
grep -o '"code": *[0-9]*,"event": *"exit"[^}]*' "$tmp/ev.jsonl"
