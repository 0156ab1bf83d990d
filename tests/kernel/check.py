#!/usr/bin/env python3
"""Assert on the kernel lab's serial console reports (tests/kernel/lab.sh).

Usage: check.py SRC KERNEL_VERSION CONSOLE_ON CONSOLE_OFF

The guest (tests/kernel/guest.sh) prints each result between
"LAB-BEGIN NAME" and "LAB-END NAME rc=N". Prints the guest's kernel,
lspci -nnk and IOMMU groups, then one line per check; exit 1 if any
failed or a boot did not finish.
"""
import os
import re
import subprocess
import sys
import tempfile

src, kver, on_log, off_log = sys.argv[1:5]
failed = 0
checks = 0


def blocks(path):
    out, name, lines = {}, None, []
    text = open(path, errors="replace").read().replace("\r", "")
    for line in text.split("\n"):
        m = re.match(r"LAB-END (\S+) rc=(\d+)$", line)
        if name is not None and m and m.group(1) == name:
            out[name] = (int(m.group(2)), "\n".join(lines) + "\n")
            name = None
        elif name is not None:
            lines.append(line)
        elif line.startswith("LAB-BEGIN "):
            name, lines = line.split(" ", 1)[1], []
    out["_done"] = "LAB-DONE" in text
    return out


def ok(cond, what, detail=""):
    global failed, checks
    checks += 1
    if cond:
        print("ok   " + what)
    else:
        failed += 1
        print("FAIL " + what + (": " + detail.strip()[:600] if detail else ""))


def rc(b, name):
    return b[name][0] if name in b else None


def text(b, name):
    return b[name][1] if name in b else ""


def driver(b, name, addr):
    m = re.search(r"^driver %s (\S+)$" % re.escape(addr), text(b, name), re.M)
    return m.group(1) if m else None


on, off = blocks(on_log), blocks(off_log)
print("--- guest (IOMMU on): uname -r")
print(text(on, "uname"), end="")
print("--- guest: lspci -nnk")
print(text(on, "lspci"), end="")
print("--- guest: IOMMU groups")
print(text(on, "groups"), end="")
for n in ("bound-nvme", "unbound-nvme", "bound-nic", "unbound-nic"):
    print("--- guest: " + n)
    print(text(on, n), end="")
print("---")

ok(on["_done"], "boot with the IOMMU on ran to the end")
ok(off["_done"], "boot with the IOMMU off ran to the end")
ok(text(on, "uname").strip() == kver, "the guest runs Debian's kernel %s" % kver,
   text(on, "uname"))

groups = {}
for line in text(on, "groups").splitlines():
    m = re.match(r"group (\d+): (.*)$", line)
    if m:
        for a in m.group(2).split():
            groups[a] = int(m.group(1))
ok(len(set(groups.values())) >= 8, "the IOMMU made groups (%d)" %
   len(set(groups.values())), text(on, "groups"))
ok(groups.get("0000:02:01.0") is not None and
   groups.get("0000:02:01.0") == groups.get("0000:02:02.0") ==
   groups.get("0000:00:08.0"),
   "the two NICs behind the PCI bridge share its group")
ok(groups.get("0000:01:00.0") is not None and
   list(groups.values()).count(groups.get("0000:01:00.0")) == 1,
   "the NVMe behind the root port has a group of its own")
ok(rc(on, "check") == 0 and "ok   IOMMU is active" in text(on, "check"),
   "pcipass-host host check passes with the IOMMU on", text(on, "check"))
ok(text(off, "groups").strip() == "", "no IOMMU groups with intel_iommu=off",
   text(off, "groups"))
ok(rc(off, "check") == 1 and "the kernel command line has intel_iommu=off"
   in text(off, "check"), "host check fails with the IOMMU off, naming "
   "intel_iommu=off", text(off, "check"))

# The probe against the guest's own lspci -vvnn, field by field; lspci
# does not print interface names, so they are added as the converter's
# X-pcipass-ifname lines (tests/lspci2sysfs.py).
ifn = dict((l.split()[0][5:], ", ".join(l.split()[1:]))
           for l in text(on, "ifnames").splitlines() if len(l.split()) > 1)
with tempfile.TemporaryDirectory() as d:
    dump, cur = "", None
    for l in text(on, "dump").splitlines():
        if not re.match(r"[0-9a-f]{2}:|\t|$", l):
            continue
        if re.match(r"[0-9a-f]{2}:", l):
            cur = l.split()[0]
        elif l == "" and cur in ifn:
            dump += "\tX-pcipass-ifname: %s\n" % ifn.pop(cur)
        dump += l + "\n"
    if cur in ifn:
        dump += "\tX-pcipass-ifname: %s\n" % ifn.pop(cur)
    for name, body in (("dump", dump), ("probe", text(on, "probe")),
                       ("log", text(on, "probelog"))):
        open(os.path.join(d, name), "w").write(body)
    p = subprocess.run([sys.executable, os.path.join(src, "tests",
                        "probe_check.py"), os.path.join(d, "dump"),
                        os.path.join(d, "probe"), os.path.join(d, "log")],
                       capture_output=True, text=True)
    ok(p.returncode == 0, "pcipassd --probe matches the guest's lspci -vvnn "
       "(" + p.stdout.strip() + ")", p.stdout + p.stderr)
