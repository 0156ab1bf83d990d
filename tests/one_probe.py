#!/usr/bin/env python3
"""What OpenNebula's PCI probe would print for a fake sysfs tree.

usage: one_probe.py TREE [--filter F]... [--short-address S]...
                         [--device-name RE]... [--nvidia-vendor V]...

A model of OpenNebula's im_mad probe `pci.rb` (OpenNebula 7.x), written
from reading it: one `lspci -mmnn -d F` per filter item (here on TREE,
through libpci's sysfs.path), each line split as a shell would, "Name
[id]" split by /^(.*) \\[(....)\\]$/, the short address filter compared as
strings, the device name patterns as case-insensitive regexps, NVIDIA
PFs with VFs and PFs with VFs enabled skipped, and the per-device sysfs
reads it makes (numa_node, net/, physfn, sriov_numvfs, sriov_totalvfs,
virtfn0). Not modelled, because they are host files outside sysfs: the
udev rename rules and the interface-name cache. The vGPU keys of NVIDIA
VFs are read as pci.rb reads them (its /sys/class/mdev_bus is TREE/class
/mdev_bus here), and the UUID comes from `uuidgen`, as there.

With no --filter, the filter is OpenNebula's default '0:0'; with no
--nvidia-vendor, ['10de']. Prints the probe template on stdout.
"""
import argparse
import os
import re
import shlex
import subprocess
import sys


def lspci(tree, dfilter):
    cmd = ['lspci', '-mmnn', '-A', 'linux-sysfs',
           '-O', 'sysfs.path=%s/bus/pci' % tree]
    if dfilter is not None:
        cmd += ['-d', dfilter]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return [shlex.split(line) for line in out.split('\n') if line]


def name_and_id(text):
    m = re.match(r'^(.*) \[(....)\]$', text)
    return m.group(1), m.group(2)


def read(path):
    try:
        with open(path) as f:
            return f.read().rstrip('\n')
    except OSError:
        return None


def parse(fields, tree):
    d = {'short_address': fields[0]}
    parts = re.split(r'[:.]', fields[0])
    if len(parts) == 3:
        parts.insert(0, '0000')
    d['domain'], d['bus'], d['slot'], d['function'] = parts
    d['address'] = ':'.join(parts)
    d['sysfs'] = '%s/bus/pci/devices/%s:%s:%s.%s' % (tree, *parts)
    numa = read(d['sysfs'] + '/numa_node')
    d['numa_node'] = '-' if numa is None or int(numa or '0') < 0 else numa
    d['class_name'], d['class'] = name_and_id(fields[1])
    d['vendor_name'], d['vendor'] = name_and_id(fields[2])
    d['device_name'], d['device'] = name_and_id(fields[3])
    d['type'] = '%s:%s:%s' % (d['vendor'], d['device'], d['class'])
    return d


def ifname(d):
    net = d['sysfs'] + '/net'
    if not os.path.isdir(net):
        return '-'
    names = os.listdir(net)
    if not names:
        return '-'
    if len(names) > 1:
        for n in names:
            ppn = read('%s/%s/phys_port_name' % (net, n))
            if ppn is not None and re.match(r'^p\d+$', ppn.strip()):
                return n
        return '-'
    return names[0]


def legacy_profiles(tree, d):
    path = '%s/class/mdev_bus/%s/mdev_supported_types' % (
        tree, os.path.basename(d['sysfs']))
    return sorted(os.listdir(path)) if os.path.isdir(path) else []


def nvidia_profiles(d):
    out = []
    try:
        with open(d['sysfs'] + '/nvidia/creatable_vgpu_types') as f:
            for line in f:
                parts = line.split(':')
                while parts and parts[-1] == '':
                    parts.pop()     # Ruby's split drops trailing empties
                if len(parts) < 2:
                    return []       # name.strip! on nil: rescued, none
                pid, name = parts[0].strip(), parts[1].strip()
                if not pid or pid.lower() == 'id' or not name:
                    continue
                out.append('%s (%s)' % (pid, name))
    except OSError:
        return []
    return out


def exists(d, attr):
    return os.path.lexists('%s/%s' % (d['sysfs'], attr))


def main(argv):
    ap = argparse.ArgumentParser()
    ap.add_argument('tree')
    ap.add_argument('--filter', action='append')
    ap.add_argument('--short-address', action='append', default=[])
    ap.add_argument('--device-name', action='append', default=[])
    ap.add_argument('--nvidia-vendor', action='append')
    a = ap.parse_args(argv[1:])
    filters = [f for item in (a.filter or ['0:0']) for f in item.split(',')]
    nvidia = a.nvidia_vendor or ['10de']
    out = []
    for f in filters:
        for fields in lspci(a.tree, f):
            d = parse(fields, a.tree)
            if a.short_address and d['short_address'] not in a.short_address:
                continue
            if a.device_name and not any(
                    re.search(p, d['device_name'], re.I) for p in a.device_name):
                continue
            if d['vendor'] in nvidia and exists(d, 'virtfn0'):
                continue
            if exists(d, 'physfn'):
                sriov = 'vf'
            elif exists(d, 'sriov_numvfs') or exists(d, 'sriov_totalvfs'):
                sriov = 'pf'
            else:
                sriov = 'no'
            num = read(d['sysfs'] + '/sriov_numvfs') or 0
            if sriov == 'pf' and int(num) > 0:
                continue
            vals = [('TYPE', d['type']), ('VENDOR', d['vendor']),
                    ('VENDOR_NAME', d['vendor_name']), ('DEVICE', d['device']),
                    ('CLASS', d['class']), ('CLASS_NAME', d['class_name']),
                    ('ADDRESS', d['address']),
                    ('SHORT_ADDRESS', d['short_address']),
                    ('DOMAIN', d['domain']), ('BUS', d['bus']),
                    ('SLOT', d['slot']), ('FUNCTION', d['function']),
                    ('NUMA_NODE', d['numa_node']), ('IFNAME', ifname(d)),
                    ('SRIOV', sriov)]
            if sriov == 'pf':
                vals.append(('SRIOV_NUM', str(num)))
            if d['vendor'] in nvidia and sriov == 'vf':
                vals.append(('DEVICE_NAME', 'NVIDIA vGPU device'))
                uuid = subprocess.run(
                    ['uuidgen', '--name', d['address'], '--namespace',
                     '@x500', '--sha1'], check=True, capture_output=True,
                    text=True).stdout.strip()
                vals.append(('UUID', uuid))
                profiles = legacy_profiles(a.tree, d) or nvidia_profiles(d)
                vals.append(('PROFILES', ','.join(profiles)))
                legacy = os.path.exists('%s/class/mdev_bus/%s' % (
                    a.tree, os.path.basename(d['sysfs'])))
                vals.append(('MDEV_MODE', 'legacy' if legacy else 'nvidia'))
            elif d['vendor'] in nvidia:
                vals.append(('DEVICE_NAME', '%s %s' % (d['vendor_name'],
                                                      d['device_name'])))
            else:
                vals.append(('DEVICE_NAME', d['device_name']))
            out.append('PCI = [\n' + ',\n'.join(
                ' %s = "%s" ' % kv for kv in vals) + '\n]\n')
    sys.stdout.write(''.join(out))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
