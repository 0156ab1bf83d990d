#!/usr/bin/env python3
"""Turn one `lspci -vvnn` dump into a fake sysfs tree.

Usage: python3 tests/lspci2sysfs.py DUMP OUTDIR

OUTDIR must be missing or empty. Afterwards libpci reads the tree with
pci_set_param(a, "sysfs.path", "OUTDIR/bus/pci"), and
`lspci -O sysfs.path=OUTDIR/bus/pci -nn` lists the dump's devices.

What is written, per function DDDD:BB:SS.F (a real directory under
OUTDIR/bus/pci/devices/):
  vendor device class revision subsystem_vendor subsystem_device irq
  numa_node resource(empty) driver_override config(256 bytes) [label]
  driver      -> ../../drivers/NAME                 ("Kernel driver in use:")
  iommu_group -> ../../../../kernel/iommu_groups/N  ("IOMMU group:")
  sriov_totalvfs sriov_numvfs sriov_offset sriov_stride sriov_vf_device,
  virtfnI -> ../VF and, in the VF, physfn -> ../PF  (SR-IOV capability)
Plus OUTDIR/bus/pci/drivers/NAME/{bind,unbind,ADDR->device},
OUTDIR/bus/pci/drivers_probe, and
OUTDIR/kernel/iommu_groups/N/devices/ADDR -> ../../../../bus/pci/devices/ADDR.

Extension lines, for small hand-written dumps (one tab, in a device block):
  X-pcipass-ifname: eth0[, eth1]  create the directory net/eth0 (the
                                  interface name libpci-based code finds)
  X-pcipass-boot-vga: 1           write boot_vga containing "1\\n"
  X-pcipass-omit: config,irq      leave these entries of the device dir
                                  out (files or links), for broken trees
  X-pcipass-raw: class=garbage    write this content to that file of the
                                  device dir, replacing ours; backslash
                                  escapes (\\n, \\t, \\\\, \\xNN) are decoded,
                                  nothing else is added (no newline)

A minimal dump is just header lines such as
  01:00.0 3D controller [0302]: NVIDIA Corporation GV100GL [10de:1db4] (rev a1)
followed by optional "\\tKernel driver in use: X", "\\tIOMMU group: N",
"\\tNUMA node: N" lines; a blank line between devices is optional.
Line endings may be LF or CRLF. Everything not understood is ignored.

What libpci 3.9 / lspci 3.9 do with such trees (checked on Debian 12):
- vendor, device, class: required; a missing one is a fatal a->error
  (exit 1). So is any entry under devices/ that is not an address.
- irq and resource: fatal when missing, but only when PCI_FILL_IRQ /
  PCI_FILL_BASES is asked for (lspci -v does, lspci -nn does not). An
  empty resource file is accepted silently (no BARs).
- revision, subsystem_*: read from config when missing, silently; with
  config missing too, revision reads as 0xff and config warns
  "pcilib: Cannot open .../config" (lspci still lists the device).
- Garbage is not an error: class=garbage reads as class 0000, and an
  EMPTY numa_node reads as node 0, not -1 (strtol of "").
- label is printed verbatim (trailing blanks kept), as "DeviceName:".
- lspci 3.9 prints a bridge's one-tab "Subsystem:" line from the
  subsystem_* files, not from config.
- With a sysfs.path that does not exist, the default access-method probe
  falls back to /proc or port I/O and lists the REAL host's devices:
  force the method (lspci -A linux-sysfs, a->method =
  PCI_ACCESS_SYS_BUS_PCI).
"""

import codecs
import os
import re
import sys
from dataclasses import dataclass, field

