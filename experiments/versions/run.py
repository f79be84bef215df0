#!/usr/bin/env python3
"""Runs real version pairs (built by build.sh) as old/new under `tandem run`, with load from
their real clients on 127.0.0.1, and natively for comparison; writes results.md.

    experiments/versions/run.py [--tandem PATH] [--pairs redis,memcached,...] [--no-copies]

For each pair: native old, native new, `tandem run --events F OLD NEW -- ARGS` (prefer-new,
the default policy) and, unless --no-copies, `tandem run --copies 2` of each version (to tell
divergences between the versions from divergences tandem reports between identical copies).
Every server is stopped with SIGTERM (SIGKILL after 20 s); processes left in the server's
session are reported and killed by pid. The generated part of results.md is rewritten; the
text from the line "## Analysis" on is kept as it is.
"""
import argparse
import collections
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
ROOT = os.environ.get("TANDEM_VERSIONS_DIR", "/var/cache/tandem-versions")
RESULTS = os.path.join(HERE, "results.md")
FIXED_MTIME = 1700000000  # the site's files get this mtime: ETag/Last-Modified equal in every run


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def session_pids(sid):
    out = subprocess.run(["pgrep", "-s", str(sid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def inst_pids():
    """Processes running a binary from the versions' install folders."""
    found = []
    inst = os.path.join(ROOT, "inst") + "/"
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                if os.readlink(f"/proc/{pid}/exe").startswith(inst):
                    found.append(int(pid))
            except OSError:
                pass
    return found


class Server:
    """One run: a server natively or under tandem, in its own session, stopped on stop()."""

    def __init__(self, cmd, port, log_path, cwd):
        self.cmd = cmd
        self.port = port
        self.log_path = log_path
        self.log = open(log_path, "wb")
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, cwd=cwd, start_new_session=True)
        self.ready = wait_port(port, self.proc)
        self.startup = time.monotonic() - self.t0
        self.leftover = []
        self.status = None

    def output(self, n=4000):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")[-n:]

    def stop(self):
        sid = self.proc.pid
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
                self.leftover.append(f"pid {sid} needed SIGKILL")
        self.status = self.proc.returncode
        deadline = time.monotonic() + 3  # tracees killed by PTRACE_O_EXITKILL take a moment
        while session_pids(sid) and time.monotonic() < deadline:
            time.sleep(0.1)
        for pid in session_pids(sid):
            self.leftover.append(f"pid {pid} left in the session")
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.log.close()
        return self.status


# ------------------------------------------------------------------------------ scenarios
class Scenario:
    """A server's start arguments and a client scenario; the scenario returns a list of
    (check, value) whose values must be equal to native runs."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.load = ""

    def run_cmd(self, argv, timeout=120):
        r = subprocess.run(argv, capture_output=True, timeout=timeout)
        return r


def cli(port, *args):
    r = subprocess.run(["redis-cli", "-p", str(port), *args], capture_output=True, timeout=20)
    return r.stdout.decode(errors="replace").strip()


def resp(port, *args):
    """One command over RESP with binary arguments; the reply's first line, or the error."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            out = b"*%d\r\n" % len(args)
            for a in args:
                a = a if isinstance(a, bytes) else a.encode()
                out += b"$%d\r\n%s\r\n" % (len(a), a)
            s.sendall(out)
            data = b""
            while not data.endswith(b"\r\n"):
                chunk = s.recv(65536)
                if not chunk:
                    return f"connection closed after {data!r}"
                data += chunk
            return data.decode(errors="replace").strip()
    except OSError as e:
        return f"{type(e).__name__}: {e.strerror or e}"


# The payload of the test that Debian's CVE-2026-25243 patch adds to tests/unit/dump.tcl (a
# string claiming 2^64-9 bytes), with RDB version 10 so that 7.0 parses it; checksums are
# skipped (DEBUG set-skip-checksum-validation 1). 7.0.15 before the patch and upstream 8.0.2
# fail an assertion (SIGABRT); the patched 7.0.15 answers "Bad data format".
CORRUPT_RESTORE = b"\x00\x81\xff\xff\xff\xff\xff\xff\xff\xf7\x0a\x00" + b"\x00" * 8


class Redis(Scenario):
    bench = ["-n", "2000", "-c", "4", "-q", "-t", "set,get,incr,lpush,rpush,lpop,sadd,hset,mset"]

    def argv(self, port, rundir):
        return ["--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                "--dir", rundir, "--daemonize", "no", "--logfile", "", "--protected-mode", "no",
                "--enable-debug-command", "yes"]

    def scenario(self, port):
        self.load = ("redis-benchmark " + " ".join(self.bench) + " + 80 redis-cli calls, then a "
                     "RESTORE of a corrupt payload")
        out = []
        out.append(("set greeting", cli(port, "set", "greeting", "hello")))
        for _ in range(50):
            last = cli(port, "incr", "counter")
        out.append(("50 x incr counter", last))
        out.append(("rpush list a b c", cli(port, "rpush", "list", "a", "b", "c")))
        out.append(("hset hash", cli(port, "hset", "hash", "f1", "v1", "f2", "v2")))
        out.append(("sadd set", cli(port, "sadd", "set", "x", "y", "z")))
        out.append(("object encoding list", cli(port, "object", "encoding", "list")))
        out.append(("object encoding set", cli(port, "object", "encoding", "set")))
        t = time.monotonic()
        b = subprocess.run(["redis-benchmark", "-p", str(port), *self.bench],
                           capture_output=True, timeout=300)
        out.append(("redis-benchmark exit", b.returncode))
        out.append(("redis-benchmark seconds (not compared)", round(time.monotonic() - t, 1)))
        for cmd in (["get", "greeting"], ["get", "counter"], ["lrange", "list", "0", "-1"],
                    ["hgetall", "hash"], ["smembers", "set"], ["dbsize"], ["llen", "mylist"],
                    ["get", "counter:__rand_int__"], ["get", "key:__rand_int__"],
                    ["scard", "myset"], ["hget", "myhash", "element:__rand_int__"]):
            reply = cli(port, *cmd)
            if cmd[0] in ("smembers", "hgetall"):
                reply = " ".join(sorted(reply.split()))
            out.append((" ".join(cmd), reply))
        info = cli(port, "info", "server")
        m = re.search(r"redis_version:(\S+)", info)
        out.append(("info server: redis_version", m.group(1) if m else info[:200]))
        out.append(("command count", cli(port, "command", "count")))
        out.append(("config get list-max-listpack-size",
                    cli(port, "config", "get", "list-max-listpack-size")))
        out.append(("eval incr", cli(port, "eval", "return redis.call('incr', KEYS[1])", "1",
                                     "evalkey")))
        out.append(("eval cjson", cli(port, "eval", "return cjson.encode({1, 2, 'x'})", "0")))
        out.append(("eval error", cli(port, "eval", "return redis.call('nosuchcommand')", "0")))
        out.append(("save", cli(port, "save")))
        # Last, as it may crash the server: a security fix (see CORRUPT_RESTORE).
        out.append(("debug set-skip-checksum-validation 1",
                    resp(port, "debug", "set-skip-checksum-validation", "1")))
        out.append(("restore of a corrupt payload (CVE-2026-25243 test)",
                    resp(port, "restore", "corrupt", "0", CORRUPT_RESTORE)))
        time.sleep(0.5)
        out.append(("ping after the restore", resp(port, "ping")))
        return out


class Memcached(Scenario):
    load_args = ["-x", "20000", "-c", "4", "-T", "1", "-w", "1k"]

    def argv(self, port, rundir):
        return ["-p", str(port), "-l", "127.0.0.1", "-U", "0", "-t", "2", "-u", "root"]

    @staticmethod
    def talk(port, lines):
        """Sends each request; reads its reply: `n` lines, or up to END when n is 0."""
        replies = []
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            f = s.makefile("rwb")
            for req, n in lines:
                f.write(req)
                f.flush()
                got = []
                while True:
                    line = f.readline()
                    got.append(line.decode(errors="replace").rstrip("\r\n"))
                    if line == b"" or (n == 0 and line == b"END\r\n") or (n and len(got) >= n):
                        break
                replies.append(" | ".join(got))
        return replies

    def scenario(self, port):
        self.load = "memcaslap " + " ".join(self.load_args) + " + 30 requests"
        out = []
        t = time.monotonic()
        load = subprocess.run(["memcaslap", "-s", f"127.0.0.1:{port}", *self.load_args],
                              capture_output=True, timeout=300)
        out.append(("memcaslap exit", load.returncode))
        out.append(("memcaslap seconds (not compared)", round(time.monotonic() - t, 1)))
        reqs = []
        for i in range(20):
            v = str(i * i)
            reqs.append((f"set key{i} 0 0 {len(v)}\r\n{v}\r\n".encode(), 1))
        reqs += [(b"incr key3 5\r\n", 1), (b"decr key4 100\r\n", 1),
                 (b"append key5 0 0 2\r\nxy\r\n", 1), (b"delete key6\r\n", 1),
                 (b"get " + b" ".join(f"key{i}".encode() for i in range(20)) + b"\r\n", 0),
                 (b"mg key7 v f t\r\n", 2), (b"mn\r\n", 1),
                 (b"bogus command\r\n", 1), (b"version\r\n", 1)]
        replies = self.talk(port, reqs)
        out.append(("20 x set", " ".join(sorted(set(replies[:20])))))
        names = ["incr key3 5", "decr key4 100", "append key5", "delete key6", "get key0..19",
                 "mg key7 v f t", "mn", "bogus command", "version"]
        for name, rep in zip(names, replies[20:]):
            out.append((name, rep))
        return out


class Web(Scenario):
    def site(self):
        root = os.path.join(self.tmp, "www")
        if not os.path.exists(root):
            os.chmod(self.tmp, 0o755)
            os.makedirs(os.path.join(root, "dir"), mode=0o755)
            files = {"index.html": "<h1>tandem</h1>\n",
                     "big.txt": "".join(f"line {i}\n" for i in range(20000)),
                     "dir/index.html": "<p>dir</p>\n"}
            for name, text in files.items():
                p = os.path.join(root, name)
                with open(p, "w") as f:
                    f.write(text)
                os.chmod(p, 0o644)
                os.utime(p, (FIXED_MTIME, FIXED_MTIME))
        return root

    def curl(self, port, path, *opts):
        r = subprocess.run(["curl", "-s", "-i", "-m", "10", *opts, f"http://127.0.0.1:{port}{path}"],
                           capture_output=True, timeout=20)
        head, _, body = r.stdout.partition(b"\r\n\r\n")
        lines = head.decode(errors="replace").split("\r\n")
        keep = ("content-type", "content-length", "location", "etag", "last-modified",
                "content-range", "allow", "accept-ranges", "server", "transfer-encoding")
        hdrs = [ln for ln in lines[1:] if ln.split(":")[0].lower() in keep]
        digest = hashlib.md5(body).hexdigest()[:12]
        b = body.decode(errors="replace")
        shown = b if len(b) <= 80 else f"{len(body)} bytes md5 {digest}"
        text = f"{lines[0]} | {' | '.join(sorted(hdrs))} | body: {shown!r}"
        return text.replace(f"127.0.0.1:{port}", "127.0.0.1:PORT")  # runs use different ports

    def scenario(self, port):
        self.load = "ab -n 400 -c 4 / ; wrk -t1 -c4 -d2s /big.txt ; 9 curl checks"
        out = []
        ab = subprocess.run(["ab", "-q", "-n", "400", "-c", "4", f"http://127.0.0.1:{port}/"],
                            capture_output=True, timeout=120)
        failed = re.search(rb"Failed requests:\s+(\d+)", ab.stdout)
        out.append(("ab exit, failed requests",
                    f"{ab.returncode}, {failed.group(1).decode() if failed else '?'}"))
        wrk = subprocess.run(["wrk", "-t1", "-c4", "-d2s", f"http://127.0.0.1:{port}/big.txt"],
                             capture_output=True, timeout=60)
        non2xx = re.search(rb"Non-2xx or 3xx responses: (\d+)", wrk.stdout)
        reqs = re.search(rb"(\d+) requests in", wrk.stdout)
        out.append(("wrk exit, non-2xx", f"{wrk.returncode}, {non2xx.group(1).decode() if non2xx else 0}"))
        out.append(("wrk requests in 2 s (not compared)", reqs.group(1).decode() if reqs else "?"))
        out.append(("GET /", self.curl(port, "/")))
        out.append(("GET /big.txt", self.curl(port, "/big.txt")))
        out.append(("GET /missing", self.curl(port, "/missing")))
        out.append(("HEAD /", self.curl(port, "/", "-I")))
        out.append(("GET /dir (no slash)", self.curl(port, "/dir")))
        out.append(("GET /big.txt Range 0-9", self.curl(port, "/big.txt", "-H", "Range: bytes=0-9")))
        out.append(("GET / If-Modified-Since", self.curl(
            port, "/", "-H", "If-Modified-Since: Tue, 14 Nov 2023 22:13:20 GMT")))
        out.append(("POST /", self.curl(port, "/", "-d", "x=1")))
        out.append(("GET /../etc/passwd (path-as-is)", self.curl(port, "/../etc/passwd",
                                                                 "--path-as-is")))
        return out


class Nginx(Web):
    def argv(self, port, rundir):
        root = self.site()
        os.makedirs(os.path.join(rundir, "logs"), exist_ok=True)
        os.chmod(rundir, 0o755)
        conf = os.path.join(rundir, "nginx.conf")
        with open(conf, "w") as f:
            f.write(f"""daemon off; master_process on; worker_processes 2; user nobody nogroup;
error_log {rundir}/logs/error.log; pid {rundir}/nginx.pid;
events {{ worker_connections 64; }}
http {{ access_log off; client_body_temp_path {rundir}/body; proxy_temp_path {rundir}/proxy;
  fastcgi_temp_path {rundir}/fcgi; uwsgi_temp_path {rundir}/uwsgi; scgi_temp_path {rundir}/scgi;
  types {{ text/html html; text/plain txt; }} default_type application/octet-stream;
  server {{ listen 127.0.0.1:{port}; root {root}; }} }}
""")
        return ["-c", conf, "-p", rundir, "-e", f"{rundir}/logs/error.log"]


class Lighttpd(Web):
    def argv(self, port, rundir):
        root = self.site()
        conf = os.path.join(rundir, "lighttpd.conf")
        with open(conf, "w") as f:
            f.write(f'server.document-root = "{root}"\nserver.port = {port}\n'
                    f'server.bind = "127.0.0.1"\nindex-file.names = ( "index.html" )\n'
                    f'mimetype.assign = ( ".html" => "text/html", ".txt" => "text/plain" )\n'
                    f'server.errorlog = "{rundir}/error.log"\n')
        return ["-D", "-f", conf]


SCENARIOS = {"redis": Redis, "memcached": Memcached, "nginx": Nginx, "lighttpd": Lighttpd}

# Pairs whose default run hits a tandem bug are run a second time with a rules file (and
# options) that sidestep it, to see what happens after it. The bugs are described in results.md.
WORKAROUNDS = {
    # bug 2: the loader's mmap(PROT_EXEC) of version-local descriptors is compared
    "redis": ("absorb mmap\n", []),
    # bug 1: a write to a version's own /proc descriptor is compared by descriptor number
    "memcached": ("ignore write 0\n", []),
}


# ------------------------------------------------------------------------------ runs
def load_events(path):
    evs = []
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                if line.strip():
                    try:
                        evs.append(json.loads(line))
                    except json.JSONDecodeError:
                        evs.append({"event": "unparsable", "line": line[:200]})
    return evs


def one_run(label, scen, prefix_cmd, binary, workdir):
    """Starts a server (prefix_cmd + its argv), runs the scenario, stops it."""
    port = free_port()
    rundir = os.path.join(workdir, label)
    os.makedirs(rundir)
    args = scen.argv(port, rundir)
    cmd = [*prefix_cmd(binary), *args] if prefix_cmd else [binary, *args]
    log = os.path.join(rundir, "output.log")
    print(f"  {label}: {' '.join(cmd)[:160]}", flush=True)
    t0 = time.monotonic()
    srv = Server(cmd, port, log, rundir)
    result, error = None, None
    try:
        if not srv.ready:
            error = f"did not listen on {port}"
        else:
            result = scen.scenario(port)
    except Exception as e:  # a client timeout: the run is reported, never hidden
        error = f"{type(e).__name__}: {e}"
    finally:
        srv.stop()
    return {"label": label, "cmd": cmd, "result": result, "error": error, "status": srv.status,
            "leftover": srv.leftover, "seconds": round(time.monotonic() - t0, 1),
            "startup": round(srv.startup, 2), "output": srv.output(3000), "rundir": rundir}


def run_pair(pair, tandem, copies, workdir, keep):
    pkg = pair["package"]
    old, new = pair["old"]["binary"], pair["new"]["binary"]
    scen = SCENARIOS[pair.get("source", pkg)](workdir)
    runs = {}
    runs["native old"] = one_run("native-old", scen, None, old, workdir)
    runs["native new"] = one_run("native-new", scen, None, new, workdir)
    ev = os.path.join(workdir, "events-pair.jsonl")
    runs["tandem old+new"] = one_run(
        "tandem-pair", scen, lambda b: [tandem, "run", "--events", ev, old, new, "--"], None,
        workdir)
    runs["tandem old+new"]["events"] = load_events(ev)
    rules_text, rules_opts = WORKAROUNDS.get(pkg, ("", []))
    if rules_text:
        # The same pair with a rules file that sidesteps a tandem bug found in the default run,
        # to see what happens after it (see results.md's analysis).
        rules = os.path.join(workdir, "workaround.rules")
        with open(rules, "w") as f:
            f.write(rules_text)
        evw = os.path.join(workdir, "events-pair-rules.jsonl")
        key = "tandem old+new --rules"
        runs[key] = one_run("tandem-pair-rules", scen,
                            lambda b: [tandem, "run", "--events", evw, "--rules", rules,
                                       *rules_opts, old, new, "--"], None, workdir)
        runs[key]["events"] = load_events(evw)
        runs[key]["rules"] = rules_text
        runs[key]["opts"] = rules_opts
    if copies:
        for role, b in (("old", old), ("new", new)):
            evc = os.path.join(workdir, f"events-copies-{role}.jsonl")
            key = f"tandem --copies 2 {role}"
            runs[key] = one_run(f"tandem-copies-{role}", scen,
                                lambda b, evc=evc: [tandem, "run", "--events", evc, "--copies",
                                                    "2", b, "--"], b, workdir)
            runs[key]["events"] = load_events(evc)
    if keep:
        dest = os.path.join(keep, pkg)
        shutil.rmtree(dest, ignore_errors=True)
        shutil.copytree(workdir, dest, ignore=shutil.ignore_patterns("www", "*.rdb"))
    return {"pair": pair, "load": scen.load, "runs": runs}


# ------------------------------------------------------------------------------ report
def kinds(evs):
    return collections.Counter(e.get("event", "?") for e in evs)


def short(s, n=300):
    s = str(s)
    return s if len(s) <= n else s[:n] + f"… ({len(s)} chars)"


def call_name(decoded):
    return str(decoded).split("(")[0]


def divergence_key(e):
    if "sides" in e:
        return ("call", tuple(call_name(s["call"]) for s in e["sides"]), e.get("resolution"))
    if "results" in e:
        return ("result", call_name(e.get("call")), e.get("resolution"))
    if "signal" in e:
        return ("signal", e["signal"], e.get("resolution"))
    return ("other", json.dumps(e, sort_keys=True)[:100], "")


def describe_divergences(evs):
    """Distinct divergences: grouped by the calls' names and the resolution, each with its count
    and up to 3 distinct examples (decoded calls of both sides)."""
    groups = collections.OrderedDict()
    for e in evs:
        if e.get("event") != "divergence":
            continue
        k = divergence_key(e)
        g = groups.setdefault(k, {"count": 0, "examples": [], "seen": set(), "first": e})
        g["count"] += 1
        if "sides" in e:
            ex = tuple(f"v{','.join(map(str, s['versions']))}: {s['call']}" for s in e["sides"])
            ex = ex + (f"v{e.get('version')} {e.get('resolution')} (winner v{e.get('winner')})",)
        elif "results" in e:
            ex = (f"{e['call']}",) + tuple(f"v{r['version']} returned {r['result']}"
                                           for r in e["results"]) + (e.get("resolution", ""),)
        else:
            ex = (json.dumps({k: v for k, v in e.items() if k != "time"}),)
        if ex not in g["seen"] and len(g["examples"]) < 3:
            g["seen"].add(ex)
            g["examples"].append((round(e.get("time", 0), 3), ex))
    return groups


def describe_absorbed(evs):
    c = collections.Counter()
    for e in evs:
        if e.get("event") == "absorbed":
            call = str(e.get("call", ""))
            m = re.match(r'(\w+)\(.*?"([^"]*)"', call)
            key = (e.get("version"), f'{m.group(1)}("{m.group(2)}")' if m else call_name(call))
            c[key] += 1
    return c


NOT_COMPARED = "(not compared)"


def compare(native, other):
    if native["result"] is None or other["result"] is None:
        return None
    a = [v for k, v in native["result"] if NOT_COMPARED not in k]
    b = [v for k, v in other["result"] if NOT_COMPARED not in k]
    return a == b


def md_escape(s):
    return str(s).replace("|", "\\|").replace("\n", " ")


def report(results, tandem, started):
    L = []
    L.append("# Real version pairs under tandem run\n")
    L.append(f"Generated by `experiments/versions/run.py` on {started} (tandem: `{tandem}`, "
             f"commit {git_head()}). Binaries built by `experiments/versions/build.sh` with "
             "`-g -O2 -fno-lto` from Debian source packages; every server on 127.0.0.1, "
             "default policy (prefer-new), `--reconverge 8`.\n")
    L.append("| pair | old | new | load | tandem pair = native new | = native old | "
             "tandem exit | events (pair) | with workaround rules: = native new, events | "
             "copies-2 divergences (old / new) |")
    L.append("|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        p, runs = r["pair"], r["runs"]
        t = runs["tandem old+new"]
        k = kinds(t.get("events", []))
        ev = ", ".join(f"{n} {c}" for n, c in sorted(k.items()))
        cp = " / ".join(str(kinds(runs[x].get("events", [])).get("divergence", 0))
                        if x in runs else "-" for x in ("tandem --copies 2 old",
                                                         "tandem --copies 2 new"))
        eqn = compare(runs["native new"], t)
        eqo = compare(runs["native old"], t)
        ver = lambda v: f"{v['version']}" + ("" if v["debian_patches"] else " (orig tarball)")
        w = runs.get("tandem old+new --rules")
        wk = "-"
        if w:
            wk = f"{yes(compare(runs['native new'], w))}, " + ", ".join(
                f"{n} {c}" for n, c in sorted(kinds(w.get("events", [])).items()))
        L.append(f"| {p['package']} | {ver(p['old'])} | {ver(p['new'])} | {md_escape(r['load'])} "
                 f"| {yes(eqn)} | {yes(eqo)} | {t['status']} | {ev} | {md_escape(wk)} | {cp} |")
    L.append("")
    for r in results:
        p, runs = r["pair"], r["runs"]
        L.append(f"## {p['package']}: {p['old']['version']} -> {p['new']['version']}\n")
        for role in ("old", "new"):
            v = p[role]
            L.append(f"- {role}: `{v['binary']}` ({v['version']}, "
                     f"{'Debian patches applied' if v['debian_patches'] else 'Debian orig tarball without Debian patches (the mirror serves no .dsc/.debian.tar.xz for it)'}, "
                     f"built in {v['build_seconds']} s)")
        L.append(f"- load: {r['load']}")
        if "tandem old+new --rules" in runs:
            w = runs["tandem old+new --rules"]
            L.append(f"- `tandem old+new --rules`: the pair again with the rules file "
                     f"`{w['rules'].strip()}`" + (f" and `{' '.join(w['opts'])}`" if w["opts"] else "")
                     + " (a workaround for a tandem bug of the default run; see the analysis)")
        L.append("")
        L.append("| run | exit | seconds | startup s | error | leftover processes | events |")
        L.append("|---|---|---|---|---|---|---|")
        for name, run in runs.items():
            ev = ", ".join(f"{n} {c}" for n, c in sorted(kinds(run.get("events", [])).items())) \
                if "events" in run else "-"
            L.append(f"| {name} | {run['status']} | {run['seconds']} | {run['startup']} | "
                     f"{md_escape(run['error'] or '')} | {md_escape(', '.join(run['leftover']))} "
                     f"| {ev} |")
        L.append("")
        # The checks, side by side.
        names = [k for k, _ in (runs["native new"]["result"] or runs["native old"]["result"] or [])]
        cols = list(runs)
        L.append("| check | " + " | ".join(cols) + " |")
        L.append("|---|" + "---|" * len(cols))
        vals = {c: dict(runs[c]["result"] or []) for c in cols}
        for n in names:
            base = vals["native new"].get(n)
            row = []
            for c in cols:
                v = vals[c].get(n)
                if c != "native new" and v == base and NOT_COMPARED not in n:
                    row.append("= native new")
                else:
                    row.append(f"`{md_escape(short(v, 200))}`")
            L.append(f"| {md_escape(n)} | " + " | ".join(row) + " |")
        L.append("")
        for name, run in runs.items():
            if "events" not in run:
                continue
            groups = describe_divergences(run["events"])
            absorbed = describe_absorbed(run["events"])
            other = [e for e in run["events"] if e.get("event") in
                     ("crash", "drop", "promotion", "refusal", "reconverged", "exit", "unparsable")]
            if not groups and not absorbed and not other:
                continue
            L.append(f"### {name}: events\n")
            if groups:
                L.append(f"{sum(g['count'] for g in groups.values())} divergence events, "
                         f"{len(groups)} distinct (by calls and resolution):\n")
                for i, (k, g) in enumerate(groups.items(), 1):
                    L.append(f"{i}. **{k[0]} divergence** `{md_escape(k[1])}` — {g['count']} "
                             f"times; resolution: {k[2]}")
                    for t, ex in g["examples"]:
                        L.append(f"   - at {t} s:")
                        for line in ex:
                            L.append(f"     - `{short(line, 600).replace('`', '')}`")
                L.append("")
            if absorbed:
                L.append("Absorbed (benign extra calls, run by the version that made them):\n")
                for (v, call), n in sorted(absorbed.items(), key=lambda x: (x[0][0] or 0, x[0][1])):
                    L.append(f"- v{v}: `{short(call, 200)}` x{n}")
                L.append("")
            if other:
                L.append("Other events:\n")
                for e in other[:20]:
                    e = {k: v for k, v in e.items() if k != "time"}
                    L.append(f"- `{short(json.dumps(e), 400)}`")
                L.append("")
        t = runs["tandem old+new"]
        L.append("<details><summary>tandem old+new: last lines of its output</summary>\n")
        L.append("```\n" + "\n".join(t["output"].splitlines()[-25:]) + "\n```\n</details>\n")
    return "\n".join(L) + "\n"


def yes(b):
    return "n/a" if b is None else ("yes" if b else "**no**")


def git_head():
    r = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"], capture_output=True,
                       text=True)
    return r.stdout.strip() or "?"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    default_tandem = os.path.join(REPO, "build", "tools", "tandem")
    ap.add_argument("--tandem", default=default_tandem)
    ap.add_argument("--pairs", default="")
    ap.add_argument("--no-copies", action="store_true")
    ap.add_argument("--keep", help="copy every run's folder (logs, configs, events) here")
    ap.add_argument("--out", default=RESULTS)
    ap.add_argument("--json", help="also write the raw results as JSON here")
    a = ap.parse_args()
    a.tandem = os.path.abspath(a.tandem)
    with open(os.path.join(ROOT, "versions.json")) as f:
        pairs = json.load(f)
    if a.pairs:
        want = a.pairs.split(",")
        pairs = [p for p in pairs if p["package"] in want]
    if not os.access(a.tandem, os.X_OK):
        sys.exit(f"no tandem at {a.tandem}: build it (cmake --build build --target tandem)")
    before = set(inst_pids())
    if before:
        print(f"note: processes of the versions already running before this run: {sorted(before)}")
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    results = []
    for p in pairs:
        print(f"{p['package']}: {p['old']['version']} -> {p['new']['version']}", flush=True)
        workdir = tempfile.mkdtemp(prefix=f"tandem-versions-{p['package']}-")
        try:
            results.append(run_pair(p, a.tandem, not a.no_copies, workdir, a.keep))
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
    left = set(inst_pids()) - before
    for pid in left:
        print(f"WARNING: pid {pid} of a version left running; killing it")
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    text = report(results, a.tandem, started)
    analysis = ""
    if os.path.exists(a.out):
        with open(a.out) as f:
            old = f.read()
        i = old.find("\n## Analysis")
        if i >= 0:
            analysis = old[i + 1:]
    with open(a.out, "w") as f:
        f.write(text + ("\n" + analysis if analysis else ""))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f, indent=1, default=str)
    print(f"wrote {a.out}; processes left: {sorted(left) or 'none'}")


if __name__ == "__main__":
    main()
