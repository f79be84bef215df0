#!/usr/bin/env python3
"""Cost of time-traveling state transfer (not a test): writes ttst.json and ttst.md.

  1. Update time with and without validation (`tandem update` vs `tandem update --no-validate`)
     for heapbench at 1k ... 1M heap objects (half of the types changed) and for the example
     server (kvstore v1 -> v2, 1,000 keys, fully validated); the ratio is the seed's 1.76x.
  2. Peak memory of all processes during a validated update (the old process, its reversed copy,
     the new version, the sandbox of backward callbacks, and the tool) relative to the running
     server: sums of PSS (shared pages counted once) and of RSS, sampled every millisecond from
     /proc/PID/smaps_rollup; also without the tool (the program's own processes).

Usage: bench/update/ttst.py [--build build] [--out bench/update/results] [--repeat 5]
       [--counts 1000,10000,100000,1000000]
Medians over --repeat runs, validated and forward-only runs interleaved (the machine is shared).
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
import threading
import time


def mem_kb(pid):
    out = {}
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                key = line.split(":")[0]
                if key in ("Rss", "Pss"):
                    out[key] = int(line.split()[1])
    except OSError:
        pass
    return out


def children(pid):
    kids = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                kids += [int(x) for x in f.read().split()]
    except OSError:
        pass
    return kids


class Sampler(threading.Thread):
    """Peak sums of PSS and RSS over the old process, its descendants, and the tool."""

    def __init__(self, server_pid, tool_pid):
        super().__init__(daemon=True)
        self.server, self.tool = server_pid, tool_pid
        self.stop = threading.Event()
        self.peak = {"pss_all": 0, "rss_all": 0, "pss_program": 0, "rss_program": 0}

    def run(self):
        while not self.stop.is_set():
            program = [self.server]
            for p in list(program):
                for c in children(p):
                    program.append(c)
                    program += children(c)  # the new version's sandbox
            sums = {"pss_program": 0, "rss_program": 0}
            for p in set(program):
                m = mem_kb(p)
                sums["pss_program"] += m.get("Pss", 0)
                sums["rss_program"] += m.get("Rss", 0)
            t = mem_kb(self.tool)
            sums["pss_all"] = sums["pss_program"] + t.get("Pss", 0)
            sums["rss_all"] = sums["rss_program"] + t.get("Rss", 0)
            for k, v in sums.items():
                self.peak[k] = max(self.peak[k], v)
            time.sleep(0.001)


def update(tandem, pid, new_bin, events, validate, sample=False):
    argv = [tandem, "update", "--timeout", "60", "--events", events]
    if not validate:
        argv.append("--no-validate")
    tool = subprocess.Popen(argv + [str(pid), new_bin], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    sampler = Sampler(pid, tool.pid) if sample else None
    if sampler:
        sampler.start()
    out, err = tool.communicate(timeout=600)
    if sampler:
        sampler.stop.set()
        sampler.join()
    if tool.returncode != 0:
        raise RuntimeError(f"update failed: {err.strip()}")
    ev = {}
    with open(events) as f:
        for line in f:
            e = json.loads(line)
            ev[e["event"]] = e
    new_pid = int(out.split("->")[1].split()[0])
    return new_pid, ev, sampler.peak if sampler else None


def kill(pid):
    try:
        os.kill(pid, 9)
    except ProcessLookupError:
        pass


def heapbench(build, tandem, count, validate, events, sample=False):
    old = subprocess.Popen([os.path.join(build, "bench/update/heapbench-old"), str(count)],
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    new_pid = None
    try:
        if not select.select([old.stdout], [], [], 300)[0]:
            raise RuntimeError("heapbench did not start")
        assert old.stdout.readline().split()[0] == b"READY"
        base = mem_kb(old.pid)
        new_pid, ev, peak = update(tandem, old.pid, os.path.join(build, "bench/update/heapbench-new5"),
                                   events, validate, sample)
        old.stdin.write(b"check\n")
        old.stdin.flush()
        seen, bad = map(int, old.stdout.readline().split()[1:3])
        if seen != count or bad:
            raise RuntimeError(f"verification failed: {seen} objects, {bad} wrong")
        return ev, peak, base
    finally:
        if new_pid:
            kill(new_pid)
        old.kill()
        old.wait()


def kvstore(build, tandem, validate, events, sample=False):
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
        base = mem_kb(old.pid)
        new_pid, ev, peak = update(tandem, old.pid, os.path.join(build, "examples/kvstore-v2"),
                                   events, validate, sample)
        f.write("GET key999\n")
        f.flush()
        assert f.readline().strip() == "VALUE value999"
        c.close()
        return ev, peak, base
    finally:
        if new_pid:
            kill(new_pid)
        old.kill()
        old.wait()


def measure(name, fn, repeat):
    times = {True: [], False: []}
    parts = []
    for _ in range(repeat):
        for validate in (True, False):
            ev, _, _ = fn(validate, False)
            times[validate].append(ev["done"]["update_ms"])
            if validate:
                v = ev["validated"]
                parts.append({"backward_ms": v["backward_ms"], "diff_ms": v["diff_ms"],
                              "bytes_compared": v["bytes_compared"],
                              "coverage_pct": round(100.0 * v["bytes_validated"] /
                                                    max(v["bytes"], 1), 1)})
    ev, peak, base = fn(True, True)
    row = {"name": name,
           "validated_ms": round(statistics.median(times[True]), 2),
           "forward_only_ms": round(statistics.median(times[False]), 2),
           "backward_ms": round(statistics.median(p["backward_ms"] for p in parts), 2),
           "diff_ms": round(statistics.median(p["diff_ms"] for p in parts), 2),
           "bytes_compared": parts[0]["bytes_compared"], "coverage_pct": parts[0]["coverage_pct"],
           "server_kb": base, "peak_kb": peak}
    row["ratio"] = round(row["validated_ms"] / row["forward_only_ms"], 2)
    row["memory"] = {k: round(peak[k] / base[("Pss" if k.startswith("pss") else "Rss")], 2)
                     for k in peak}
    return row


def markdown(res):
    lines = ["# Cost of validation (time-traveling state transfer)", "",
             f"Machine: {res['machine']}, shared (load average at start: "
             f"{res['load_average_at_start'][0]}). Medians of {res['repeat']} runs each.", "",
             "Update time from the request to the new version resuming, validated (forward "
             "transfer, backward transfer into the reversed copy, comparison by the old process) "
             "and forward only (`--no-validate`). Peak memory: the largest sum over the old "
             "process, its reversed copy, the new version (and its sandbox) and the tool, sampled "
             "every millisecond during a validated update, over the server's own before it.", "",
             "| state | validated ms | forward-only ms | ratio | backward ms | diff ms | "
             "compared MB | coverage | peak PSS / server | peak RSS / server | "
             "without the tool (PSS) |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in res["rows"]:
        m = r["memory"]
        lines.append(f"| {r['name']} | {r['validated_ms']} | {r['forward_only_ms']} | "
                     f"{r['ratio']}x | {r['backward_ms']} | {r['diff_ms']} | "
                     f"{r['bytes_compared'] / 1e6:.1f} | {r['coverage_pct']} % | "
                     f"{m['pss_all']}x | {m['rss_all']}x | {m['pss_program']}x |")
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results"))
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--counts", default="1000,10000,100000,1000000")
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    tandem = os.path.join(build, "tools/tandem")
    os.makedirs(args.out, exist_ok=True)
    events = os.path.join(args.out, "ttst-events.jsonl")
    res = {"machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Linux {platform.release()}",
           "repeat": args.repeat, "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
           "rows": []}
    res["rows"].append(measure("kvstore, 1,000 keys", lambda v, s: kvstore(build, tandem, v, events, s),
                               args.repeat))
    print(res["rows"][-1], flush=True)
    for count in [int(c) for c in args.counts.split(",")]:
        res["rows"].append(measure(f"heapbench, {count:,} objects",
                                   lambda v, s: heapbench(build, tandem, count, v, events, s),
                                   args.repeat))
        print(res["rows"][-1], flush=True)
    os.remove(events)
    with open(os.path.join(args.out, "ttst.json"), "w") as f:
        json.dump(res, f, indent=1)
    with open(os.path.join(args.out, "ttst.md"), "w") as f:
        f.write(markdown(res))
    print(markdown(res))


if __name__ == "__main__":
    sys.exit(main())
