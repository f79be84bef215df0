"""servers: real servers under a bounded load on 127.0.0.1, native vs tandem with 1, 2 and 3
versions (0, 1 and 2 followers).

Every run starts a fresh server on a free port with a temporary configuration, waits until it
listens, runs the load generator for a fixed duration or request count, and stops the server
(SIGTERM, then SIGKILL to its whole process group): nothing survives a run, and every step has a
timeout. A server that cannot start or serve under a configuration is recorded as failed with
its reason. So is a tandem run in which a version diverged, crashed or was dropped: the number
would then not be the cost of running that many versions.

CPU placement (2 vCPUs): the load generator is pinned to the last CPU; the native server to the
first; tandem pins version k (and its tracer thread) to CPU k-1 mod vCPUs: version 1 on the
first CPU, version 2 on the second, where it shares the CPU with the load generator, version 3
on the first again, with version 1. The generators are single-threaded
closed loops (a fixed number of connections), so a slower server gets fewer requests rather
than a queue that grows without bound.
"""
import json
import os
import re
import subprocess

from .common import (Config, Failed, alternate, describe_failure, free_port, last_line, reap,
                     run_bounded, spawn, summarize, summarize_events, wait_for_port)

ROUNDS = 5
START_TIMEOUT = 15
CONNECTIONS = 10


def _cpus():
    cpus = sorted(os.sched_getaffinity(0))
    return cpus[0], cpus[-1]


# ---- servers: each writes its configuration into d and returns its command line ----------

def redis_argv(d, port):
    conf = os.path.join(d, "redis.conf")
    with open(conf, "w") as f:
        f.write(f"port {port}\nbind 127.0.0.1\nprotected-mode no\nsave \"\"\nappendonly no\n"
                f"daemonize no\ndir {d}\nlogfile \"\"\n")
    return ["/usr/bin/redis-server", conf]


def _www(d):
    www = os.path.join(d, "www")
    os.makedirs(www, exist_ok=True)
    with open(os.path.join(www, "index.html"), "w") as f:
        f.write("<html><body>" + "tandem benchmark page. " * 180 + "</body></html>\n")  # ~4 KiB
    return www