log = text(on, "probelog")
ok("0000:00:04:0 left out: host-critical: root filesystem on nvme0n1" in log,
   "the guard finds the root filesystem's NVMe", log)
ok(re.search(r"0000:00:02:0 left out: host-critical: default route via "
             r"eth\d", log) is not None,
   "the guard finds the default route's NIC", log)

ok(rc(on, "bind-nvme") == 0 and driver(on, "bound-nvme", "0000:01:00.0") ==
   "vfio-pci", "the spare NVMe is bound to vfio-pci", text(on, "bind-nvme"))
g = groups.get("0000:01:00.0")
ok(re.search(r"^vfio .*\b%s\b" % g, text(on, "bound-nvme"), re.M) is not None,
   "/dev/vfio/%s appears" % g, text(on, "bound-nvme"))
ok(rc(on, "unbind-nvme") == 0 and driver(on, "unbound-nvme", "0000:01:00.0")
   == "nvme" and re.search(r"^nvme 0000:01:00.0 nvme\d", text(on,
   "unbound-nvme"), re.M) is not None,
   "unbind gives the NVMe back to nvme, its controller back",
   text(on, "unbound-nvme"))
ok(rc(on, "bind-nic") == 0 and driver(on, "bound-nic", "0000:00:03.0") ==
   "vfio-pci" and re.search(r"^net 0000:00:03.0 $", text(on, "bound-nic"),
   re.M) is not None, "the spare NIC goes to vfio-pci, its interface away",
   text(on, "bound-nic"))
ok(rc(on, "unbind-nic") == 0 and driver(on, "unbound-nic", "0000:00:03.0")
   == "e1000e" and re.search(r"^net 0000:00:03.0 eth\d", text(on,
   "unbound-nic"), re.M) is not None,
   "unbind gives the NIC back to e1000e with its interface",
   text(on, "unbound-nic"))
ok(rc(on, "bind-half") == 1 and "0000:02:02.0" in text(on, "bind-half") and
   driver(on, "half", "0000:02:02.0") == "e1000",
   "one NIC of a shared group alone is refused, naming its sibling",
   text(on, "bind-half"))
ok(rc(on, "bind-group") == 0 and
   driver(on, "bound-group", "0000:02:01.0") == "vfio-pci" and
   driver(on, "bound-group", "0000:02:02.0") == "vfio-pci",
   "offered both, the group goes to vfio-pci together",
   text(on, "bind-group") + text(on, "bound-group"))
ok(rc(on, "unbind-group") == 0 and
   driver(on, "unbound-group", "0000:02:01.0") == "e1000" and
   driver(on, "unbound-group", "0000:02:02.0") == "e1000",
   "and comes back together", text(on, "unbound-group"))
ok(rc(on, "bind-root") == 1 and "host-critical: root filesystem" in
   text(on, "bind-root"), "binding the root disk's controller is refused",
   text(on, "bind-root"))
ok(rc(on, "bind-route") == 1 and "host-critical: default route" in
   text(on, "bind-route") and driver(on, "after-refusals", "0000:00:02.0")
   == "e1000e", "binding the default route's NIC is refused, it stays",
   text(on, "bind-route"))
ok(rc(on, "allocate") == 0 and driver(on, "allocated", "0000:00:03.0") ==
   "vfio-pci", "pcipassd --bind vfio binds on pci.allocate",
   text(on, "allocate") + text(on, "daemon"))
ok(rc(on, "release") == 0 and driver(on, "released", "0000:00:03.0") ==
   "e1000e" and re.search(r"^net 0000:00:03.0 eth\d", text(on, "released"),
   re.M) is not None, "and restores e1000e and the interface on "
   "pci.release", text(on, "released") + text(on, "daemon"))

ok(rc(on, "crash-allocate") != 0 and driver(on, "crashed", "0000:00:03.0")
   == "vfio-pci", "pcipassd killed between the bind and its commit leaves "
   "the NIC on vfio-pci", text(on, "crash-allocate") + text(on, "crashed"))
ok(driver(on, "mended", "0000:00:03.0") == "e1000e" and re.search(
   r"^net 0000:00:03.0 eth\d", text(on, "mended"), re.M) is not None and
   "bind journal: 0000:00:03.0 was bound by a call that never committed: "
   "given back to e1000e" in text(on, "crash-log"),
   "the restart gives it back to e1000e from the bind journal",
   text(on, "mended") + text(on, "crash-log"))
ok(rc(on, "crash-vm") == 0 and "00:03.0" not in text(on, "crash-vm"),
   "and VM 8 holds nothing", text(on, "crash-vm"))

print("kernel lab: %d checks, %d failed" % (checks, failed))
sys.exit(1 if failed else 0)
