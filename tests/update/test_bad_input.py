"""Bad input: a PID that does not exist, a process without the runtime, another user's process,
a new binary without debug info, of another program, missing, not ELF, without the runtime, a
process that never reaches an update point, a second update while one is pending. Each ends in
one clear error line with its own exit code, and the target is unharmed."""
import json
import os
import subprocess
import time
import unittest

from harness import (TANDEM, EXIT, LiveTestCase, KvClient, LineTarget, alive, example_bin,
                     live_bin, start_kvstore)

NOBODY = 65534
OTHER = 1  # daemon: an unprivileged user that is not the target's owner


def wait_blocked_in_read(pid, timeout=20):
    """Waits until the main thread of pid sits in read(2) (syscall 0 on x86-64)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open(f"/proc/{pid}/syscall") as f:
            if f.read().split()[0] == "0":
                return
        time.sleep(0.005)
    raise TimeoutError(f"{pid} did not block in read()")


def wait_event(path, name, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.path.exists(path):
            with open(path) as f:
                if any(json.loads(line)["event"] == name for line in f if line.strip()):
                    return
        time.sleep(0.005)
    raise TimeoutError(f"no {name} event")


class BadInputTest(LiveTestCase):
    def kvstore_with_data(self):
        server, port = start_kvstore(self, "v1")
        c = KvClient(port)
        for i in range(20):
            c.cmd(f"SET key{i} value{i}")
        return server, c

    def assertUnharmed(self, server, client):
        self.assertTrue(alive(server.pid))
        for i in range(20):
            self.assertEqual(client.cmd(f"GET key{i}"), f"VALUE value{i}")
        self.assertEqual(client.cmd("VERSION"), "VERSION v1")

    def test_pid_that_does_not_exist(self):
        with open("/proc/sys/kernel/pid_max") as f:
            pid = int(f.read())  # pids stay below pid_max
        r = self.update(pid, example_bin("kvstore-v2"))
        self.assertFailed(r, "no_such_process", f"no process {pid}")

    def test_process_without_the_runtime(self):
        p = self.spawn([live_bin("plain")])
        time.sleep(0.1)
        r = self.update(p.pid, example_bin("kvstore-v2"))
        self.assertFailed(r, "no_runtime", "does not use the tandem-live runtime")
        self.assertTrue(alive(p.pid))

    def test_another_users_process(self):
        server = self.spawn(["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
                             example_bin("kvstore-v1")], stdout=subprocess.PIPE)
        port = int(server.stdout.readline().split()[1])
        c = KvClient(port)
        for i in range(20):
            c.cmd(f"SET key{i} value{i}")
        r = self.update(server.pid, example_bin("kvstore-v2"), user=OTHER)
        self.assertFailed(r, "permission", "belongs to another user")
        self.assertUnharmed(server, c)

    def test_runtime_refuses_another_users_request(self):
        # Past the tool's own check, the runtime checks SO_PEERCRED itself.
        server, c = self.kvstore_with_data()
        probe = (
            "import socket,struct,sys\n"
            "s=socket.socket(socket.AF_UNIX,socket.SOCK_SEQPACKET)\n"
            f"s.connect(b'\\0tandem-live/{server.pid}')\n"
            "a,b=socket.socketpair(socket.AF_UNIX,socket.SOCK_SEQPACKET)\n"
            "m=struct.pack('IIqq',1,1,1000,0)+b'/bin/true\\0'\n"
            "s.sendmsg([m],[(socket.SOL_SOCKET,socket.SCM_RIGHTS,struct.pack('i',b.fileno()))])\n"
            "t,abi,e,_=struct.unpack('IIqq',s.recv(4096)[:24]); print(t,e)\n")
        out = subprocess.run(["setpriv", f"--reuid={OTHER}", f"--regid={OTHER}", "--clear-groups",
                              "python3", "-c", probe], capture_output=True, text=True, timeout=20)
        self.assertEqual(out.stdout.split(), ["4", "1"], out)  # REFUSED, EPERM
        self.assertUnharmed(server, c)

    def test_new_binary_without_debug_info(self):
        server, c = self.kvstore_with_data()
        stripped = self.path("kvstore-v2-stripped")
        subprocess.run(["objcopy", "--strip-debug", example_bin("kvstore-v2"), stripped],
                       check=True)
        r = self.update(server.pid, stripped)
        self.assertFailed(r, "no_debug_info", "has no debug info")
        self.assertUnharmed(server, c)

    def test_new_binary_of_another_program(self):
        server, c = self.kvstore_with_data()
        r = self.update(server.pid, live_bin("features-v1"))
        self.assertFailed(r, "other_program", "is another program")
        self.assertUnharmed(server, c)

    def test_new_binary_missing_not_elf_or_without_runtime(self):
        server, c = self.kvstore_with_data()
        r = self.update(server.pid, self.path("missing"))
        self.assertFailed(r, "bad_binary", "No such file")
        script = self.path("script")
        with open(script, "w") as f:
            f.write("#!/bin/sh\necho hi\n")
        os.chmod(script, 0o755)
        r = self.update(server.pid, script)
        self.assertFailed(r, "bad_binary", "not an ELF file")
        r = self.update(server.pid, live_bin("plain"))
        self.assertFailed(r, "bad_binary", "does not use the tandem-live runtime")
        self.assertUnharmed(server, c)

    def test_process_that_never_reaches_an_update_point(self):
        t = LineTarget(self, [live_bin("stuck")])
        self.assertEqual(t.cmd("x"), "alive 1")
        wait_blocked_in_read(t.pid)  # not watching tandem_update_fd()
        r = self.update(t.pid, live_bin("stuck"), timeout=1)
        self.assertFailed(r, "not_quiescent", "did not reach an update point")
        # The cancelled request does not fire later: the same process answers, unchanged.
        self.assertEqual(t.cmd("y"), "alive 2")
        self.assertEqual(t.cmd("z"), "alive 3")
        self.assertTrue(alive(t.pid))

    def test_second_update_while_one_is_pending(self):
        t = LineTarget(self, [live_bin("stuck")])
        self.assertEqual(t.cmd("x"), "alive 1")
        wait_blocked_in_read(t.pid)
        events = self.path("first.jsonl")
        first = subprocess.Popen(
            [TANDEM, "update", "--timeout", "3", "--events", events, str(t.pid),
             live_bin("stuck")],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wait_event(events, "queued")  # the runtime holds the first request now
        r = self.update(t.pid, live_bin("stuck"), timeout=1)
        self.assertFailed(r, "busy", "another update")
        out, err = first.communicate(timeout=30)
        self.assertEqual(first.returncode, EXIT["not_quiescent"], err)


if __name__ == "__main__":
    unittest.main()
