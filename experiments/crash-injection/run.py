#!/usr/bin/python3
"""Crash injection into real servers under `tandem run` (issue 4, acceptance "Crash injection").

    experiments/crash-injection/run.py [--servers lighttpd,nginx,...] [--trials 50]
                                       [--out DIR] [--tandem PATH] [--preload PATH]

Each trial starts one server on 127.0.0.1 under `tandem run` with two versions that are two
paths to the same binary (a/NAME and b/NAME, symlinks), so that the preload library
tests/preload/crashinject.c, loaded into every version through LD_PRELOAD (tandem passes its
environment to the versions), can pick one of them by argv[0]. The chosen version faults with
SIGSEGV right after it reads the magic request (TANDEM_CRASH_PATTERN), once
(TANDEM_CRASH_ONCE=1: the restored copy does not crash again when it replays that input).
Trials alternate between crashing the leader (version 2, b/) and the follower (version 1, a/).

During a trial real clients drive a bounded load: for the web servers curl (in parallel,
keep-alive) fetches distinct URLs whose bodies are checked byte for byte, while ab loads the
server at the same time; the magic request is one of curl's, in the middle. Every request must
be answered once and correctly: curl's transfers are compared with the files, ab must report
no failed and no non-2xx request, and the server's access log must show every request exactly
once (a request served twice, e.g. by a crashed leader and again by its successor, would show
twice). After the load the trial waits for the crashed version's `rejoined` event, sends a
second batch of checked requests (the versions must still agree: no divergence, no drop),
stops the server with SIGTERM and requires every version to exit as natively.

Time to rejoin = time of `rejoined` - time of `crash` (both from tandem's events).

With --deterministic the fault is deterministic (no TANDEM_CRASH_ONCE): the version crashes every
time it reads the magic request, so its restored copy crashes again when it replays that read,
and tandem's Rx-style recovery restores it once more with that input withheld (the read fails
with ECONNRESET for it alone). A trial then passes when every request is still answered
correctly (the other version serves the magic request's connection), the version crashed
twice, was restarted twice, had one input withheld and rejoined (`rejoined` with its
`withheld_fds` and `guarantee`), and the versions agree afterwards. Servers whose versions are
multi-threaded (redis, memcached) have no Rx: there the second crash must drop the version
(`restart-refused`, `drop`) while every request is still answered. Time to rejoin = `rejoined`
- the first `crash`.

Writes DIR/trials/SERVER-NNN.json (one per trial), DIR/summary.json and DIR/results.md.
Exit status 0 when every trial of every server met its expectation, 1 otherwise.
"""
import argparse
import collections
import concurrent.futures
import ftplib
import io
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
MAGIC = "tandemcrashmagic"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, timeout=20):
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


def read_events(path):
    try:
        with open(path) as f:
            return [json.loads(line) for line in f if line.strip()]
    except (OSError, ValueError):
        return []


