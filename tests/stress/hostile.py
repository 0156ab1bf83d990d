#!/usr/bin/env python3
"""Hostile HTTP/XML against a running pcipassd, with figures.

usage: hostile.py PORT PID

For each attack: the answer (HTTP status, XML-RPC fault or pcipass
code), how long the daemon took to answer or drop it, the daemon's
VmHWM after it, and how long a normal call (pci.version) took while the
attack was in progress (for the slow ones) or right after. Prints a
Markdown table; exits 1 if a normal call took over a second while at
most max_conn (256) connections were held, or the daemon died.
"""
import re
import resource
import socket
import sys
import threading
import time

PORT, PID = int(sys.argv[1]), int(sys.argv[2])
SESSION = "oneadmin:stress-secret"
rows, bad = [], []


def hwm():
    with open("/proc/%d/status" % PID) as f:
        return int(re.search(r"VmHWM:\s+(\d+)", f.read()).group(1))


def conn():
    s = socket.create_connection(("127.0.0.1", PORT))
    s.settimeout(60)
    return s


def head(length, ctype="text/xml"):
    return ("POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\n"
            "Content-Length: %s\r\nConnection: close\r\n\r\n"
            % (ctype, length)).encode()


def read_all(s):
    data = b""
    try:
        while True:
            c = s.recv(65536)
            if not c:
                break
            data += c
    except OSError as e:
        data += (" [%s]" % e.__class__.__name__).encode()
    return data


def verdict(data):
    if not data:
        return "closed, no answer"
    m = re.match(rb"HTTP/1\.\d (\d+)", data)
    st = m.group(1).decode() if m else "?"
    body = data.split(b"\r\n\r\n", 1)[-1]
    f = re.search(rb"faultCode</name>\s*<value><i4>(-?\d+)", body)
    if f:
        return "%s, fault %s" % (st, f.group(1).decode())
    if b"<boolean>0</boolean>" in body:
        c = re.findall(rb"<i4>(\d+)</i4>", body)
        return "%s, error 0x%04x" % (st, int(c[-1])) if c else st
    if b"<boolean>1</boolean>" in body:
        return "%s, ok" % st
    return "%s, \"%s\"" % (st, body[:60].decode("latin1").strip()
                             .replace("\n", " "))


def send(body, length=None, ctype="text/xml"):
    s = conn()
    t = time.time()
    try:
        s.sendall(head(len(body) if length is None else length, ctype) +
                  body)
    except OSError:
        pass    # answered and closed before the body was all sent
    data = read_all(s)
    s.close()
    return verdict(data), time.time() - t


def call(method, params=""):
    return ('<?xml version="1.0"?><methodCall><methodName>%s</methodName>'
            '<params><param><value>%s</value></param>%s</params>'
            '</methodCall>' % (method, SESSION, params)).encode()


def normal():
    t = time.time()
    v, _ = send(call("pci.version"))
    dt = time.time() - t
    if not v.endswith("ok"):
        return None
    return dt


def record(name, answer, took, during=None, limit=True):
    after = normal()
    lat = during if during is not None else after
    rows.append((name, answer, "%.2f s" % took, "%d kB" % hwm(),
                 "%.3f s" % lat if lat is not None else "FAILED"))
    if lat is None or (limit and lat > 1.0):
        bad.append(name)


def in_background(fn):
    res = {}
    th = threading.Thread(target=lambda: res.update(r=fn()))
    th.start()
    return th, res


def param(x):
    return "<param><value>%s</value></param>" % x


def reqs(member):
    return param("<array><data><value><struct>%s</struct></value></data>"
                 "</array>" % member)


def member(name, value):
    return "<member><name>%s</name><value>%s</value></member>" % (name,
                                                                  value)


