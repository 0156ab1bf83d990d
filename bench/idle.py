#!/usr/bin/env python3
"""Hold N idle connections to a daemon, half of them with half a request
line sent, until stdin closes; print "ready" once all are open.

usage: python3 bench/idle.py PORT N < fifo
"""
import resource
import socket
import sys

port, n = int(sys.argv[1]), int(sys.argv[2])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
if soft < n + 64:
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(n + 64, hard), hard))
socks = []
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port))
    if i % 2:
        s.sendall(b"POST /RPC2 HT")
    socks.append(s)
print("ready", flush=True)
sys.stdin.read()