# "0000:01:00.0 VGA compatible controller [0300]: NVIDIA ... [10de:2204] (rev a1) (prog-if 00 [VGA controller])"
# The ids are the last [vvvv:dddd] before the optional (rev)/(prog-if)
# suffixes: vendor and device names themselves contain brackets ("[AMD]",
# "[GeForce RTX 3090]"), so anchor at the end of the line.
HEADER_RE = re.compile(
    r'^(?:(?P<dom>[0-9a-fA-F]{4,8}):)?(?P<bus>[0-9a-fA-F]{2}):(?P<slot>[0-9a-fA-F]{2})\.(?P<fn>[0-7])'
    r'\s.*?\[(?P<cls>[0-9a-fA-F]{4})\]:\s.*'
    r'\[(?P<ven>[0-9a-fA-F]{4}):(?P<dev>[0-9a-fA-F]{4})\]'
    r'(?:\s+\(rev (?P<rev>[0-9a-fA-F]{2})\))?'
    r'(?:\s+\(prog-if (?P<progif>[0-9a-fA-F]{2})(?:\s+\[[^\]]*\])?\))?\s*$')
# Address only, to report header lines the full pattern rejects.
ADDR_RE = re.compile(r'^(?:[0-9a-fA-F]{4,8}:)?[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7]\s')
IDS_AT_END_RE = re.compile(r'\[([0-9a-fA-F]{4}):([0-9a-fA-F]{4})\]\s*$')
BUS_RE = re.compile(r'primary=([0-9a-fA-F]+),\s*secondary=([0-9a-fA-F]+),\s*subordinate=([0-9a-fA-F]+)'
                    r'(?:,\s*sec-latency=(\d+))?')
IRQ_RE = re.compile(r'pin (\S) routed to IRQ (\d+)')
VFS_RE = re.compile(r'Total VFs:\s*(\d+),\s*Number of VFs:\s*(\d+)')
VF_OFFSET_RE = re.compile(r'VF offset:\s*(\d+),\s*stride:\s*(\d+),\s*Device ID:\s*([0-9a-fA-F]{4})')

CLASS_PCI_BRIDGE = 0x0604
CLASS_CARDBUS_BRIDGE = 0x0607


def log(msg):
    print('lspci2sysfs: ' + msg, file=sys.stderr)


@dataclass
class SRIOV:
    total: int = 0
    num: int = 0
    offset: int = 0
    stride: int = 0
    vf_device: int = 0


@dataclass
class Function:
    domain: int
    bus: int
    slot: int
    func: int
    cls: int            # class+subclass, 16 bits
    vendor: int
    device: int
    rev: int = 0
    progif: int = 0
    subsys: tuple = None          # (vendor, device) or None
    irq: int = 0
    pin: int = 0                  # 0 none/unknown, 1..4 = A..D
    numa: int = -1
    iommu: str = None
    driver: str = None
    busnums: tuple = None         # (primary, secondary, subordinate, sec-latency)
    label: str = None             # "DeviceName:" (sysfs label)
    sriov: SRIOV = None
    ifnames: list = field(default_factory=list)
    boot_vga: str = None
    omit: set = field(default_factory=set)
    raw: dict = field(default_factory=dict)
    physfn: 'Function' = None     # filled by link_sriov()
    virtfns: list = field(default_factory=list)

    @property
    def addr(self):
        return '%04x:%02x:%02x.%d' % (self.domain, self.bus, self.slot, self.func)

    @property
    def rid(self):
        """PCIe routing ID: bus << 8 | devfn."""
        return self.bus << 8 | self.slot << 3 | self.func


def indent_depth(line):
    """Tabs at the start; lines indented with spaces only count as one level."""
    stripped = line.lstrip('\t')
    depth = len(line) - len(stripped)
    if depth == 0 and line[:1] == ' ':
        depth = 1
    return depth


def parse_header(line, lineno):
    m = HEADER_RE.match(line)
    if not m:
        raise ValueError('line %d: cannot parse device header: %r' % (lineno, line))
    g = m.groupdict()
    return Function(domain=int(g['dom'] or '0', 16), bus=int(g['bus'], 16),
                    slot=int(g['slot'], 16), func=int(g['fn']),
                    cls=int(g['cls'], 16), vendor=int(g['ven'], 16), device=int(g['dev'], 16),
                    rev=int(g['rev'] or '0', 16), progif=int(g['progif'] or '0', 16))


