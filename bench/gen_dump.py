#!/usr/bin/env python3
"""Write a synthetic `lspci -vvnn`-style dump of exactly N PCI functions.

Usage: python3 bench/gen_dump.py N > dump.txt
       python3 tests/lspci2sysfs.py dump.txt TREE   # the fake sysfs tree

The dump is built from blocks of 32 functions, as a rack server has them:
  2  PCIe root ports on bus 00 (class 0604: bridges, never allocatable)
  8  four GPUs with their HDMI audio functions, BB:0s.0 + BB:0s.1, each
     pair in one IOMMU group; even blocks on vfio-pci (allocatable as a
     pair), odd blocks on nvidia + snd_hda_intel (blocked: a host driver)
  4  NVMe drives (class 0108), one group each, driver nvme
  2  NIC PFs (class 0200, Intel X710) with an SR-IOV capability block:
     8 VFs enabled on each (offset 16, stride 2, as X710 lays them out),
     so the PFs are never allocatable; X-pcipass-ifname gives each an
     interface name
  16 VFs (class 0200, 8086:154c), one IOMMU group each, driver iavf
Blocks are spread over 4 NUMA nodes (block % 4) and 64 blocks per PCI
domain (two buses each). N that is not a multiple of 32 is met by
dropping functions from the end of the last block (VFs last, so a PF may
claim more VFs than exist; lspci2sysfs then only warns).

lspci2sysfs.py links PF and VFs (virtfnI / physfn) from the SR-IOV
capability lines by routing-ID arithmetic; it has no X-pcipass line for
that, so the dump carries the capability block a real lspci -vvv shows.
"""
import sys


def block(b):
    dom = b // 64
    k = b % 64
    gbus = 1 + 2 * k          # GPUs and NVMe
    nbus = gbus + 1           # NIC PFs and VFs
    numa = b % 4
    vfio = b % 2 == 0
    out = []

    def dev(bus, slot, fn, cls, clsname, ven, vname, did, dname, drv,
            group, extra=()):
        lines = ['%04x:%02x:%02x.%d %s [%s]: %s %s [%s:%s] (rev 01)' % (
            dom, bus, slot, fn, clsname, cls, vname, dname, ven, did)]
        if drv:
            lines.append('\tKernel driver in use: %s' % drv)
        if group is not None:
            lines.append('\tIOMMU group: %d' % group)
        lines.append('\tNUMA node: %d' % numa)
        lines.extend(extra)
        out.append('\n'.join(lines))

    g = 1000 * b              # IOMMU group numbers of this block
    # root ports on bus 00 of the domain, slot k // 4, two per block
    for i in range(2):
        fn = (2 * k + i) % 8
        slot = (2 * k + i) // 8
        dev(0, slot, fn, '0604', 'PCI bridge', '1022', 'Advanced Micro Devices, Inc. [AMD]',
            '1483', 'Starship/Matisse GPP Bridge', 'pcieport', g + i)
    for s in range(4):
        grp = g + 10 + s
        dev(gbus, s, 0, '0302', '3D controller', '10de', 'NVIDIA Corporation',
            '2236', 'GA102GL [A10]', 'vfio-pci' if vfio else 'nvidia', grp)
        dev(gbus, s, 1, '0403', 'Audio device', '10de', 'NVIDIA Corporation',
            '1aef', 'GA102 High Definition Audio Controller',
            'vfio-pci' if vfio else 'snd_hda_intel', grp)
    for s in range(4):
        dev(gbus, 8 + s, 0, '0108', 'Non-Volatile memory controller', '144d',
            'Samsung Electronics Co Ltd', 'a80a', 'NVMe SSD Controller PM9A1/PM9A3/980PRO',
            'nvme', g + 20 + s)
    for pf in range(2):
        sriov = ['\tCapabilities: [160 v1] Single Root I/O Virtualization (SR-IOV)',
                 '\t\tIOVCap:\tMigration-, Interrupt Message Number: 000',
                 '\t\tInitial VFs: 64, Total VFs: 64, Number of VFs: 8, Function Dependency Link: %02x' % pf,
                 '\t\tVF offset: 16, stride: 2, Device ID: 154c',
                 '\tX-pcipass-ifname: ens%df%d' % (b, pf)]
        dev(nbus, 0, pf, '0200', 'Ethernet controller', '8086', 'Intel Corporation',
            '1572', 'Ethernet Controller X710 for 10GbE SFP+', 'i40e', g + 30 + pf,
            sriov)
    return out, (dom, nbus, numa, g)


def vf_blocks(dom, nbus, numa, g, n_pf_vfs=8):
    out = []
    # PF0 (rid 0, 00.0), offset 16, stride 2: VFs at rid 16, 18, .. 30;
    # PF1 (rid 1, 00.1), same: rid 17, 19, .. 31 (slots 02 and 03).
    for pf, first in ((0, 16), (1, 17)):
        for i in range(n_pf_vfs):
            rid = first + 2 * i
            slot, fn = rid >> 3, rid & 7
            out.append('\n'.join([
                '%04x:%02x:%02x.%d Ethernet controller [0200]: Intel Corporation '
                'Ethernet Virtual Function 700 Series [8086:154c] (rev 02)' % (
                    dom, nbus, slot, fn),
                '\tKernel driver in use: iavf',
                '\tIOMMU group: %d' % (g + 100 + pf * 8 + i),
                '\tNUMA node: %d' % numa]))
    return out


def main():
    n = int(sys.argv[1])
    if n < 1 or n > 64 * 32 * 256:
        sys.exit('gen_dump: N out of range')
    devs = []
    b = 0
    while len(devs) < n:
        head, (dom, nbus, numa, g) = block(b)
        devs.extend(head + vf_blocks(dom, nbus, numa, g))
        b += 1
    sys.stdout.write('\n\n'.join(devs[:n]) + '\n')


if __name__ == '__main__':
    main()
