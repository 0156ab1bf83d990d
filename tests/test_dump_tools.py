#!/usr/bin/env python3
"""Tests of the test tools lspci2sysfs.py and probe_check.py.

Run: python3 tests/test_dump_tools.py   (or python3 -m unittest discover -s tests)
Fixtures: ${FIXTURES:-../shared/fixtures/lspci}, relative to the repo root.

make_probe() writes a probe template from a dump the way pcipassd --probe
is specified to (API.md), so probe_check.py can be tried before the daemon
exists: the right template must pass, each deliberately wrong one must fail
with the mismatch named.
"""

import glob
import io
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
from contextlib import redirect_stderr

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import lspci2sysfs  # noqa: E402
import probe_check  # noqa: E402

FIXTURES = os.path.join(ROOT, os.environ.get('FIXTURES', '../shared/fixtures/lspci'))
MINISFORUM = os.path.join(FIXTURES, 'minisforum-ms01-pve-igpu-sriov-5vfs.txt')


def quote(v):
    """As API.md's template texts: \\" for a quote, and a backslash that
    would stand before a quote written '?'."""
    out = []
    for i, c in enumerate(v):
        if c == '"':
            out.append('\\"')
        elif c == '\\' and (i + 1 == len(v) or v[i + 1] == '"'):
            out.append('?')
        else:
            out.append(c)
    return '"' + ''.join(out) + '"'


def make_probe(fns, names=None):
    """Probe template text for parsed functions (link_sriov already run)."""
    names = names or {}
    out = []
    for fn in fns:
        want = probe_check.expected_fields(fn)
        if isinstance(want['IFNAME'], set):
            want['IFNAME'] = sorted(want['IFNAME'])[0]
        want.update({'VENDOR_NAME': 'Vendor', 'CLASS_NAME': 'Class', 'DEVICE_NAME': 'Device'})
        want.update(names.get(want['ADDRESS'], {}))
        pairs = [' %s = %s' % (k, quote(want[k])) for k in probe_check.expected_keys(fn)]
        out.append('PCI = [\n' + ' ,\n'.join(pairs) + '\n]\n')
    return ''.join(out)


def parse(text):
    with redirect_stderr(io.StringIO()):
        fns = lspci2sysfs.parse_dump(text)
        lspci2sysfs.link_sriov(fns)
    return fns


def text_of(path):
    with open(path) as f:
        return f.read()