def parse_extension(fn, key, value, lineno):
    key = key.lower()
    if key == 'x-pcipass-ifname':
        fn.ifnames += [v.strip() for v in value.split(',') if v.strip()]
    elif key == 'x-pcipass-boot-vga':
        fn.boot_vga = value.strip()
    elif key == 'x-pcipass-omit':
        fn.omit |= {v.strip() for v in value.split(',') if v.strip()}
    elif key == 'x-pcipass-raw':
        name, sep, content = value.partition('=')
        name = name.strip()
        if not sep or not name or name.startswith('/') or '..' in name.split('/'):
            raise ValueError('line %d: bad X-pcipass-raw %r (want FILE=CONTENT)' % (lineno, value))
        fn.raw[name] = codecs.escape_decode(content.encode())[0]
    else:
        log('line %d: unknown extension %s ignored' % (lineno, key))


def parse_top_line(fn, key, value, lineno):
    """A one-tab line "Key: value" of a device block."""
    if key == 'Subsystem':
        m = IDS_AT_END_RE.search(value)
        if m:
            fn.subsys = (int(m.group(1), 16), int(m.group(2), 16))
    elif key == 'DeviceName':
        fn.label = value    # keep trailing blanks: the label file has them too
    elif key == 'Interrupt':
        m = IRQ_RE.search(value)
        if m:
            pin = m.group(1)
            fn.pin = ord(pin) - ord('A') + 1 if pin in 'ABCD' else 0
            fn.irq = int(m.group(2))
    elif key == 'NUMA node':
        fn.numa = int(value)
    elif key == 'IOMMU group':
        fn.iommu = value.strip()
    elif key == 'Kernel driver in use':
        fn.driver = value.strip()
    elif key == 'Bus':
        m = BUS_RE.search(value)
        if m:
            fn.busnums = (int(m.group(1), 16), int(m.group(2), 16), int(m.group(3), 16),
                          int(m.group(4) or '0'))
    elif key.lower().startswith('x-pcipass-'):
        parse_extension(fn, key, value, lineno)


def parse_sriov_line(fn, text):
    """Lines inside the SR-IOV capability block."""
    m = VFS_RE.search(text)
    if m:
        fn.sriov.total, fn.sriov.num = int(m.group(1)), int(m.group(2))
    m = VF_OFFSET_RE.search(text)
    if m:
        fn.sriov.offset, fn.sriov.stride = int(m.group(1)), int(m.group(2))
        fn.sriov.vf_device = int(m.group(3), 16)


def parse_dump(text):
    """Return the functions of a dump, in dump order."""
    fns, seen = [], set()
    fn, in_sriov = None, False
    for lineno, line in enumerate(text.splitlines(), 1):
        line = line.rstrip('\r\n')
        if not line.strip():
            continue
        if ADDR_RE.match(line):
            fn, in_sriov = parse_header(line, lineno), False
            if fn.addr in seen:
                raise ValueError('line %d: %s listed twice' % (lineno, fn.addr))
            seen.add(fn.addr)
            fns.append(fn)
            continue
        depth = indent_depth(line)
        if fn is None or depth == 0:
            log('line %d: ignored: %r' % (lineno, line))
            continue
        text_ = line.strip(' \t') if depth > 1 else line.lstrip(' \t')
        if depth == 1:
            key, sep, value = text_.partition(':')
            in_sriov = key == 'Capabilities' and '(SR-IOV)' in value
            if in_sriov:
                fn.sriov = SRIOV()
            if sep:
                value = value[1:] if value.startswith(' ') else value
                parse_top_line(fn, key, value if key == 'DeviceName' else value.strip(), lineno)
        elif in_sriov:
            parse_sriov_line(fn, text_)
    return fns



