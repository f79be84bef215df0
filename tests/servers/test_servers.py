"""Real servers from Debian's packages under `tandem run --copies 2` and `--copies 3`, driven by
their real clients on 127.0.0.1 with bounded loads; results must equal a native run's.

Each test starts and stops its own servers on free ports, in temporary folders."""
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "run"))
from harness import TANDEM, TandemTest, free_port  # noqa: E402


def wait_port(port, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        except OSError:
            time.sleep(0.05)
    return False


class Server:
    """A server process, native or under tandem, stopped (SIGTERM, then SIGKILL) on exit."""

    def __init__(self, test, argv, port, copies, events, stop_status=0, older=None):
        self.test = test
        # The status after SIGTERM: 0, or 128 + SIGTERM for servers that die of it (vsftpd);
        # natively that shows as -SIGTERM, under tandem as 143, as a shell reports both.
        self.stop_status = stop_status
        self.port = port
        self.argv = ("tandem --copies %d " % copies if copies else "") + " ".join(argv[:1])
        self.events = events
        cmd = list(argv)
        if copies:
            cmd = [TANDEM, "run", "-q", "--events", events, "--copies", str(copies), argv[0], "--",
                   *argv[1:]]
        if older:  # a real version pair: `older` as version 1, argv[0] as version 2
            self.argv = f"tandem {older} {argv[0]}"
            cmd = [TANDEM, "run", "-q", "--events", events, older, argv[0], "--", *argv[1:]]
        self.log = open(os.path.join(test.tmp, f"server-{port}.log"), "wb")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        if not wait_port(port):
            self.stop()
            test.fail(f"{argv[0]} did not listen on {port}: {self.output()}")

    def output(self):
        with open(self.log.name, "rb") as f:
            return f.read().decode(errors="replace")[-2000:]

    def stop(self):
        """SIGTERM, as a service manager would: the server must exit by itself, with status 0."""
        if self.proc.poll() is None:
            # Let the server finish the connections the load generator abandoned (wrk closes
            # its sockets mid-response at the end of its run): lighttpd exits 1 when stopped
            # with connections still open, natively too, and under tandem it is slower.
            time.sleep(1)
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
                self.log.close()
                self.test.fail("the server did not stop within 20 s of SIGTERM")
        self.log.close()
        code = self.proc.returncode
        if code < 0:
            code = 128 - code
        self.test.assertEqual(code, self.stop_status,
                              f"exit status after SIGTERM of {self.argv}: {self.output()}")
        return code


class ServerTest(TandemTest):
    def events_file(self, copies):
        return os.path.join(self.events_dir, f"events-{copies}-{time.monotonic_ns()}.jsonl")

    stop_status = 0

    def run_server(self, argv_for_port, scenario, copies):
        """Starts the server (natively if copies == 0), runs scenario(port), stops the server;
        returns the scenario's result and checks tandem's events."""
        port = free_port()
        events = self.events_file(copies)
        server = Server(self, argv_for_port(port), port, copies, events, self.stop_status)
        try:
            result = scenario(port)
        finally:
            server.stop()
        if copies:
            import json
            with open(events) as f:
                evs = [json.loads(line) for line in f if line.strip()]
            self.last_events = evs
            bad = [e for e in evs if e["event"] in ("divergence", "drop", "crash") and
                   e.get("kind") != "killed"]
            self.assertEqual(bad[:3], [], f"{len(bad)} divergence/drop/crash events: {bad[:3]} "
                                          f"under --copies {copies}; server said: {server.output()}")
        return result

    def same_as_native(self, argv_for_port, scenario):
        native = self.run_server(argv_for_port, scenario, 0)
        for copies in (2, 3):
            self.assertEqual(self.run_server(argv_for_port, scenario, copies), native,
                             f"--copies {copies}")


def cli(*args, port, timeout=20):
    return subprocess.run(["redis-cli", "-p", str(port), *args], capture_output=True,
                          timeout=timeout).stdout


class Redis(ServerTest):
    def argv(self, port):
        return ["/usr/bin/redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--dir", self.tmp, "--daemonize", "no"]

    def scenario(self, port):
        out = []
        out.append(cli("set", "greeting", "hello", port=port))
        for _ in range(50):
            cli("incr", "counter", port=port)
        out.append(cli("rpush", "list", "a", "b", "c", port=port))
        out.append(cli("hset", "hash", "f1", "v1", "f2", "v2", port=port))
        out.append(cli("sadd", "set", "x", "y", "z", port=port))
        # A bounded load from the real client: fixed keys, so the stored data is deterministic.
        bench = subprocess.run(["redis-benchmark", "-p", str(port), "-n", "1500", "-c", "4", "-q",
                                "-t", "set,get,incr,lpush"], capture_output=True, timeout=120)
        self.assertEqual(bench.returncode, 0, bench.stderr)
        for cmd in (["get", "greeting"], ["get", "counter"], ["lrange", "list", "0", "-1"],
                    ["hgetall", "hash"], ["smembers", "set"], ["dbsize"], ["llen", "mylist"],
                    ["get", "counter:__rand_int__"], ["get", "key:__rand_int__"]):
            reply = cli(*cmd, port=port)
            if cmd[0] in ("smembers", "hgetall"):
                reply = b"\n".join(sorted(reply.split(b"\n")))
            out.append(reply)
        return out

    def test_same_data_as_native(self):
        self.same_as_native(self.argv, self.scenario)


class Memcached(ServerTest):
    def argv(self, port):
        return ["/usr/bin/memcached", "-p", str(port), "-l", "127.0.0.1", "-U", "0", "-t", "2",
                "-u", "root"]

    def scenario(self, port):
        load = subprocess.run(["memcaslap", "-s", f"127.0.0.1:{port}", "-t", "2s", "-c", "4",
                               "-T", "1"], capture_output=True, timeout=60)
        self.assertEqual(load.returncode, 0, load.stderr)
        replies = []
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            f = s.makefile("rwb")
            for i in range(20):
                f.write(f"set key{i} 0 0 {len(str(i * i))}\r\n{i * i}\r\n".encode())
                f.flush()
                replies.append(f.readline())
            f.write(b"incr key3 5\r\n")
            f.flush()
            replies.append(f.readline())
            f.write(b"get " + b" ".join(f"key{i}".encode() for i in range(20)) + b"\r\n")
            f.flush()
            while True:
                line = f.readline()
                replies.append(line)
                if line in (b"END\r\n", b""):
                    break
        return replies

    def test_same_data_as_native(self):
        self.same_as_native(self.argv, self.scenario)


class WebServers(ServerTest):
    def fetch(self, port, paths):
        bodies = []
        for p in paths:
            r = subprocess.run(["curl", "-s", "-i", "-m", "10", f"http://127.0.0.1:{port}{p}"],
                               capture_output=True, timeout=20)
            # Status line and body; headers like Date and Server vary.
            head, _, body = r.stdout.partition(b"\r\n\r\n")
            bodies.append((head.split(b"\r\n")[0], body))
        return bodies

    def site(self):
        # nginx's workers run as an unprivileged user: the site must be readable by anyone.
        os.chmod(self.tmp, 0o755)
        root = os.path.join(self.tmp, "www")
        os.makedirs(root, mode=0o755, exist_ok=True)
        with open(os.path.join(root, "index.html"), "w") as f:
            f.write("<h1>tandem</h1>\n")
        with open(os.path.join(root, "big.txt"), "w") as f:
            f.write("".join(f"line {i}\n" for i in range(20000)))
        for name in ("index.html", "big.txt"):
            os.chmod(os.path.join(root, name), 0o644)
        return root

    def nginx_argv(self, port):
        root = self.site()
        prefix = os.path.join(self.tmp, f"nginx-{port}")
        os.makedirs(os.path.join(prefix, "logs"), exist_ok=True)
        conf = os.path.join(prefix, "nginx.conf")
        with open(conf, "w") as f:
            f.write(f"""daemon off; master_process on; worker_processes 2;
error_log {prefix}/logs/error.log; pid {prefix}/nginx.pid;
events {{ worker_connections 64; }}
http {{ access_log off; client_body_temp_path {prefix}/body; proxy_temp_path {prefix}/proxy;
  fastcgi_temp_path {prefix}/fcgi; uwsgi_temp_path {prefix}/uwsgi; scgi_temp_path {prefix}/scgi;
  server {{ listen 127.0.0.1:{port}; root {root}; }} }}
""")
        return ["/usr/sbin/nginx", "-c", conf, "-p", prefix]

    def lighttpd_argv(self, port):
        root = self.site()
        conf = os.path.join(self.tmp, f"lighttpd-{port}.conf")
        with open(conf, "w") as f:
            f.write(f'server.document-root = "{root}"\nserver.port = {port}\n'
                    f'server.bind = "127.0.0.1"\nindex-file.names = ( "index.html" )\n'
                    f'server.errorlog = "{self.tmp}/lighttpd-{port}.log"\n')
        return ["/usr/sbin/lighttpd", "-D", "-f", conf]

    def web_scenario(self, port):
        ab = subprocess.run(["ab", "-q", "-n", "300", "-c", "4", f"http://127.0.0.1:{port}/"],
                            capture_output=True, timeout=120)
        self.assertEqual(ab.returncode, 0, ab.stderr)
        self.assertIn(b"Failed requests:        0", ab.stdout)
        wrk = subprocess.run(["wrk", "-t1", "-c4", "-d1s", f"http://127.0.0.1:{port}/big.txt"],
                             capture_output=True, timeout=60)
        self.assertEqual(wrk.returncode, 0, wrk.stderr)
        self.assertNotIn(b"Non-2xx", wrk.stdout)
        return self.fetch(port, ["/", "/big.txt", "/missing"])

    def test_nginx_master_and_workers(self):
        self.same_as_native(self.nginx_argv, self.web_scenario)

    def test_lighttpd(self):
        self.same_as_native(self.lighttpd_argv, self.web_scenario)


class Ftp(ServerTest):
    """vsftpd, anonymous list and get, from Python's FTP client (passive mode).

    Debian bookworm's vsftpd 3.0.3 runs with its own seccomp sandbox off: natively that sandbox
    kills every session on this Debian (it does not allow newfstatat, which glibc 2.36 uses).
    With the sandbox on, the test uses vsftpd 3.0.5 (trixie's source, built by scripts/setup
    through experiments/versions/build.sh), whose broker process is killed natively by its own
    filter at the end of each session (alarm from its SIGCHLD handler): the same death in
    every version is the program's behaviour, not a crash to restart."""

    stop_status = 128 + signal.SIGTERM  # vsftpd has no SIGTERM handler

    sandbox = False
    binary = "/usr/sbin/vsftpd"

    def argv(self, port):
        root = os.path.join(self.tmp, "ftp")
        os.makedirs(root, exist_ok=True)
        os.chmod(self.tmp, 0o755)
        os.chmod(root, 0o755)  # vsftpd refuses a writable anonymous root
        for i in range(5):
            with open(os.path.join(root, f"file{i}.txt"), "w") as f:
                f.write(f"file {i}\n" * (1 + 3000 * i))
            os.chmod(os.path.join(root, f"file{i}.txt"), 0o644)
        pasv = free_port()
        conf = os.path.join(self.tmp, f"vsftpd-{port}.conf")
        with open(conf, "w") as f:
            f.write(f"""listen=YES
listen_ipv6=NO
listen_address=127.0.0.1
listen_port={port}
background=NO
anonymous_enable=YES
no_anon_password=YES
anon_root={root}
local_enable=NO
write_enable=NO
seccomp_sandbox={"YES" if self.sandbox else "NO"}
pasv_enable=YES
pasv_min_port={pasv}
pasv_max_port={pasv + 20}
xferlog_enable=NO
vsftpd_log_file={self.tmp}/vsftpd-{port}.log
""")
        return [self.binary, conf]

    def scenario(self, port):
        import ftplib
        import io
        out = []
        for session in range(6):
            ftp = ftplib.FTP()
            ftp.connect("127.0.0.1", port, timeout=20)
            ftp.login()
            out.append(sorted(ftp.nlst()))
            for i in range(5):
                data = io.BytesIO()
                ftp.retrbinary(f"RETR file{i}.txt", data.write)
                out.append(data.getvalue())
            try:
                ftp.retrbinary("RETR missing.txt", lambda b: None)
            except ftplib.error_perm as e:
                out.append(str(e)[:3])
            ftp.quit()
        return out

    def test_same_files_as_native(self):
        self.same_as_native(self.argv, self.scenario)

    def test_own_sandbox_on(self):
        root = os.environ.get("TANDEM_VERSIONS_DIR", "/var/cache/tandem-versions")
        built = sorted(glob.glob(os.path.join(root, "inst", "vsftpd-3.0.5*", "sbin", "vsftpd")))
        if not built:
            self.skipTest(f"vsftpd 3.0.5 not built under {root} (scripts/setup builds it)")
        self.sandbox, self.binary = True, built[-1]
        self.same_as_native(self.argv, self.scenario)
        # The sandbox was on: the brokers died by their own filter, as natively.
        own = [e for e in self.last_events if e["event"] == "killed-by-own-filter"]
        self.assertTrue(own and all(e["syscall"] == "alarm" for e in own), own)

    def test_old_version_killed_by_its_sandbox(self):
        # A real version pair: bookworm's vsftpd 3.0.3 (old) kills its own sessions with its
        # sandbox on (newfstatat), trixie's 3.0.5 (new) does not. Under tandem the sessions
        # work, with the files native 3.0.5 serves.
        root = os.environ.get("TANDEM_VERSIONS_DIR", "/var/cache/tandem-versions")
        built = sorted(glob.glob(os.path.join(root, "inst", "vsftpd-3.0.5*", "sbin", "vsftpd")))
        if not built:
            self.skipTest(f"vsftpd 3.0.5 not built under {root} (scripts/setup builds it)")
        self.sandbox, self.binary = True, built[-1]
        native = self.run_server(self.argv, self.scenario, 0)
        port = free_port()
        events = self.events_file(2)
        server = Server(self, self.argv(port), port, 2, events, self.stop_status,
                        older="/usr/sbin/vsftpd")
        try:
            result = self.scenario(port)
        finally:
            server.stop()
        self.assertEqual(result, native)
        import json
        with open(events) as f:
            evs = [json.loads(line) for line in f if line.strip()]
        # Its first crash is at newfstatat; its broker then dies at pselect6, which its sandbox
        # refuses too. Each crashed process is restarted (with the session's input withheld
        # when it crashes again at the same call) or, when it cannot rejoin, the old version
        # is dropped; the new version never crashes.
        crashes = [(e["version"], e.get("syscall")) for e in evs if e["event"] == "crash"]
        self.assertEqual(crashes[0], (1, "newfstatat"), server.output())
        self.assertEqual({v for v, _ in crashes}, {1})
        self.assertLessEqual({s for _, s in crashes}, {"newfstatat", "pselect6"})
        drops = [(e["version"], e["kind"]) for e in evs if e["event"] == "drop"]
        self.assertNotIn((2, "crash"), drops)
        restarts = [e for e in evs if e["event"] == "restart"]
        self.assertTrue(restarts or (1, "crash") in drops)


if __name__ == "__main__":
    unittest.main()