def convert(text, tmp):
    """Write text as a dump into tmp, convert it; return (tree root, stderr text)."""
    dump = os.path.join(tmp, 'dump.txt')
    with open(dump, 'w', newline='') as f:
        f.write(text)
    r = subprocess.run([sys.executable, os.path.join(HERE, 'lspci2sysfs.py'), dump, tmp + '/sys'],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise AssertionError('lspci2sysfs failed: ' + r.stderr)
    return tmp + '/sys', r.stderr


def read(path):
    with open(path, 'rb') as f:
        return f.read()


MINIMAL = (
    '01:00.0 3D controller [0302]: NVIDIA Corporation GV100GL [Tesla V100 PCIe 16GB] [10de:1db4] (rev a1)\n'
    '\tKernel driver in use: vfio-pci\n'
    '\tIOMMU group: 7\n'
    '\tNUMA node: 1\n'
    '01:00.1 Audio device [0403]: NVIDIA Corporation Device [10de:10f1] (rev a1)\n'
    '\tIOMMU group: 7\n'
    '\tX-pcipass-ifname: eth0\n'
    '\tX-pcipass-boot-vga: 1\n'
    '\tX-pcipass-omit: config, irq\n'
    '\tX-pcipass-raw: class=garbage\n'
    '\tX-pcipass-raw: vendor=0x10de\\n\\x00\n'
)


class ConverterTest(unittest.TestCase):

    def convert(self, text):
        tmp = tempfile.mkdtemp(prefix='l2s-')
        self.addCleanup(shutil.rmtree, tmp)
        return convert(text, tmp)

    def test_minimal_dump_and_extensions(self):
        sysfs, _ = self.convert(MINIMAL)
        devs = sysfs + '/bus/pci/devices/'
        a, b = devs + '0000:01:00.0/', devs + '0000:01:00.1/'
        self.assertEqual(read(a + 'class'), b'0x030200\n')
        self.assertEqual(read(a + 'revision'), b'0xa1\n')
        self.assertEqual(read(a + 'numa_node'), b'1\n')
        self.assertEqual(read(b + 'numa_node'), b'-1\n')
        self.assertEqual(read(a + 'subsystem_vendor'), b'0x0000\n')
        self.assertEqual(read(a + 'driver_override'), b'\n')
        self.assertEqual(os.readlink(a + 'driver'), '../../drivers/vfio-pci')
        self.assertTrue(os.path.isfile(sysfs + '/bus/pci/drivers/vfio-pci/bind'))
        self.assertTrue(os.path.isfile(sysfs + '/bus/pci/drivers/vfio-pci/unbind'))
        self.assertTrue(os.path.isfile(sysfs + '/bus/pci/drivers_probe'))
        self.assertFalse(os.path.lexists(b + 'driver'))
        self.assertEqual(os.readlink(a + 'iommu_group'), '../../../../kernel/iommu_groups/7')
        members = sorted(os.listdir(sysfs + '/kernel/iommu_groups/7/devices'))
        self.assertEqual(members, ['0000:01:00.0', '0000:01:00.1'])
        for m in members:
            self.assertTrue(os.path.isdir(sysfs + '/kernel/iommu_groups/7/devices/' + m))
        cfg = read(a + 'config')
        self.assertEqual(len(cfg), 256)
        self.assertEqual(cfg[0:4], bytes([0xde, 0x10, 0xb4, 0x1d]))
        self.assertEqual(cfg[0x08:0x0c], bytes([0xa1, 0x00, 0x02, 0x03]))
        self.assertEqual(cfg[0x0e], 0x80)          # 01:00 has two functions
        # Extension lines
        self.assertTrue(os.path.isdir(b + 'net/eth0'))
        self.assertEqual(read(b + 'boot_vga'), b'1\n')
        self.assertFalse(os.path.exists(b + 'config'))
        self.assertFalse(os.path.exists(b + 'irq'))
        self.assertEqual(read(b + 'class'), b'garbage')
        self.assertEqual(read(b + 'vendor'), b'0x10de\n\x00')

    def test_crlf_and_bridge_header(self):
        text = ('00:01.0 PCI bridge [0604]: X [1022:1483] (prog-if 00 [Normal decode])\r\n'
                '\tBus: primary=00, secondary=05, subordinate=07, sec-latency=0\r\n'
                '\tSubsystem: Gigabyte [1458:1000]\r\n'
                '\r\n'
                '02:00.0 CardBus bridge [0607]: Y [1180:0476] (rev 8d)\r\n')
        sysfs, _ = self.convert(text)
        cfg = read(sysfs + '/bus/pci/devices/0000:00:01.0/config')
        self.assertEqual(cfg[0x0e], 1)
        self.assertEqual(cfg[0x18:0x1b], bytes([0, 5, 7]))
        self.assertEqual(cfg[0x2c:0x30], bytes(4))    # no type-0 subsystem on a bridge
        self.assertEqual(read(sysfs + '/bus/pci/devices/0000:00:01.0/subsystem_vendor'), b'0x1458\n')
        self.assertEqual(read(sysfs + '/bus/pci/devices/0000:02:00.0/config')[0x0e], 2)

    def test_sriov_vfs_listed(self):
        sysfs, err = self.convert(text_of(MINISFORUM))
        pf = sysfs + '/bus/pci/devices/0000:00:02.0/'
        self.assertEqual(read(pf + 'sriov_numvfs'), b'5\n')
        self.assertEqual(read(pf + 'sriov_totalvfs'), b'7\n')
        for i in range(5):
            self.assertEqual(os.readlink(pf + 'virtfn%d' % i), '../0000:00:02.%d' % (i + 1))
            vf = sysfs + '/bus/pci/devices/0000:00:02.%d/' % (i + 1)
            self.assertEqual(os.readlink(vf + 'physfn'), '../0000:00:02.0')
            self.assertTrue(os.path.isdir(vf + 'physfn'))
        self.assertFalse(os.path.lexists(pf + 'virtfn5'))
        # VFs do not make the PF's slot multi-function.
        self.assertEqual(read(pf + 'config')[0x0e], 0)
        # The X710 PFs have the capability but no VFs enabled.
        x710 = sysfs + '/bus/pci/devices/0000:02:00.0/'
        self.assertEqual(read(x710 + 'sriov_numvfs'), b'0\n')
        self.assertEqual(read(x710 + 'sriov_totalvfs'), b'64\n')
        self.assertEqual(err, '')

    def test_sriov_vf_not_in_dump(self):
        text = ('41:00.0 Ethernet controller [0200]: Intel [8086:1572] (rev 02)\n'
                '\tCapabilities: [160 v1] Single Root I/O Virtualization (SR-IOV)\n'
                '\t\tInitial VFs: 64, Total VFs: 64, Number of VFs: 2, Function Dependency Link: 00\n'
                '\t\tVF offset: 16, stride: 1, Device ID: 154c\n'
                '\tKernel driver in use: i40e\n'
                '41:02.0 Ethernet controller [0200]: Intel [8086:154c] (rev 02)\n')
        sysfs, err = self.convert(text)
        pf = sysfs + '/bus/pci/devices/0000:41:00.0/'
        self.assertEqual(read(pf + 'sriov_numvfs'), b'2\n')     # as the dump says
        self.assertEqual(os.readlink(pf + 'virtfn0'), '../0000:41:02.0')
        self.assertFalse(os.path.lexists(pf + 'virtfn1'))         # 41:02.1 not invented
        self.assertFalse(os.path.exists(sysfs + '/bus/pci/devices/0000:41:02.1'))
        self.assertIn('0000:41:02.1', err)

    def test_bad_header_fails(self):
        with self.assertRaises(ValueError):
            lspci2sysfs.parse_dump('00:01.0 something without ids\n')


class ProbeCheckTest(unittest.TestCase):

    def check(self, dump_text, probe_text):
        fns = parse(dump_text)
        return probe_check.compare(fns, probe_check.parse_probe(probe_text))

    def test_every_fixture_passes_its_own_probe(self):
        dumps = sorted(glob.glob(os.path.join(FIXTURES, '*.txt')))
        self.assertEqual(len(dumps), 9)
        for d in dumps:
            text = text_of(d)
            with self.subTest(dump=os.path.basename(d)):
                self.assertEqual(self.check(text, make_probe(parse(text))), [])

    def test_cli_ok_and_wrong(self):
        fns = parse(text_of(MINISFORUM))
        with tempfile.TemporaryDirectory() as tmp:
            good, bad = tmp + '/good', tmp + '/bad'
            with open(good, 'w') as f:
                f.write(make_probe(fns))
            with open(bad, 'w') as f:
                f.write(make_probe(fns).replace('DRIVER = "i915"', 'DRIVER = "vfio-pci"', 1))
            cmd = [sys.executable, os.path.join(HERE, 'probe_check.py'), MINISFORUM]
            r = subprocess.run(cmd + [good], capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stdout)
            self.assertEqual(r.stdout.count('\n'), 1)
            r = subprocess.run(cmd + [bad], capture_output=True, text=True)
            self.assertEqual(r.returncode, 1)
            self.assertIn('0000:00:02:0: DRIVER is "vfio-pci", want "i915"', r.stdout)

    def test_sriov_fields(self):
        fns = parse(text_of(MINISFORUM))
        by = {probe_check.colon_addr(f): probe_check.expected_fields(f) for f in fns}
        self.assertEqual((by['0000:00:02:0']['SRIOV'], by['0000:00:02:0']['SRIOV_NUM']), ('pf', '5'))
        self.assertEqual((by['0000:00:02:3']['SRIOV'], by['0000:00:02:3']['PHYSFN']), ('vf', '0000:00:02:0'))
        self.assertEqual((by['0000:02:00:1']['SRIOV'], by['0000:02:00:1']['SRIOV_NUM']), ('pf', '0'))
        self.assertEqual(by['0000:00:00:0']['SRIOV'], 'no')
        self.assertNotIn('SRIOV_NUM', by['0000:00:00:0'])

    def test_names_with_quotes_brackets_commas(self):
        fns = parse(MINIMAL)
        names = {'0000:01:00:0': {'VENDOR_NAME': 'Advanced Micro Devices, Inc. [AMD/ATI]',
                                  'DEVICE_NAME': 'odd "name" ] , [ with \\ back\nslash'}}
        text = make_probe(fns, names)
        blocks = probe_check.parse_probe(text)
        self.assertEqual(dict(blocks[0][1])['DEVICE_NAME'], 'odd "name" ] , [ with \\ back\nslash')
        # As oned reads it: only \" is an escape.
        self.assertEqual(dict(probe_check.parse_probe('PCI = [ A = "a\\\\b\\"c?" ]')[0][1])['A'],
                         'a\\\\b"c?')
        self.assertEqual(probe_check.compare(fns, blocks), [])

    def test_each_deliberate_error_is_reported(self):
        fns = parse(text_of(MINISFORUM))
        good = make_probe(fns)
        cases = {
            'wrong numa': (good.replace('NUMA_NODE = "-"', 'NUMA_NODE = "0"', 1), 'NUMA_NODE is "0"'),
            'vf as no': (good.replace('SRIOV = "vf"', 'SRIOV = "no"', 1), 'SRIOV is "no", want "vf"'),
            'physfn dot form': (good.replace('PHYSFN = "0000:00:02:0"', 'PHYSFN = "0000:00:02.0"', 1),
                                'PHYSFN is "0000:00:02.0"'),
            'wrong iommu': (good.replace('IOMMU_GROUP = "22"', 'IOMMU_GROUP = "-"'), 'IOMMU_GROUP is "-"'),
            'class with prog-if': (good.replace('CLASS = "0300"', 'CLASS = "030000"', 1), 'CLASS is'),
            'dot address': (good.replace('ADDRESS = "0000:00:02:5"', 'ADDRESS = "0000:00:02.5"'),
                            'missing from the probe'),
            'device dropped': (good.split(']\n', 1)[1], '0000:00:00:0: in the dump, missing'),
            'device added': (good + good.split(']\n', 1)[0].replace('00:00:0', '00:1f:7') + ']\n',
                             'in the probe, not in the dump'),
            'duplicate': (good + good.split(']\n', 1)[0] + ']\n', 'listed twice'),
            'key order': (good.replace(' SRIOV = "no" ,\n IOMMU_GROUP', ' IOMMU_GROUP', 1), 'keys are'),
            'sriov_num missing': (good.replace(' SRIOV_NUM = "5" ,\n', '', 1), 'keys are'),
        }
        for name, (text, needle) in cases.items():
            with self.subTest(case=name):
                self.assertNotEqual(text, good)
                errs = self.check(text_of(MINISFORUM), text)
                self.assertTrue(any(needle in e for e in errs), errs)

    def test_syntax_errors(self):
        for bad in ['PCI = [ A = "x" , ]', 'PCI = [ A = "x\\" ]', 'PCI = [ A = "x ]',
                    'PCI = [ A = x ]', 'PCI [ A = "x" ]', 'FOO = "x"']:
            with self.subTest(text=bad):
                with self.assertRaises(probe_check.ProbeSyntaxError):
                    probe_check.parse_probe(bad)


if __name__ == '__main__':
    unittest.main()