def link_sriov(fns):
    """Pair each PF's enabled VFs with the dump's entries by routing-ID arithmetic."""
    by_addr = {f.addr: f for f in fns}
    for pf in fns:
        if not pf.sriov or pf.sriov.num == 0:
            continue
        missing = []
        for i in range(pf.sriov.num):
            rid = pf.rid + pf.sriov.offset + i * pf.sriov.stride
            addr = '%04x:%02x:%02x.%d' % (pf.domain, rid >> 8 & 0xff, rid >> 3 & 0x1f, rid & 7)
            vf = by_addr.get(addr)
            if vf is None or rid > 0xffff:
                missing.append(addr)
                continue
            if vf.device != pf.sriov.vf_device:
                log('%s: VF %s has device %04x, PF says %04x' % (pf.addr, addr, vf.device, pf.sriov.vf_device))
            vf.physfn = pf
            pf.virtfns.append((i, vf))
        if missing:
            # Not invented: sriov_numvfs still says what the dump says.
            log('%s: %d of %d enabled VFs not in the dump (%s)' % (
                pf.addr, len(missing), pf.sriov.num, ', '.join(missing)))


def header_type(fn, multifunction):
    if fn.cls == CLASS_CARDBUS_BRIDGE:
        ht = 2
    elif fn.cls == CLASS_PCI_BRIDGE or fn.busnums is not None:
        ht = 1
    else:
        ht = 0
    return ht | (0x80 if multifunction else 0)


def multifunction_slots(fns):
    """Slots with more than one function. VFs do not count: real hardware
    finds them through the PF's SR-IOV capability, not through the
    multi-function bit, so the iGPU PF with VFs at 00:02.1-.5 stays 0x00."""
    count = {}
    for f in fns:
        if f.physfn is None:
            key = (f.domain, f.bus, f.slot)
            count[key] = count.get(key, 0) + 1
    return {k for k, n in count.items() if n > 1}


def build_config(fn, htype):
    cfg = bytearray(256)

    def w16(off, v):
        cfg[off:off + 2] = (v & 0xffff).to_bytes(2, 'little')

    w16(0x00, fn.vendor)
    w16(0x02, fn.device)
    # Status stays 0: no capability list, so lspci does not walk one.
    cfg[0x08] = fn.rev
    cfg[0x09] = fn.progif
    w16(0x0a, fn.cls)
    cfg[0x0e] = htype
    kind = htype & 0x7f
    if kind == 0 and fn.subsys:
        w16(0x2c, fn.subsys[0])
        w16(0x2e, fn.subsys[1])
    if kind in (1, 2) and fn.busnums:
        cfg[0x18], cfg[0x19], cfg[0x1a] = fn.busnums[:3]
        if kind == 1:
            cfg[0x1b] = fn.busnums[3] & 0xff
    if kind == 2 and fn.subsys:
        w16(0x40, fn.subsys[0])
        w16(0x42, fn.subsys[1])
    cfg[0x3c] = fn.irq & 0xff
    cfg[0x3d] = fn.pin
    return bytes(cfg)


def device_files(fn, htype):
    """Plain files of a device dir: name -> bytes."""
    subsys = fn.subsys or (0, 0)
    files = {
        'vendor': '0x%04x\n' % fn.vendor,
        'device': '0x%04x\n' % fn.device,
        'class': '0x%04x%02x\n' % (fn.cls, fn.progif),
        'revision': '0x%02x\n' % fn.rev,
        'subsystem_vendor': '0x%04x\n' % subsys[0],
        'subsystem_device': '0x%04x\n' % subsys[1],
        'irq': '%d\n' % fn.irq,
        'numa_node': '%d\n' % fn.numa,
        # libpci 3.9 reads resource at scan time (error if missing); empty
        # means no BARs, which is all we know from a dump with <ignored> ones.
        'resource': '',
        'driver_override': '\n',
    }
    if fn.label is not None:
        files['label'] = fn.label + '\n'
    if fn.boot_vga is not None:
        files['boot_vga'] = fn.boot_vga + '\n'
    if fn.sriov:
        files['sriov_totalvfs'] = '%d\n' % fn.sriov.total
        files['sriov_numvfs'] = '%d\n' % fn.sriov.num
        files['sriov_offset'] = '%d\n' % fn.sriov.offset
        files['sriov_stride'] = '%d\n' % fn.sriov.stride
        files['sriov_vf_device'] = '%04x\n' % fn.sriov.vf_device
    out = {k: v.encode() for k, v in files.items()}
    out['config'] = build_config(fn, htype)
    return out