def wait_event(path, pred, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        evs = read_events(path)
        if any(pred(e) for e in evs):
            return True
        time.sleep(0.05)
    return False


# ---------------------------------------------------------------------------------------------
# Servers. Each one: binary, configure(trial) -> argv, load(trial) and check(trial).


class Trial:
    def __init__(self, server, index, tmp, port, crash_version):
        self.server = server
        self.index = index
        self.tmp = tmp
        self.port = port
        self.crash_version = crash_version  # 1 or 2
        self.result = {"server": server, "trial": index, "crash_version": crash_version,
                       "crash_role": "leader" if crash_version == 2 else "follower",
                       "problems": []}

    def problem(self, text):
        self.result["problems"].append(text)


def make_site(tmp, count=40):
    """Distinct files of various sizes; returns {name: bytes}."""
    root = os.path.join(tmp, "www")
    os.makedirs(os.path.join(root, "d"), exist_ok=True)
    files = {}
    for i in range(count):
        size_lines = [1, 10, 200, 3000][i % 4]
        body = "".join(f"doc {i} line {k}\n" for k in range(size_lines)).encode()
        files[f"d/{i}.txt"] = body
        with open(os.path.join(root, "d", f"{i}.txt"), "wb") as f:
            f.write(body)
    with open(os.path.join(root, "index.html"), "wb") as f:
        f.write(b"<h1>tandem</h1>\n")
    # nginx's workers run as an unprivileged user: the site must be readable by anyone.
    os.chmod(tmp, 0o755)
    for dirpath, dirs, names in os.walk(root):
        os.chmod(dirpath, 0o755)
        for n in names:
            os.chmod(os.path.join(dirpath, n), 0o644)
    return root, files


class WebServer:
    stop_status = 0
    restart_expected = True
    rx = True          # single-threaded processes: a deterministic crash is recovered (Rx)
    requests = 200     # curl's checked requests during the load (the magic one in the middle)
    ab_requests = 400  # ab's requests at the same time
    after = 40         # checked requests after the rejoin

    def load(self, t):
        root, files = t.site
        names = sorted(files)
        urls = []
        for k in range(self.requests):
            name = names[k % len(names)]
            tag = f"t{t.index}-{k}"
            if k == self.requests // 2:
                tag += "-" + MAGIC
            urls.append((f"/{name}?r={tag}", name, tag))
        ab = subprocess.Popen(["ab", "-q", "-n", str(self.ab_requests), "-c", "4",
                               f"http://127.0.0.1:{t.port}/index.html?ab"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(0.05)
        got = self.curl(t, urls, files, "load")
        try:
            out, err = ab.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            ab.kill()
            out, err = ab.communicate()
        out = out.decode(errors="replace")
        ab_stats = {"exit": ab.returncode}
        for key, pat in (("complete", r"Complete requests:\s+(\d+)"),
                         ("failed", r"Failed requests:\s+(\d+)"),
                         ("non2xx", r"Non-2xx responses:\s+(\d+)")):
            m = re.search(pat, out)
            ab_stats[key] = int(m.group(1)) if m else (0 if key == "non2xx" else None)
        t.result["ab"] = ab_stats
        if ab.returncode != 0 or ab_stats["complete"] != self.ab_requests or \
                ab_stats["failed"] != 0 or ab_stats["non2xx"] != 0:
            t.problem(f"ab: {ab_stats} {err.decode(errors='replace')[-300:]}")
        t.urls = urls
        return got

    def after_rejoin(self, t):
        root, files = t.site
        names = sorted(files)
        urls = [(f"/{names[k % len(names)]}?r=t{t.index}-after{k}", names[k % len(names)],
                 f"t{t.index}-after{k}") for k in range(self.after)]
        t.after_urls = urls
        return self.curl(t, urls, files, "after")

    def curl(self, t, urls, files, label):
        outdir = os.path.join(t.tmp, f"curl-{label}")
        os.makedirs(outdir, exist_ok=True)
        cfg = os.path.join(t.tmp, f"curl-{label}.cfg")
        with open(cfg, "w") as f:
            for k, (url, _, _) in enumerate(urls):
                f.write(f'url = "http://127.0.0.1:{t.port}{url}"\noutput = "{outdir}/{k}"\n')
        r = subprocess.run(["curl", "-s", "--parallel", "--parallel-max", "4", "-m", "20",
                            "-w", "%{http_code} %{size_download} %{url_effective}\\n", "-K", cfg],
                           capture_output=True, timeout=120)
        status = {}
        for line in r.stdout.decode(errors="replace").splitlines():
            parts = line.split()
            if len(parts) == 3:
                status.setdefault(parts[2], []).append(parts[0])
        ok = bad = lost = dup = 0
        for k, (url, name, _) in enumerate(urls):
            codes = status.get(f"http://127.0.0.1:{t.port}{url}", [])
            try:
                with open(os.path.join(outdir, str(k)), "rb") as f:
                    body = f.read()
            except OSError:
                body = None
            if not codes or codes == ["000"]:
                lost += 1
            elif len(codes) > 1:
                dup += 1
            elif codes == ["200"] and body == files[name]:
                ok += 1
            else:
                bad += 1
        stats = {"sent": len(urls), "ok": ok, "wrong": bad, "lost": lost, "duplicated": dup,
                 "curl_exit": r.returncode}
        if ok != len(urls):
            t.problem(f"curl {label}: {stats}")
        return stats

    def access_log_counts(self, t):
        """Number of times each tag (and ab's requests) appears in the access log."""
        counts = {}
        ab = 0
        try:
            with open(self.access_log(t), errors="replace") as f:
                for line in f:
                    m = re.search(r"\?r=(\S+?)[ \"]", line)
                    if m:
                        counts[m.group(1)] = counts.get(m.group(1), 0) + 1
                    elif "/index.html?ab" in line:
                        ab += 1
        except OSError as e:
            t.problem(f"no access log: {e}")
        return counts, ab

    def check(self, t):
        counts, ab = self.access_log_counts(t)
        tags = [tag for _, _, tag in getattr(t, "urls", [])] + [tag for _, _, tag in getattr(t, "after_urls", [])]
        missing = [g for g in tags if counts.get(g, 0) == 0]
        twice = [g for g in tags if counts.get(g, 0) > 1]
        t.result["access_log"] = {"logged": sum(counts.get(g, 0) for g in tags),
                                  "missing": len(missing), "twice": len(twice), "ab": ab}
        if missing or twice:
            t.problem(f"access log: missing {missing[:3]}, twice {twice[:3]}")
        if ab != t.result.get("ab", {}).get("complete"):
            t.problem(f"access log: {ab} ab requests logged, ab completed "
                      f"{t.result.get('ab', {}).get('complete')}")
        return len(missing), len(twice)


class Lighttpd(WebServer):
    name = "lighttpd"
    binary = "/usr/sbin/lighttpd"

    def configure(self, t, path):
        t.site = make_site(t.tmp)
        conf = os.path.join(t.tmp, "lighttpd.conf")
        with open(conf, "w") as f:
            f.write(f'server.modules = ( "mod_accesslog" )\n'
                    f'server.document-root = "{t.site[0]}"\nserver.port = {t.port}\n'
                    f'server.bind = "127.0.0.1"\nindex-file.names = ( "index.html" )\n'
                    f'server.errorlog = "{t.tmp}/error.log"\n'
                    f'accesslog.filename = "{t.tmp}/access.log"\n')
        return [path, "-D", "-f", conf]

    def access_log(self, t):
        return os.path.join(t.tmp, "access.log")


class Nginx(WebServer):
    name = "nginx"
    binary = "/usr/sbin/nginx"
    workers = int(os.environ.get("CRASHINJ_NGINX_WORKERS", "2"))

    def configure(self, t, path):
        t.site = make_site(t.tmp)
        prefix = os.path.join(t.tmp, "nginx")
        os.makedirs(os.path.join(prefix, "logs"), exist_ok=True)
        os.chmod(prefix, 0o755)
        conf = os.path.join(prefix, "nginx.conf")
        with open(conf, "w") as f:
            f.write(f"""daemon off; master_process on; worker_processes {self.workers};
error_log {prefix}/logs/error.log; pid {prefix}/nginx.pid;
events {{ worker_connections 64; }}
http {{ access_log {prefix}/logs/access.log;
  client_body_temp_path {prefix}/body; proxy_temp_path {prefix}/proxy;
  fastcgi_temp_path {prefix}/fcgi; uwsgi_temp_path {prefix}/uwsgi; scgi_temp_path {prefix}/scgi;
  server {{ listen 127.0.0.1:{t.port}; root {t.site[0]}; }} }}
""")
        return [path, "-c", conf, "-p", prefix]

    def access_log(self, t):
        return os.path.join(t.tmp, "nginx", "logs", "access.log")


class KeyValueServer:
    """redis and memcached: multi-threaded; a crashed version comes back whole from a checkpoint
    of all its threads (src/monitor/mt_checkpoint.cc). Checked requests: per client, SET of distinct keys and INCR of its own
    counter (a request executed twice or not at all shows in the counter), the magic key in the
    middle of client 0's; then every key and counter read back. A real client loads the server
    at the same time (redis-benchmark, memcaslap)."""
    stop_status = 0
    restart_expected = True
    rx = False  # multi-threaded: no Rx, a second crash at the same call drops the version
    clients = 4
    per_client = 50  # SET + INCR pairs per client

    def load(self, t):
        bg = subprocess.Popen(self.background_load(t), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
        time.sleep(0.05)
        with concurrent.futures.ThreadPoolExecutor(self.clients) as pool:
            outs = list(pool.map(lambda c: self.client(t, c), range(self.clients)))
        try:
            _, err = bg.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            bg.kill()
            _, err = bg.communicate()
        t.result["background_load"] = {"exit": bg.returncode}
        if bg.returncode != 0:
            t.problem(f"background load: exit {bg.returncode} {err.decode(errors='replace')[-300:]}")
        stats = {"sent": sum(o["sent"] for o in outs), "ok": sum(o["ok"] for o in outs),
                 "wrong": sum(o["wrong"] for o in outs), "lost": sum(o["lost"] for o in outs),
                 "duplicated": 0}
        if stats["ok"] != stats["sent"]:
            t.problem(f"load: {stats}")
        return stats

    def commands(self, t, c):
        cmds = []
        for i in range(self.per_client):
            key = f"t{t.index}-c{c}-k{i}"
            if c == 0 and i == self.per_client // 2:
                key += "-" + MAGIC
            cmds.append(("set", key, f"v{i}"))
            cmds.append(("incr", f"t{t.index}-c{c}-n", None))
        return cmds

    def after_rejoin(self, t):
        """Reads back every key and counter: a lost SET is missing, a lost or doubled INCR
        shows in the counter."""
        sent = ok = wrong = lost = dup = 0
        for c in range(self.clients):
            cmds = self.commands(t, c)
            keys = [(k, v) for op, k, v in cmds if op == "set"]
            values = self.read_back(t, [k for k, _ in keys] + [f"t{t.index}-c{c}-n"])
            for (k, v), got in zip(keys, values):
                sent += 1
                if got == v:
                    ok += 1
                elif got is None:
                    lost += 1
                else:
                    wrong += 1
            counter = values[-1]
            sent += 1
            n = int(counter) if counter and counter.isdigit() else 0
            if n == self.per_client:
                ok += 1
            elif n < self.per_client:
                lost += self.per_client - n
            else:
                dup += n - self.per_client
        stats = {"sent": sent, "ok": ok, "wrong": wrong, "lost": lost, "duplicated": dup}
        if ok != sent:
            t.problem(f"read back: {stats}")
        return stats

    def check(self, t):
        after = t.result.get("after", {})
        return after.get("lost", 0), after.get("duplicated", 0)


class Redis(KeyValueServer):
    name = "redis"
    binary = "/usr/bin/redis-server"

    def configure(self, t, path):
        return [path, "--port", str(t.port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--dir", t.tmp, "--daemonize", "no"]

    def background_load(self, t):
        return ["redis-benchmark", "-p", str(t.port), "-n", "2000", "-c", "4", "-q",
                "-t", "set,get"]

    def client(self, t, c):
        cmds = self.commands(t, c)
        text = "".join(f"SET {k} {v}\n" if op == "set" else f"INCR {k}\n" for op, k, v in cmds)
        r = subprocess.run(["redis-cli", "-p", str(t.port)], input=text.encode(),
                           capture_output=True, timeout=60)
        replies = r.stdout.decode(errors="replace").split("\n")
        ok = wrong = lost = 0
        n = 0
        for k, (op, key, _) in enumerate(cmds):
            got = replies[k] if k < len(replies) else None
            if op == "incr":
                n += 1
            want = "OK" if op == "set" else str(n)
            if got == want:
                ok += 1
            elif got in (None, ""):
                lost += 1
            else:
                wrong += 1
        return {"sent": len(cmds), "ok": ok, "wrong": wrong, "lost": lost}

    def read_back(self, t, keys):
        r = subprocess.run(["redis-cli", "-p", str(t.port)],
                           input="".join(f"GET {k}\n" for k in keys).encode(),
                           capture_output=True, timeout=60)
        lines = r.stdout.decode(errors="replace").split("\n")
        return [(lines[i] or None) if i < len(lines) else None for i in range(len(keys))]


class Memcached(KeyValueServer):
    name = "memcached"
    binary = "/usr/bin/memcached"

    def configure(self, t, path):
        return [path, "-p", str(t.port), "-l", "127.0.0.1", "-U", "0", "-t", "2", "-u", "root"]

    def background_load(self, t):
        return ["memcaslap", "-s", f"127.0.0.1:{t.port}", "-t", "1s", "-c", "4", "-T", "1"]

    def client(self, t, c):
        cmds = self.commands(t, c)
        ok = wrong = lost = 0
        first_wrong = None
        try:
            with socket.create_connection(("127.0.0.1", t.port), timeout=20) as s:
                f = s.makefile("rwb")
                f.write(f"set t{t.index}-c{c}-n 0 0 1\r\n0\r\n".encode())
                f.flush()
                if f.readline() != b"STORED\r\n":
                    wrong += 1
                n = 0
                for op, key, value in cmds:
                    if op == "set":
                        f.write(f"set {key} 0 0 {len(value)}\r\n{value}\r\n".encode())
                        want = b"STORED\r\n"
                    else:
                        n += 1
                        f.write(f"incr {key} 1\r\n".encode())
                        want = f"{n}\r\n".encode()
                    f.flush()
                    got = f.readline()
                    if got == want:
                        ok += 1
                    elif not got:
                        lost += 1
                    else:
                        wrong += 1
                        if first_wrong is None:
                            first_wrong = {"client": c, "request": f"{op} {key}",
                                           "expected": want.decode(errors="replace"),
                                           "got": got.decode(errors="replace")}
        except OSError:
            lost = len(cmds) - ok - wrong
        if first_wrong is not None:
            t.result.setdefault("first_wrong", []).append(first_wrong)
        return {"sent": len(cmds), "ok": ok, "wrong": wrong, "lost": lost}

    def read_back(self, t, keys):
        values = {}
        with socket.create_connection(("127.0.0.1", t.port), timeout=20) as s:
            f = s.makefile("rwb")
            f.write(("get " + " ".join(keys) + "\r\n").encode())
            f.flush()
            while True:
                line = f.readline()
                if line in (b"END\r\n", b""):
                    break
                _, key, _, length = line.decode().split()
                values[key] = f.read(int(length) + 2)[:-2].decode()
        return [values.get(k) for k in keys]


class Vsftpd:
    """vsftpd: a process per session (and, after login, an unprivileged child that reads the
    commands), forked from the listener. 4 parallel anonymous sessions each RETR 12 files (bodies
    checked); client 0's 6th file is named after the magic string, so the session process that
    reads that command faults. Its own seccomp sandbox is off (it kills sessions natively on
    this Debian, see tests/servers/test_servers.py)."""
    name = "vsftpd"
    binary = "/usr/sbin/vsftpd"
    stop_status = 128 + signal.SIGTERM  # vsftpd has no SIGTERM handler
    restart_expected = True
    # Its sessions read their commands from the connection dup'ed to descriptor 0, not a socket
    # the process made: no input to withhold (restart-refused); were it withheld, the copy's
    # session would end with it (rejoin-failed). The version is dropped, the other serves.
    rx = False
    clients = 4
    per_client = 12

    def configure(self, t, path):
        root = os.path.join(t.tmp, "ftp")
        os.makedirs(root, exist_ok=True)
        os.chmod(t.tmp, 0o755)
        os.chmod(root, 0o755)  # vsftpd refuses a writable anonymous root
        t.files = {}
        for c in range(self.clients):
            for i in range(self.per_client):
                name = f"c{c}-f{i}.txt"
                if c == 0 and i == self.per_client // 2:
                    name = f"c{c}-{MAGIC}.txt"
                body = "".join(f"{name} line {k}\n" for k in range(1 + 500 * (i % 4))).encode()
                t.files[name] = body
                with open(os.path.join(root, name), "wb") as f:
                    f.write(body)
                os.chmod(os.path.join(root, name), 0o644)
        pasv = free_port()
        conf = os.path.join(t.tmp, "vsftpd.conf")
        with open(conf, "w") as f:
            f.write(f"""listen=YES
listen_ipv6=NO
listen_address=127.0.0.1
listen_port={t.port}
background=NO
anonymous_enable=YES
no_anon_password=YES
anon_root={root}
local_enable=NO
write_enable=NO
seccomp_sandbox=NO
pasv_enable=YES
pasv_min_port={pasv}
pasv_max_port={pasv + 40}
xferlog_enable=YES
vsftpd_log_file={t.tmp}/vsftpd.log
""")
        return [path, conf]

    def session(self, t, c, names):
        ok = wrong = lost = 0
        try:
            ftp = ftplib.FTP()
            ftp.connect("127.0.0.1", t.port, timeout=20)
            ftp.login()
            for name in names:
                data = io.BytesIO()
                try:
                    ftp.retrbinary(f"RETR {name}", data.write)
                except ftplib.all_errors:
                    lost += 1
                    continue
                if data.getvalue() == t.files[name]:
                    ok += 1
                else:
                    wrong += 1
            ftp.quit()
        except ftplib.all_errors:
            lost = len(names) - ok - wrong
        return {"sent": len(names), "ok": ok, "wrong": wrong, "lost": lost}

    def load(self, t):
        names = sorted(t.files)
        groups = [[n for n in names if n.startswith(f"c{c}-")] for c in range(self.clients)]
        with concurrent.futures.ThreadPoolExecutor(self.clients) as pool:
            outs = list(pool.map(lambda c: self.session(t, c, groups[c]), range(self.clients)))
        stats = {k: sum(o[k] for o in outs) for k in ("sent", "ok", "wrong", "lost")}
        stats["duplicated"] = 0
        if stats["ok"] != stats["sent"]:
            t.problem(f"load: {stats}")
        return stats

    def after_rejoin(self, t):
        names = [n for n in sorted(t.files) if MAGIC not in n][:8]
        stats = self.session(t, 9, names)
        stats["duplicated"] = 0
        if stats["ok"] != stats["sent"]:
            t.problem(f"after: {stats}")
        t.after_names = names
        return stats

    def check(self, t):
        counts = {}
        try:
            with open(os.path.join(t.tmp, "vsftpd.log"), errors="replace") as f:
                for line in f:
                    m = re.search(r'OK DOWNLOAD: .*"/([^"]+)"', line)
                    if m:
                        counts[m.group(1)] = counts.get(m.group(1), 0) + 1
        except OSError as e:
            t.problem(f"no transfer log: {e}")
        want = {n: 1 for n in t.files}
        for n in getattr(t, "after_names", []):
            want[n] += 1
        missing = sum(max(0, w - counts.get(n, 0)) for n, w in want.items())
        twice = sum(max(0, counts.get(n, 0) - w) for n, w in want.items())
        t.result["transfer_log"] = {"missing": missing, "twice": twice}
        if missing or twice:
            t.problem(f"transfer log: {missing} missing, {twice} logged too often")
        return missing, twice


SERVERS = {s.name: s for s in (Lighttpd(), Nginx(), Redis(), Memcached(), Vsftpd())}


# ---------------------------------------------------------------------------------------------
# One trial


def run_trial(server, index, args):
    tmp = tempfile.mkdtemp(prefix=f"crashinj-{server.name}-")
    port = free_port()
    crash_version = 2 if index % 2 == 0 else 1
    t = Trial(server.name, index, tmp, port, crash_version)
    base = os.path.basename(server.binary)
    paths = []
    for v in ("a", "b"):
        os.makedirs(os.path.join(tmp, v))
        os.symlink(server.binary, os.path.join(tmp, v, base))
        paths.append(os.path.join(tmp, v, base))
    argv = server.configure(t, paths[0])
    events = os.path.join(tmp, "events.jsonl")
    env = dict(os.environ)
    env.update({"LD_PRELOAD": args.preload,
                "TANDEM_CRASH_VERSION_MATCH": f"/{'ab'[crash_version - 1]}/{base}",
                "TANDEM_CRASH_PATTERN": MAGIC})
    if args.deterministic:
        env.pop("TANDEM_CRASH_ONCE", None)
    else:
        env["TANDEM_CRASH_ONCE"] = "1"
    cmd = [args.tandem, "run", "-q", "--events", events]
    if args.checkpoint is not None:
        cmd += ["--checkpoint", str(args.checkpoint)]
    cmd += [paths[0], paths[1], "--", *argv[1:]]
    log = open(os.path.join(tmp, "tandem.log"), "wb")
    started = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            env=env, start_new_session=True)
    r = t.result
    r["deterministic"] = bool(args.deterministic)
    r["loadavg_1min"] = round(os.getloadavg()[0], 2)
    try:
        if not wait_port(port, proc):
            t.problem("the server did not listen")
        else:
            r["load"] = server.load(t)
            rejoined = wait_event(events, lambda e: e["event"] in ("rejoined", "drop") and
                                  e.get("version") == crash_version, args.rejoin_wait)
            if not rejoined:
                t.problem(f"no rejoin or drop of version {crash_version} within "
                          f"{args.rejoin_wait} s")
            r["after"] = server.after_rejoin(t)
    finally:
        time.sleep(0.3)
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            t.problem("tandem did not stop within 20 s of SIGTERM")
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        log.close()
    r["duration_s"] = round(time.monotonic() - started, 3)
    code = proc.returncode if proc.returncode >= 0 else 128 - proc.returncode
    r["exit_status"] = code
    if code != server.stop_status:
        t.problem(f"tandem exit status {code}, expected {server.stop_status}")
    lost, twice = server.check(t)
    analyse_events(t, server, read_events(events), args.deterministic)
    load = r.get("load", {})
    after = r.get("after", {})
    # (ab's counts are None when it printed no summary: the load failed, a problem already.)
    complete = r.get("ab", {}).get("complete") or 0
    r["requests"] = {
        "sent": load.get("sent", 0) + after.get("sent", 0) + complete,
        "ok": load.get("ok", 0) + after.get("ok", 0) + complete -
              (r.get("ab", {}).get("failed") or 0) - (r.get("ab", {}).get("non2xx") or 0),
        "wrong": load.get("wrong", 0) + after.get("wrong", 0),
        "lost": max(load.get("lost", 0) + after.get("lost", 0), lost),
        "duplicated": max(load.get("duplicated", 0) + after.get("duplicated", 0), twice),
    }
    r["passed"] = not r["problems"]
    if r["passed"] and not args.keep:
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        r["kept"] = tmp
    return r


def analyse_events(t, server, evs, deterministic=False):
    r = t.result
    v = t.crash_version
    mine = [e for e in evs if e.get("version") == v]
    crashes = [e for e in mine if e["event"] == "crash"]
    restarts = [e for e in mine if e["event"] == "restart"]
    rejoins = [e for e in mine if e["event"] == "rejoined"]
    r["events"] = {
        "crashes": len(crashes),
        "restarts": len(restarts),
        "rejoins": len(rejoins),
        "replay_steps": [e.get("replay_steps") for e in restarts],
        "withheld": [e for e in evs if e["event"] == "withheld"],
        "rejoin_failed": [e for e in evs if e["event"] == "rejoin-failed"],
        "restart_refused": [e for e in evs if e["event"] == "restart-refused"],
        # A version ended by the final SIGTERM (vsftpd has no handler) is not a failure.
        "drops": [e for e in evs if e["event"] == "drop" and e.get("kind") != "killed"],
        "divergences": [e for e in evs if e["event"] == "divergence"],
        "promotions": [e for e in evs if e["event"] == "promotion"],
        "exits": [e for e in evs if e["event"] == "exit"],
    }
    r["crashed"] = bool(crashes) and crashes[0].get("signal") == 11
    r["restarted"] = bool(restarts)
    r["rejoined"] = bool(rejoins)
    if rejoins:
        r["rejoined_as"] = {k: rejoins[-1].get(k) for k in ("withheld_fds", "guarantee")}
    # A multi-threaded process rejoins thread by thread: the last one says it is back.
    r["rejoin_s"] = (round(rejoins[-1]["time"] - crashes[0]["time"], 4)
                     if crashes and rejoins else None)
    # Deterministic: it crashes live, then again where its copy replays the magic input.
    want_crashes = 2 if deterministic else 1
    if not crashes:
        t.problem(f"version {v} did not crash")
    elif len(crashes) != want_crashes:
        t.problem(f"version {v} crashed {len(crashes)} times, expected {want_crashes}")
    rx = deterministic and server.rx
    if server.restart_expected and (rx or not deterministic):
        # (A multi-threaded process rejoins thread by thread: one event per thread.)
        want_restarts = 2 if rx else 1
        if len(restarts) != want_restarts or not rejoins:
            t.problem(f"version {v}: restarted {len(restarts)} (expected {want_restarts}), "
                      f"rejoined {len(rejoins)}")
        keys = ["drops", "divergences", "rejoin_failed", "restart_refused"]
        if rx:
            withheld = [e for e in r["events"]["withheld"] if e.get("version") == v]
            if len(withheld) != 1 or len(r["events"]["withheld"]) != 1:
                t.problem(f"withheld: {r['events']['withheld'][:3]}, expected one of version {v}")
            elif len(restarts) == 2 and restarts[1].get("withheld_fd") != withheld[0].get("fd"):
                t.problem(f"restart {restarts[1]} does not withhold the fd of {withheld[0]}")
            if rejoins and "guarantee" not in rejoins[-1]:
                t.problem(f"rejoined without a guarantee: {rejoins[-1]}")
        else:
            keys.append("withheld")
        for key in keys:
            if r["events"][key]:
                t.problem(f"{key}: {r['events'][key][:2]}")
        exits = r["events"]["exits"]
        if sorted(e.get("version") for e in exits) != [1, 2] or \
                any(e.get("code") != server.stop_status for e in exits):
            t.problem(f"exits: {exits}")
    else:
        # Dropped: without checkpoints, or (deterministic, no Rx) at its second crash after one
        # restart (multi-threaded: restart-refused), or when its copy cannot go on without the
        # withheld input (vsftpd: rejoin-failed after two restarts).
        drops = r["events"]["drops"]
        r["dropped"] = any(e.get("version") == v for e in drops)
        refused = [e for e in r["events"]["restart_refused"] + r["events"]["rejoin_failed"]
                   if e.get("version") == v]
        allowed = 2 if deterministic else 0
        if not r["dropped"] or len(restarts) > allowed or (deterministic and not refused):
            t.problem(f"version {v}: expected dropped: restarts {len(restarts)}, "
                      f"refused {refused[:1]}, drops {drops}")
        others = [e for e in drops if e.get("version") != v]
        if others or r["events"]["divergences"]:
            t.problem(f"other drops {others[:2]}, divergences {r['events']['divergences'][:2]}")


# ---------------------------------------------------------------------------------------------
# Summary


def percentile(values, q):
    if not values:
        return None
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(round(q * (len(s) - 1)))))
    return s[k]


def summarise(name, trials):
    rej = [t["rejoin_s"] for t in trials if t.get("rejoin_s") is not None]
    req = [t["requests"] for t in trials]
    return {
        "server": name,
        "trials": len(trials),
        "passed": sum(t["passed"] for t in trials),
        "requests_sent": sum(q["sent"] for q in req),
        "requests_ok": sum(q["ok"] for q in req),
        "wrong": sum(q["wrong"] for q in req),
        "lost": sum(q["lost"] for q in req),
        "duplicated": sum(q["duplicated"] for q in req),
        "crashed": sum(bool(t.get("crashed")) for t in trials),
        "restarted": sum(bool(t.get("restarted")) for t in trials),
        "rejoined": sum(bool(t.get("rejoined")) for t in trials),
        "deterministic": any(t.get("deterministic") for t in trials),
        "withheld": sum(any(e.get("version") == t["crash_version"]
                            for e in t.get("events", {}).get("withheld", [])) for t in trials),
        "dropped": sum(bool(t.get("dropped")) for t in trials),
        "rejoin_median_s": statistics.median(rej) if rej else None,
        "rejoin_p95_s": percentile(rej, 0.95),
        "rejoin_max_s": max(rej) if rej else None,
        "within_1s": (sum(x <= 1.0 for x in rej) / len(trials)) if rej else None,
        "leader_crashes": sum(t["crash_role"] == "leader" for t in trials),
        "restart_refused": dict(collections.Counter(
            e.get("reason", "") for t in trials
            for e in t.get("events", {}).get("restart_refused", []))),
        "loadavg_1min_median": statistics.median(t.get("loadavg_1min", 0) for t in trials)
        if trials else None,
    }


def fmt_s(x):
    return "–" if x is None else f"{x * 1000:.0f} ms"


def write_results(out, summaries):
    rx = any(s.get("deterministic") for s in summaries)
    lines = ["| server | trials (leader/follower crashed) | passed | requests ok / sent | wrong |"
             " lost | duplicated | crashed | restarted | rejoined | dropped |"
             " rejoin median | p95 | max | rejoined within 1 s |" + (" input withheld |" if rx else ""),
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|" + ("---|" if rx else "")]
    for s in summaries:
        share = "–" if s["within_1s"] is None else f"{100 * s['within_1s']:.0f} %"
        withheld = f" {s['withheld']} |" if rx else ""
        lines.append(
            f"| {s['server']} | {s['trials']} ({s['leader_crashes']}/"
            f"{s['trials'] - s['leader_crashes']}) | {s['passed']} | "
            f"{s['requests_ok']} / {s['requests_sent']} | {s['wrong']} | {s['lost']} | "
            f"{s['duplicated']} | {s['crashed']} | {s['restarted']} | {s['rejoined']} | "
            f"{s['dropped']} | {fmt_s(s['rejoin_median_s'])} | {fmt_s(s['rejoin_p95_s'])} | "
            f"{fmt_s(s['rejoin_max_s'])} | {share} |" + withheld)
    return "\n".join(lines) + "\n"


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--servers", default=",".join(SERVERS))
    p.add_argument("--trials", type=int, default=50)
    p.add_argument("--out", default=os.path.join(HERE, "results"))
    p.add_argument("--tandem", default=os.path.join(REPO, "build", "tools", "tandem"))
    p.add_argument("--preload", default=os.path.join(REPO, "build", "tests", "preload",
                                                     "libtandem_crashinject.so"))
    p.add_argument("--rejoin-wait", type=float, default=5.0)
    p.add_argument("--checkpoint", type=int, default=None,
                   help="tandem's --checkpoint N (agreed calls between checkpoints). The preload's "
                        "crash-once flag is made by its constructor: a copy restored from the "
                        "checkpoint taken before it (the first) crashes again, deterministically")
    p.add_argument("--deterministic", action="store_true",
                   help="the version crashes every time it reads the magic request (no "
                        "TANDEM_CRASH_ONCE): its restored copy crashes again in replay and is "
                        "restored with that input withheld (Rx); multi-threaded servers: dropped")
    p.add_argument("--keep", action="store_true", help="keep every trial's folder")
    p.add_argument("--no-write", action="store_true", help="print only (for tests)")
    args = p.parse_args()
    args.tandem = os.path.abspath(args.tandem)
    args.preload = os.path.abspath(args.preload)
    for path in (args.tandem, args.preload):
        if not os.path.exists(path):
            sys.exit(f"{path}: not found (build first)")
    summaries = []
    all_ok = True
    for name in args.servers.split(","):
        server = SERVERS[name]
        trials = []
        for i in range(args.trials):
            r = run_trial(server, i, args)
            trials.append(r)
            print(f"{name} trial {i}: crash v{r['crash_version']} ({r['crash_role']}) "
                  f"rejoin {fmt_s(r.get('rejoin_s'))} requests {r['requests']} "
                  f"{'ok' if r['passed'] else 'FAILED: ' + '; '.join(r['problems'])[:600]}",
                  flush=True)
            if not args.no_write:
                os.makedirs(os.path.join(args.out, "trials"), exist_ok=True)
                with open(os.path.join(args.out, "trials", f"{name}-{i:03d}.json"), "w") as f:
                    json.dump(r, f, indent=1)
        s = summarise(name, trials)
        all_ok &= s["passed"] == s["trials"]
        summaries.append(s)
        print(json.dumps(s), flush=True)
    table = write_results(args.out, summaries)
    print(table)
    if not args.no_write:
        with open(os.path.join(args.out, "summary.json"), "w") as f:
            json.dump(summaries, f, indent=1)
        path = os.path.join(args.out, "results.md")
        # The analysis (from the line "## Analysis" on) is written by hand and kept.
        analysis = ""
        if os.path.exists(path):
            with open(path) as f:
                text = f.read()
            if "## Analysis" in text:
                analysis = "\n" + text[text.index("## Analysis"):]
        with open(path, "w") as f:
            f.write("# Crash injection: results\n\nGenerated by `run.py` "
                    f"({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}); "
                    "see README.md for the method.\n\n" + table + analysis)
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
