#!/usr/bin/env python3
"""pcipassd --probe next to OpenNebula's probe (tests/one_probe.py), byte
for byte.

usage: one_compare.py PCIPASSD TREE WORKDIR [--golden FILE]
                      [one_probe.py options]

Writes the pci.conf the options describe, runs `PCIPASSD --probe -v` and
one_probe.py on TREE, and compares the texts as API.md says they agree:
after taking pcipass's own keys (IOMMU_GROUP, DRIVER, PHYSFN) out of its
text, and the blocks of the devices pcipass leaves out (its -v log says
which, and why) out of OpenNebula's, the two must be equal. With
--golden, pcipassd's whole text must also equal FILE less its leading
'#' lines (PCIPASS_WRITE_GOLDEN=1 writes FILE instead, with a header
saying how it was derived). Exit 0 with a summary line, else 1 with a
unified diff.
"""
import difflib
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OURS = ('IOMMU_GROUP', 'DRIVER', 'PHYSFN')


def conf_text(opts):
    """pci.conf for one_probe.py's options."""
    keys = {'--filter': ':filter:', '--short-address': ':short_address:',
            '--device-name': ':device_name:',
            '--nvidia-vendor': ':nvidia_vendors:'}
    lists = {}
    for flag, value in zip(opts[::2], opts[1::2]):
        lists.setdefault(keys[flag], []).append(value)
    return ''.join('%s\n%s' % (k, ''.join("  - '%s'\n" % v.replace("'", "''")
                                          for v in vs))
                   for k, vs in lists.items())


def blocks(text):
    return re.findall(r'PCI = \[\n.*?\n\]\n', text, re.S)


def main(argv):
    if len(argv) < 4:
        sys.stderr.write(__doc__.split('\n\n')[1] + '\n')
        return 2
    pcipassd, tree, work, opts = argv[1], argv[2], argv[3], argv[4:]
    golden = None
    if opts[:1] == ['--golden']:
        golden, opts = opts[1], opts[2:]
    conf = os.path.join(work, 'one-compare.conf')
    with open(conf, 'w') as f:
        f.write(conf_text(opts))
    ours = subprocess.run([pcipassd, '--probe', '-v', '--sysfs-root', tree,
                           '--proc-root', '/nonexistent', '--filter', conf],
                          capture_output=True, text=True, check=True)
    one = subprocess.run([sys.executable, os.path.join(HERE, 'one_probe.py'),
                          tree] + opts, capture_output=True, text=True,
                         check=True).stdout
    left = set(re.findall(r'^probe: (\S+) left out: ', ours.stderr, re.M))
    mine = re.sub(r'^ (%s) = "[^"]*" ,\n' % '|'.join(OURS), '', ours.stdout,
                  flags=re.M)
    theirs = ''.join(b for b in blocks(one)
                     if re.search(r' ADDRESS = "([^"]*)"', b).group(1)
                     not in left)
    if mine != theirs:
        sys.stdout.writelines(difflib.unified_diff(
            theirs.splitlines(True), mine.splitlines(True),
            'OpenNebula pci.rb (less what pcipass leaves out)',
            'pcipassd --probe (less IOMMU_GROUP, DRIVER, PHYSFN)'))
        return 1
    if golden is not None:
        if os.environ.get('PCIPASS_WRITE_GOLDEN') == '1':
            with open(golden, 'w') as f:
                f.write(HEADER % ' '.join(opts) + ours.stdout)
        else:
            with open(golden) as f:
                want = ''.join(l for l in f if not l.startswith('#'))
            if want != ours.stdout:
                sys.stdout.writelines(difflib.unified_diff(
                    want.splitlines(True), ours.stdout.splitlines(True),
                    golden, 'pcipassd --probe'))
                return 1
    print('one_compare: %s: %d devices byte for byte, %d of OpenNebula\'s '
          'left out' % (os.path.basename(tree), len(blocks(mine)),
                        len(blocks(one)) - len(blocks(theirs))))
    return 0


HEADER = """\
# pcipassd --probe with the pci.conf of one_probe.py's options: %s
# Derived: written by tests/one_compare.py from pcipassd's output after it
# checked it byte for byte against OpenNebula's probe, tests/one_probe.py
# (a model of pci.rb written from its code, run with the real lspci on the
# same tree), less pcipass's keys IOMMU_GROUP, DRIVER, PHYSFN and the
# devices pcipass leaves out (bridges, PFs with VFs, no IOMMU group,
# host-critical). Names come from Debian 12's pci.ids.
"""


if __name__ == '__main__':
    sys.exit(main(sys.argv))