def nginx_argv(d, port):
    www = _www(d)
    conf = os.path.join(d, "nginx.conf")
    temps = "\n".join(f"  {k}_temp_path {d}/{k};" for k in
                      ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    # One process that serves: master_process off keeps nginx a single event loop, like the
    # other servers here (a master + worker pair would also run under tandem, as a process tree).
    with open(conf, "w") as f:
        f.write(f"""daemon off;
master_process off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log;
events {{ worker_connections 1024; }}
http {{
  access_log off;
{temps}
  server {{ listen 127.0.0.1:{port}; root {www}; }}
}}
""")
    return ["/usr/sbin/nginx", "-c", conf, "-p", d]


def lighttpd_argv(d, port):
    www = _www(d)
    conf = os.path.join(d, "lighttpd.conf")
    with open(conf, "w") as f:
        f.write(f'server.document-root = "{www}"\nserver.port = {port}\n'
                f'server.bind = "127.0.0.1"\nserver.errorlog = "{d}/error.log"\n'
                f'server.pid-file = "{d}/lighttpd.pid"\nindex-file.names = ( "index.html" )\n')
    return ["/usr/sbin/lighttpd", "-D", "-f", conf]


def memcached_argv(d, port):
    argv = ["/usr/bin/memcached", "-p", str(port), "-l", "127.0.0.1", "-U", "0", "-t", "1",
            "-c", "1024"]
    if os.geteuid() == 0:
        argv += ["-u", "root"]  # memcached refuses to run as root without it
    return argv


# ---- load generators: each returns ({metric: value}, details) or raises Failed ----------

def redis_load(ctx, port, cpu):
    n = 2000 if ctx.quick else 50000
    cmd = ["taskset", "-c", str(cpu), "redis-benchmark", "-h", "127.0.0.1", "-p", str(port),
           "-n", str(n), "-c", str(CONNECTIONS), "-t", "set,get", "--csv"]
    rc, out, err, _, _ = run_bounded(cmd, 240, stdin=subprocess.DEVNULL)
    rps = {m.group(1): float(m.group(2))
           for m in re.finditer(r'^"(SET|GET)","([0-9.]+)"', out.decode(), re.M)}
    if rc != 0 or set(rps) != {"SET", "GET"}:
        raise Failed(f"redis-benchmark: exit {rc}: {last_line(err or out.decode())}")
    return {"redis SET": rps["SET"], "redis GET": rps["GET"]}, {}


def wrk_load(label):
    def load(ctx, port, cpu):
        secs = 1 if ctx.quick else 5
        cmd = ["taskset", "-c", str(cpu), "wrk", "-t1", f"-c{CONNECTIONS}", f"-d{secs}s",
               "--timeout", "5s", f"http://127.0.0.1:{port}/index.html"]
        rc, out, err, _, _ = run_bounded(cmd, secs + 60, stdin=subprocess.DEVNULL)
        text = out.decode()
        m = re.search(r"Requests/sec:\s*([0-9.]+)", text)
        if rc != 0 or not m:
            raise Failed(f"wrk: exit {rc}: {last_line(err or text)}")
        bad = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", text)
        if bad:
            raise Failed(f"{bad.group(1)} responses were not 2xx/3xx")
        # Socket errors (timeouts past 5 s, resets) do not void the number but are kept with it.
        errors = re.search(r"Socket errors:(.*)", text)
        return {label: float(m.group(1))}, ({"socket_errors": errors.group(1).strip()}
                                            if errors else {})
    return load


def memcached_load(ctx, port, cpu):
    secs = 1 if ctx.quick else 5
    cmd = ["taskset", "-c", str(cpu), _memaslap(), "-s", f"127.0.0.1:{port}", "-T", "1",
           "-c", "16", "-t", f"{secs}s"]
    rc, out, err, _, _ = run_bounded(cmd, secs + 60, stdin=subprocess.DEVNULL)
    m = re.search(r"TPS:\s*([0-9]+)", out.decode())
    if rc != 0 or not m:
        raise Failed(f"memcaslap: exit {rc}: {last_line(err or out.decode())}")
    return {"memcached get/set 9:1": float(m.group(1))}, {}


def _memaslap():
    # libmemcached-tools installs memcaslap on Debian; older releases called it memaslap.
    for name in ("memcaslap", "memaslap"):
        for d in ("/usr/bin", "/usr/local/bin"):
            if os.access(os.path.join(d, name), os.X_OK):
                return os.path.join(d, name)
    return "memcaslap"


SERVERS = [
    ("redis", redis_argv, redis_load, ["redis SET", "redis GET"]),
    ("nginx", nginx_argv, wrk_load("nginx 4 KiB page"), ["nginx 4 KiB page"]),
    ("lighttpd", lighttpd_argv, wrk_load("lighttpd 4 KiB page"), ["lighttpd 4 KiB page"]),
    ("memcached", memcached_argv, memcached_load, ["memcached get/set 9:1"]),
]


def _serve_once(ctx, name, make_argv, load, copies, rnd):
    """One run: start, load, stop. copies 0 means native."""
    tag = f"{name}-{'native' if copies == 0 else f'tandem{copies}'}-{rnd}"
    d = os.path.join(ctx.tmp, "servers", tag)
    os.makedirs(d, exist_ok=True)
    port = free_port()
    argv = make_argv(d, port)
    server_cpu, load_cpu = _cpus()
    events = None
    if copies == 0:
        cmd = ["taskset", "-c", str(server_cpu), *argv]
    else:
        events = os.path.join(d, "events.jsonl")
        cmd = [ctx.tandem, "run", "-q", "--events", events, "--copies", str(copies), argv[0],
               "--", *argv[1:]]
    log_path = os.path.join(d, "server.log")
    with open(log_path, "wb") as logf:
        proc = spawn(cmd, stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,
                     cwd=d)
    try:
        if not wait_for_port(port, proc, START_TIMEOUT):
            if proc.poll() is not None:
                raise Failed("did not start: " + describe_failure(proc.returncode,
                                                                   _read(log_path), events))
            why = summarize_events(events)[0] if events else ""
            raise Failed(f"not listening after {START_TIMEOUT} s" + (f" ({why})" if why else ""))
        try:
            metrics, detail = load(ctx, port, load_cpu)
        except Failed as e:
            if proc.poll() is not None:
                raise Failed("server exited during the load: " + describe_failure(
                    proc.returncode, _read(log_path), events)) from None
            why = summarize_events(events)[0] if events else ""
            raise Failed(f"{e} ({why})" if why else str(e)) from None
        if proc.poll() is not None:
            raise Failed("server exited during the load: " + describe_failure(
                proc.returncode, _read(log_path), events))
    finally:
        reap(proc)
    if events:
        detail["events"] = summarize_events(events)[1]
        _check_versions(events, copies)
    return metrics, detail


def _check_versions(events, copies):
    """Every version served the whole run: none diverged, crashed or was dropped before the
    harness stopped the server (a drop of kind "killed" is that stop)."""
    with open(events) as f:
        evs = [json.loads(line) for line in f if line.strip()]
    bad = [e for e in evs if e.get("event") in ("divergence", "crash") or
           (e.get("event") == "drop" and e.get("kind") != "killed")]
    if bad:
        e = bad[0]
        what = e.get("reason") or e.get("resolution") or e.get("signal_name") or ""
        raise Failed(f"version {e.get('version', '?')}: {e['event']}" +
                     (f" ({str(what)[:120]})" if what else "") +
                     (f", and {len(bad) - 1} more events like it" if len(bad) > 1 else ""))


def _version(cmd):
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
        return last_line(r.stdout + r.stderr, 100)
    except (OSError, subprocess.TimeoutExpired):
        return "not installed"


def _read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()[-4000:]
    except OSError:
        return ""


def run(ctx, log):
    rows = []
    for name, make_argv, load, metrics in SERVERS:
        log(f"  servers {name}")
        configs = [Config(label, (lambda c: lambda r: _serve_once(ctx, name, make_argv, load,
                                                                 c, r))(copies))
                   for label, copies in (("native", 0), ("tandem-1", 1), ("tandem-2", 2),
                                           ("tandem-3", 3))]
        raw, loads = alternate(configs, ctx.rounds(ROUNDS), log)
        for metric in metrics:
            rows.append({"name": metric, "metric": "requests/s", "better": "higher",
                         "round_load": loads, "configs": summarize(raw, "higher", key=metric)})
    server_cpu, load_cpu = _cpus()
    return {"rows": rows,
            "placement": f"load generator on CPU {load_cpu} (taskset); native server on CPU "
                         f"{server_cpu}; tandem: version 1 on CPU {server_cpu}, version 2 on "
                         f"CPU {load_cpu} (shared with the load generator), version 3 on CPU "
                         f"{server_cpu} (shared with version 1)",
            "load": f"{CONNECTIONS} connections; wrk -t1 {'1' if ctx.quick else '5'} s; "
                    f"redis-benchmark -n {2000 if ctx.quick else 50000} -t set,get; "
                    f"memcaslap -T1 -c16 {'1' if ctx.quick else '5'} s",
            "versions": {
                "redis-server": _version(["redis-server", "--version"]),
                "nginx": _version(["nginx", "-v"]),
                "lighttpd": _version(["lighttpd", "-v"]),
                "memcached": _version(["memcached", "-V"]),
                "wrk": _version(["wrk", "--version"]),
            }}
