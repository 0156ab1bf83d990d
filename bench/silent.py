#!/usr/bin/env python3
"""Hosts that accept connections and never answer, for the placement bench.

usage: silent.py PORT SECONDS ADDR...   (loopback addresses only)
Accepts every connection on each ADDR:PORT, reads and discards what comes,
never writes; exits after SECONDS (bounded) or on SIGTERM.
"""
import selectors
import socket
import sys
import time


def main():
    port, secs, addrs = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3:]
    sel = selectors.DefaultSelector()
    for a in addrs:
        if not a.startswith('127.'):
            sys.exit('silent.py: loopback addresses only')
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((a, port))
        s.listen(128)
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, 'listen')
    end = time.monotonic() + secs
    while time.monotonic() < end:
        for key, _ in sel.select(timeout=1):
            if key.data == 'listen':
                c, _ = key.fileobj.accept()
                c.setblocking(False)
                sel.register(c, selectors.EVENT_READ, 'conn')
            else:
                try:
                    data = key.fileobj.recv(65536)
                except OSError:
                    data = b''
                if not data:
                    sel.unregister(key.fileobj)
                    key.fileobj.close()


if __name__ == '__main__':
    main()
