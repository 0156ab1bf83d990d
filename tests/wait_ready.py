#!/usr/bin/env python3
"""Wait until a pcipassd started in the background is ready.

usage: wait_ready.py HOST PORT [PID] [SECONDS]

pcipassd opens its port only once its first scan is stored, so an open
port means ready. Polls a TCP connect every 20 ms; exits 0 as soon as
one succeeds, 1 when PID (if given) has exited first or when SECONDS
(default 30) pass, saying which on stderr. Scripts that start a daemon
call this instead of sleeping a fixed time.
"""
import socket
import sys
import time


def alive(pid):
    """False once pid has exited (a zombie counts as exited)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def main(argv):
    if len(argv) < 3 or len(argv) > 5:
        sys.stderr.write(__doc__.split("\n\n")[1] + "\n")
        return 2
    host, port = argv[1], int(argv[2])
    pid = int(argv[3]) if len(argv) > 3 and argv[3] else 0
    limit = float(argv[4]) if len(argv) > 4 else 30.0
    end = time.monotonic() + limit
    while True:
        try:
            socket.create_connection((host, port), timeout=1).close()
            return 0
        except OSError:
            pass
        if pid and not alive(pid):
            sys.stderr.write("wait_ready: pcipassd (pid %d) exited before "
                             "listening on %s:%d\n" % (pid, host, port))
            return 1
        if time.monotonic() >= end:
            sys.stderr.write("wait_ready: nothing listens on %s:%d after "
                             "%g s\n" % (host, port, limit))
            return 1
        time.sleep(0.02)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