def write_file(path, data):
    with open(path, 'wb') as f:
        f.write(data)


def symlink(target, path):
    os.symlink(target, path)
    # Relative links with existing targets only: libpci reads a dangling
    # driver/iommu_group link as absent, which would hide a bug here.
    if not os.path.exists(path):
        raise RuntimeError('dangling link %s -> %s' % (path, target))


def write_device(fn, root, htype):
    pci = os.path.join(root, 'bus', 'pci')
    ddir = os.path.join(pci, 'devices', fn.addr)
    os.makedirs(ddir)
    want = lambda name: name not in fn.omit
    for name, data in device_files(fn, htype).items():
        if want(name):
            write_file(os.path.join(ddir, name), data)
    if fn.driver:
        drv = os.path.join(pci, 'drivers', fn.driver)
        if not os.path.isdir(drv):
            os.makedirs(drv)
            write_file(os.path.join(drv, 'bind'), b'')
            write_file(os.path.join(drv, 'unbind'), b'')
        symlink('../../devices/' + fn.addr, os.path.join(drv, fn.addr))
        if want('driver'):
            symlink('../../drivers/' + fn.driver, os.path.join(ddir, 'driver'))
    if fn.iommu is not None:
        gdir = os.path.join(root, 'kernel', 'iommu_groups', fn.iommu, 'devices')
        os.makedirs(gdir, exist_ok=True)
        symlink('../../../../bus/pci/devices/' + fn.addr, os.path.join(gdir, fn.addr))
        if want('iommu_group'):
            symlink('../../../../kernel/iommu_groups/' + fn.iommu, os.path.join(ddir, 'iommu_group'))
    if fn.ifnames and want('net'):
        for name in fn.ifnames:
            os.makedirs(os.path.join(ddir, 'net', name))


def write_sriov_links(fns, root):
    """virtfnI on PFs, physfn on VFs: after all device dirs exist."""
    devs = os.path.join(root, 'bus', 'pci', 'devices')
    for pf in fns:
        for i, vf in pf.virtfns:
            name = 'virtfn%d' % i
            if name not in pf.omit:
                symlink('../' + vf.addr, os.path.join(devs, pf.addr, name))
            if 'physfn' not in vf.omit:
                symlink('../' + pf.addr, os.path.join(devs, vf.addr, 'physfn'))


def write_raw(fns, root):
    """X-pcipass-raw last, so it replaces whatever we wrote."""
    for fn in fns:
        for name, data in fn.raw.items():
            path = os.path.join(root, 'bus', 'pci', 'devices', fn.addr, name)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            if os.path.islink(path):
                os.unlink(path)
            write_file(path, data)


def write_tree(fns, root):
    link_sriov(fns)
    multi = multifunction_slots(fns)
    os.makedirs(os.path.join(root, 'bus', 'pci', 'devices'))
    os.makedirs(os.path.join(root, 'bus', 'pci', 'drivers'))
    os.makedirs(os.path.join(root, 'kernel', 'iommu_groups'))
    write_file(os.path.join(root, 'bus', 'pci', 'drivers_probe'), b'')
    for fn in fns:
        write_device(fn, root, header_type(fn, (fn.domain, fn.bus, fn.slot) in multi))
    write_sriov_links(fns, root)
    write_raw(fns, root)


def read_dump(path):
    with open(path, 'rb') as f:
        # Dumps are ASCII; do not die on a stray byte in a name.
        return f.read().decode('utf-8', errors='replace')


def main(argv):
    if len(argv) != 3:
        print('usage: %s DUMP OUTDIR' % argv[0], file=sys.stderr)
        return 2
    dump, outdir = argv[1], argv[2]
    if os.path.exists(outdir) and os.listdir(outdir):
        print('lspci2sysfs: %s is not empty' % outdir, file=sys.stderr)
        return 1
    try:
        fns = parse_dump(read_dump(dump))
        if not fns:
            raise ValueError('no device header line found')
        write_tree(fns, outdir)
    except (ValueError, OSError, RuntimeError) as e:
        print('lspci2sysfs: %s: %s' % (dump, e), file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
