#!/usr/bin/env python3
"""The live-update half of scripts/demo: the kvstore example is updated from v1 to v2 while a
client keeps its connection open; its data survive and a changed type (the hit counter, int in
v1, long in v2) is converted."""
import os
import re
import socket
import subprocess
import sys

root = os.path.join(os.path.dirname(__file__), "..")
tandem = os.path.join(root, "build/tools/tandem")
examples = os.path.join(root, "build/examples")

server = subprocess.Popen([os.path.join(examples, "kvstore-v1")], stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL, text=True)
try:
    line = server.stdout.readline()
    port = int(re.search(r"LISTENING (\d+)", line).group(1))
    conn = socket.create_connection(("127.0.0.1", port), timeout=10)
    reader = conn.makefile("r")

    def cmd(text):
        conn.sendall((text + "\n").encode())
        reply = reader.readline().strip()
        print(f"   {text:<18} -> {reply}")
        return reply

    print(f"-- kvstore v1 runs as pid {server.pid}; a client stores data:")
    cmd("SET city Lisbon")
    cmd("SET lang C")
    for _ in range(3):
        cmd("GET city")
    cmd("HITS city")
    print(f"-- tandem update {server.pid} kvstore-v2   (the same connection stays open)")
    sys.stdout.flush()
    update = subprocess.run([tandem, "update", str(server.pid), os.path.join(examples, "kvstore-v2")],
                            capture_output=True, text=True, timeout=60)
    print("   " + (update.stdout + update.stderr).strip().replace("\n", "\n   "))
    print("-- the client asks again, on the connection it opened before the update:")
    cmd("GET city")
    cmd("GET lang")
    cmd("HITS city")
    sys.exit(update.returncode)
finally:
    # After a commit the new version runs under another pid: stop whichever serves the port.
    subprocess.run(["pkill", "-f", os.path.join(examples, "kvstore-v")], check=False)
    server.wait(timeout=10)