def main():
    rows.append(("(start)", "", "", "%d kB" % hwm(), "%.3f s" % normal()))
    ents = '<!ENTITY a "%s">' % ("a" * 20) + "".join(
        '<!ENTITY %s "%s">' % (chr(98 + i), ("&%s;" % chr(97 + i)) * 10)
        for i in range(9))
    bomb = ('<?xml version="1.0"?><!DOCTYPE m [%s]><methodCall>'
            '<methodName>&j;</methodName></methodCall>' % ents).encode()
    record("entity expansion (10^9 x 20 B)", *send(bomb))
    for depth in (100, 20000):
        p = ("<param>" + "<value><array><data>" * depth +
             "</data></array></value>" * depth + "</param>")
        record("nesting depth %d (%d B)" % (depth, len(p)),
               *send(call("pci.vm", p)))
    record("UTF-16LE body with BOM",
           *send("\ufeff".encode("utf-16-le") +
                 call("pci.list").decode().encode("utf-16-le")))
    record("UTF-16BE body, no BOM",
           *send(call("pci.list").decode().encode("utf-16-be")))
    record("body over the limit (2 MiB)", *send(b"x" * (2 << 20)))
    record("Content-Length 10^12, no body", *send(b"", length=10**12))
    record("Content-Length -1", *send(b"x", length=-1))
    cut = call("pci.list")
    record("truncated body, length matching", *send(cut[:len(cut) // 2]))
    record("non-UTF-8 bytes in a string",
           *send(call("pci.vm", param("\xff\xfe").encode("latin1")
                      .decode("latin1")).replace(b"\xc3\xbf\xc3\xbe",
                                                 b"\xff\xfe")))
    big = "A" * (600 * 1024)
    for f in ("VENDOR", "ADDRESS", "MAC", "NETWORK"):
        extra = member("TYPE", "NIC") + member("VENDOR", "8086") \
            if f in ("MAC", "NETWORK") else ""
        record("600 KB string in %s" % f,
               *send(call("pci.allocate", param("<int>1</int>") +
                          reqs(extra + member(f, big)))))
    record("600 KB session string",
           *send(call("pci.list").replace(SESSION.encode(), big.encode())))
    record("600 KB method name", *send(call(big)))
    for v in ("<int>2147483648</int>", "<int>-1</int>",
              "<i4>99999999999999999999</i4>", "<i8>x</i8>",
              "<double>1e308</double>"):
        record("vmid %s" % v, *send(call("pci.release", param(v))))

    # A read-only user's multicall of 3,900 pci.list (986 KB), two at
    # once: it took ~1.7 GB each before requests were bounded.
    one = ("<value><struct>%s%s</struct></value>" % (
        member("methodName", "pci.list"), member("params",
        "<array><data><value>%s</value></data></array>" % SESSION)))
    mc = ("<?xml version=\"1.0\"?><methodCall><methodName>system.multicall"
          "</methodName><params>%s</params></methodCall>" %
          param("<array><data>%s</data></array>" % (one * 3900))).encode()
    def attack():
        s = conn()
        t = time.time()
        s.sendall(head(len(mc)) + mc)
        data = read_all(s)
        s.close()
        return data, time.time() - t

    t1, r1 = in_background(attack)
    t2, r2 = in_background(attack)
    t1.join()
    t2.join()
    data = r1["r"][0]
    record("multicall of 3,900 pci.list (%d KB), 2 at once" %
           (len(mc) // 1024), "%s: %d calls answered, %d refused" %
           (verdict(data).split(",")[0], data.count(b"<boolean>1</boolean>"),
            data.count(b"<boolean>0</boolean>")),
           max(r1["r"][1], r2["r"][1]))

    # Slow and many: measured while they are in progress.
    def slow_body():
        s = conn()
        t = time.time()
        body = call("pci.list")
        s.sendall(head(len(body)))
        try:
            for b in body:
                s.sendall(bytes([b]))
                time.sleep(1.0)
        except OSError:
            pass
        v = verdict(read_all(s))
        s.close()
        return v, time.time() - t

    th, res = in_background(slow_body)
    time.sleep(3)
    lat = normal()
    th.join()
    record("slow body, 1 byte/s", *res["r"], during=lat)

    def slow_head():
        s = conn()
        t = time.time()
        try:
            for b in head(100)[:40]:
                s.sendall(bytes([b]))
                time.sleep(1.0)
        except OSError:
            pass
        v = verdict(read_all(s))
        s.close()
        return v, time.time() - t

    th, res = in_background(slow_head)
    time.sleep(3)
    lat = normal()
    th.join()
    record("slow headers, 1 byte/s", *res["r"], during=lat)

    # The slowest of 20 normal calls while they are held.
    resource.setrlimit(resource.RLIMIT_NOFILE, (4096, max(4096,
                       resource.getrlimit(resource.RLIMIT_NOFILE)[1])))
    for n, limit in ((200, True), (1000, True), (2100, False)):
        socks = []
        t = time.time()
        for i in range(n):
            s = conn()
            if i % 2:
                s.sendall(b"POST /RPC2 HT")
            socks.append(s)
        time.sleep(0.5)
        lats = [normal() for _ in range(20)]
        lat = None if None in lats else max(lats)
        for s in socks:
            s.close()
        record("%d idle connections%s" % (n, "" if limit else
               " (over max_conn 2048)"), "held", time.time() - t,
               during=lat, limit=limit)

    print("| attack | answer | answered or dropped after | VmHWM after |"
          " normal call took |")
    print("|---|---|---|---|---|")
    for r in rows:
        print("| %s |" % " | ".join(r))
    if bad:
        print("slow or failed normal calls during: %s" % ", ".join(bad))
        return 1
    return 0


sys.exit(main())
