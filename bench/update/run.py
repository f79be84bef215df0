#!/usr/bin/env python3
"""Benchmarks of `tandem update` (not tests): writes results.json and results.md.

  1. Update time against the number of heap objects (1k ... 1M) and the share of struct types the
     update changes (0, 20, 50, 100 %), like the seed's Figure 5: heapbench (bench/update).
     Every run is verified: the new version walks its lists and checks every object.
  2. The example server: kvstore v1 -> v2 with 1,000 keys and a connected client.
  3. The allocator's overhead per malloc/free pair (runtime/bench, Google Benchmark).

Usage: bench/update/run.py [--build build] [--out bench/update/results] [--repeat 3]
       [--counts 1000,10000,100000,1000000] [--quick]
Times are medians over --repeat runs. The machine is shared: expect noise, look at the medians.
"""
import argparse
import json
import os
import platform
import select
import socket
import statistics
import subprocess
import sys
import time

SHARES = {0: "heapbench-new0", 20: "heapbench-new2", 50: "heapbench-new5", 100: "heapbench-new10"}


def run_update(tandem, pid, new_bin, events):
    r = subprocess.run([tandem, "update", "--timeout", "30", "--events", events, str(pid), new_bin],
                       capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        raise RuntimeError(f"update failed: {r.stderr.strip()}")
    new_pid = int(r.stdout.split("->")[1].split()[0])
    ev = {}
    with open(events) as f:
        for line in f:
            e = json.loads(line)
            ev[e["event"]] = e
    return new_pid, ev


def kill(pid):
    try:
        os.kill(pid, 9)
    except ProcessLookupError:
        pass


def heapbench_once(build, tandem, count, new_name, events):
    old = subprocess.Popen([os.path.join(build, "bench/update/heapbench-old"), str(count)],
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    new_pid = None
    try:
        if not select.select([old.stdout], [], [], 120)[0]:
            raise RuntimeError("heapbench did not start")
        assert old.stdout.readline().split()[0] == b"READY"
        new_pid, ev = run_update(tandem, old.pid, os.path.join(build, "bench/update", new_name),
                                 events)
        old.stdin.write(b"check\n")
        old.stdin.flush()  # the new version inherited the pipes
        seen, bad = map(int, old.stdout.readline().split()[1:3])
        if seen != count or bad:
            raise RuntimeError(f"verification failed: {seen} objects, {bad} wrong")
        t = ev["transferred"]
        return {"update_ms": ev["done"]["update_ms"], "pause_ms": ev["done"]["pause_ms"],
                **{k: t[k] for k in ("read_ms", "discover_ms", "alloc_ms", "transform_ms",
                                     "write_ms")}}
    finally:
        if new_pid:
            kill(new_pid)
        old.kill()
        old.wait()


def median_of(runs):
    return {k: round(statistics.median(r[k] for r in runs), 2) for k in runs[0]}


def kvstore_once(build, tandem, events):
    old = subprocess.Popen([os.path.join(build, "examples/kvstore-v1")], stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL)
    new_pid = None
    try:
        port = int(old.stdout.readline().split()[1])
        c = socket.create_connection(("127.0.0.1", port))
        f = c.makefile("rw")
        for i in range(1000):
            f.write(f"SET key{i} value{i}\n")
        f.flush()
        for _ in range(1000):
            f.readline()
        new_pid, ev = run_update(tandem, old.pid, os.path.join(build, "examples/kvstore-v2"),
                                 events)
        f.write("GET key999\n")
        f.flush()
        assert f.readline().strip() == "VALUE value999"
        c.close()
        return {"update_ms": ev["done"]["update_ms"], "pause_ms": ev["done"]["pause_ms"],
                "heap_objects": ev["done"]["heap_objects"]}
    finally:
        if new_pid:
            kill(new_pid)
        old.kill()
        old.wait()


def allocator(build):
    exe = os.path.join(build, "runtime/tandem_live_alloc_bench")
    # Medians of repetitions: the machine is shared and single runs wander.
    r = subprocess.run([exe, "--benchmark_format=json", "--benchmark_min_time=0.2",
                        "--benchmark_repetitions=7", "--benchmark_report_aggregates_only=true"],
                       capture_output=True, text=True, timeout=600)
    data = {b["run_name"]: b["real_time"] for b in json.loads(r.stdout)["benchmarks"]
            if b.get("aggregate_name") == "median"}
    out = {}
    for size in (16, 64, 512):
        out[f"pair_{size}B_ns"] = {"glibc": round(data[f"BM_PairGlibc/{size}"], 2),
                                   "tandem": round(data[f"BM_PairTandem/{size}"], 2)}
    batch = {k: round(data[f"BM_Batch{k.capitalize()}/32"] / 1000, 2) for k in ("glibc", "tandem")}
    out["batch_1000_pairs_ns_per_pair"] = batch
    out["overhead_ns_per_pair"] = {
        "hot": round(max(v["tandem"] - v["glibc"]
                         for k, v in out.items() if k.startswith("pair")), 2),
        "batch": round(batch["tandem"] - batch["glibc"], 2)}
    return out


def markdown(results):
    lines = ["# tandem update benchmarks", "",
             f"Machine: {results['machine']}, shared (load average at start: "
             f"{results['load_average_at_start'][0]}). Medians of {results['repeat']} runs.", "",
             "## Update time against heap objects and share of changed types", "",
             "Update time: from the request to the new version resuming (ms); pause: from the old "
             "version parking at its update point to the new one resuming.", "",
             "| objects | changed types | update ms | pause ms | read | discover | alloc | "
             "transform | write |", "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for row in results["heapbench"]:
        m = row["median"]
        lines.append(f"| {row['objects']:,} | {row['changed_pct']} % | {m['update_ms']} | "
                     f"{m['pause_ms']} | {m['read_ms']} | {m['discover_ms']} | {m['alloc_ms']} | "
                     f"{m['transform_ms']} | {m['write_ms']} |")
    k = results["kvstore"]
    lines += ["", "## Example server", "",
              f"kvstore v1 -> v2 with 1,000 keys and a connected client: update "
              f"{k['update_ms']} ms, pause {k['pause_ms']} ms, {k['heap_objects']} heap objects.",
              "", "## Allocator overhead per malloc/free pair", ""]
    a = results["allocator"]
    lines += ["| case | glibc ns | tandem-live ns |", "|---|---:|---:|"]
    for key, v in a.items():
        if isinstance(v, dict) and "glibc" in v:
            lines.append(f"| {key} | {v['glibc']} | {v['tandem']} |")
    lines += ["", f"Added per pair: {a['overhead_ns_per_pair']['hot']} ns (hot, one object), "
              f"{a['overhead_ns_per_pair']['batch']} ns (1,000 live objects).", ""]
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results"))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--counts", default="1000,10000,100000,1000000")
    ap.add_argument("--quick", action="store_true", help="1k and 10k objects, one run each")
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    tandem = os.path.join(build, "tools/tandem")
    counts = [1000, 10000] if args.quick else [int(c) for c in args.counts.split(",")]
    repeat = 1 if args.quick else args.repeat
    os.makedirs(args.out, exist_ok=True)
    events = os.path.join(args.out, "last-events.jsonl")
    results = {"machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Linux "
                          f"{platform.release()}", "repeat": repeat, "heapbench": [],
               "load_average_at_start": [round(x, 2) for x in os.getloadavg()]}
    for count in counts:
        for pct, name in SHARES.items():
            runs = [heapbench_once(build, tandem, count, name, events) for _ in range(repeat)]
            row = {"objects": count, "changed_pct": pct, "median": median_of(runs), "runs": runs}
            results["heapbench"].append(row)
            print(f"{count:>8} objects, {pct:>3} % changed: {row['median']['update_ms']} ms",
                  flush=True)
    results["kvstore"] = median_of([kvstore_once(build, tandem, events)
                                    for _ in range(max(repeat, 3))])
    print(f"kvstore: {results['kvstore']['update_ms']} ms", flush=True)
    results["allocator"] = allocator(build)
    print(f"allocator: +{results['allocator']['overhead_ns_per_pair']} ns per pair", flush=True)
    os.remove(events)
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump(results, f, indent=1)
    with open(os.path.join(args.out, "results.md"), "w") as f:
        f.write(markdown(results))
    print(f"wrote {args.out}/results.json and results.md")


if __name__ == "__main__":
    sys.exit(main())
