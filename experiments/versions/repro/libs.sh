#!/bin/bash
# Reproduces tandem bug 2 (../results.md): versions linking different shared libraries diverge
# in the dynamic loader's mmap(PROT_EXEC) of version-local descriptors; the old one is dropped.
# Expected: "hello", exit 0, no divergence and no drop event. Seen: a divergence on mmap, the
# old version held at its next mmap, and a hang once the new version has exited (bug 3: a held
# version is never released when the winners make no more calls).
#   experiments/versions/repro/libs.sh [TANDEM]      (needs zlib1g-dev)
set -u
here=$(cd "$(dirname "$0")" && pwd)
tandem=${1:-$here/../../../build/tools/tandem}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cc -O1 -DOLD -o "$tmp/old" "$here/libs.c" -lz
cc -O1 -o "$tmp/new" "$here/libs.c"
timeout -s KILL 10 "$tandem" run -q --events "$tmp/ev.jsonl" "$tmp/old" "$tmp/new"
echo "exit $? (137: tandem hung after the new version exited, with the old one held; killed after 10 s)"
grep -E '"event": ?"(divergence|drop)"' "$tmp/ev.jsonl" | cut -c1-400
echo "== with the rules file 'absorb mmap' (a workaround):"
echo "absorb mmap" > "$tmp/rules"
timeout -s KILL 20 "$tandem" run -q --rules "$tmp/rules" --events "$tmp/ev2.jsonl" "$tmp/old" "$tmp/new"
echo "exit $?"
grep -cE '"event": ?"(divergence|drop)"' "$tmp/ev2.jsonl"
