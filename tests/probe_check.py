#!/usr/bin/env python3
"""Check a `pcipassd --probe` output against the lspci dump its tree came from.

Usage: python3 tests/probe_check.py DUMP PROBE_OUTPUT_FILE [PROBE_LOG]

PROBE_LOG is `pcipassd --probe -v`'s stderr: its "probe: ADDRESS left
out: REASON" lines name the devices the probe leaves out (bridges, PFs
with VFs, no IOMMU group...), which are then expected absent, each with
a reason, instead of present.

The probe template (API.md, "Probe template") is a sequence of blocks
    PCI = [
     KEY = "VALUE" ,
     ...
     DEVICE_NAME = "..."
    ]
Values are double-quoted, with \\" for a quote and nothing else escaped
(as oned's template lexer reads them); names contain brackets
and commas, so the text is tokenised, not split on lines or commas.

Checked: the set of ADDRESS values is exactly the dump's functions (so run
the daemon with a filter that offers everything, ':filter: "*:*"'), each
block has the API's keys in the API's order, and per device the values of
VENDOR DEVICE CLASS TYPE ADDRESS SHORT_ADDRESS DOMAIN BUS SLOT FUNCTION
DRIVER IOMMU_GROUP NUMA_NODE IFNAME SRIOV SRIOV_NUM PHYSFN. Names
(VENDOR_NAME, DEVICE_NAME, CLASS_NAME) come from the host's pci.ids and are
only required to be present.

Exit 0 with a one-line summary; else every mismatch on its own line, exit 1.
"""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lspci2sysfs  # noqa: E402  (the dump parser lives there)

# API.md order; SRIOV_NUM follows SRIOV on PFs only.
KEYS_BEFORE_SRIOV_NUM = ['TYPE', 'VENDOR', 'VENDOR_NAME', 'DEVICE', 'CLASS', 'CLASS_NAME',
                         'ADDRESS', 'SHORT_ADDRESS', 'DOMAIN', 'BUS', 'SLOT', 'FUNCTION',
                         'NUMA_NODE', 'IFNAME', 'SRIOV']
KEYS_AFTER_SRIOV_NUM = ['IOMMU_GROUP', 'DRIVER', 'PHYSFN', 'DEVICE_NAME']
NAME_KEYS = ('VENDOR_NAME', 'CLASS_NAME', 'DEVICE_NAME')


class ProbeSyntaxError(Exception):
    pass


# ---- parsing the template ---------------------------------------------------

def tokenize(text):
    """Yield (kind, value, line): kind is 'word', 'string' or the punctuation
    character itself ('=', '[', ']', ',')."""
    i, line, n = 0, 1, len(text)
    while i < n:
        c = text[i]
        if c == '\n':
            line += 1
            i += 1
        elif c in ' \t\r':
            i += 1
        elif c in '=[],':
            yield c, c, line
            i += 1
        elif c == '"':
            start_line, out, i = line, [], i + 1
            while True:
                if i >= n:
                    raise ProbeSyntaxError('line %d: unterminated string' % start_line)
                c = text[i]
                if c == '"':
                    i += 1
                    break
                # As oned's lexer: \" is a quote, any other backslash is
                # itself.
                if c == '\\' and i + 1 < n and text[i + 1] == '"':
                    out.append('"')
                    i += 2
                    continue
                if c == '\n':
                    line += 1
                out.append(c)
                i += 1
            yield 'string', ''.join(out), start_line
        elif c.isalnum() or c == '_':
            j = i
            while j < n and (text[j].isalnum() or text[j] == '_'):
                j += 1
            yield 'word', text[i:j], line
            i = j
        else:
            raise ProbeSyntaxError('line %d: unexpected character %r' % (line, c))


def parse_probe(text):
    """Return a list of blocks, each (line, [(KEY, VALUE), ...]) in text order."""
    toks = list(tokenize(text))
    pos = 0

    def expect(kind, what=None):
        nonlocal pos
        if pos >= len(toks):
            raise ProbeSyntaxError('end of text: expected %s' % (what or kind))
        k, v, ln = toks[pos]
        if k != kind or (what is not None and v != what):
            raise ProbeSyntaxError('line %d: expected %s, found %r' % (ln, what or kind, v))
        pos += 1
        return v, ln

    blocks = []
    while pos < len(toks):
        _, ln = expect('word', 'PCI')
        expect('=')
        expect('[')
        pairs = []
        while True:
            key, _ = expect('word')
            expect('=')
            value, _ = expect('string')
            pairs.append((key, value))
            if pos < len(toks) and toks[pos][0] == ',':
                pos += 1
                if pos < len(toks) and toks[pos][0] == ']':
                    raise ProbeSyntaxError('line %d: comma before "]"' % toks[pos][2])
                continue
            expect(']')
            break
        blocks.append((ln, pairs))
    return blocks


# ---- what the dump says ----------------------------------------------------

def colon_addr(fn):
    """OpenNebula's all-colon address: 0000:41:00:7."""
    return '%04x:%02x:%02x:%x' % (fn.domain, fn.bus, fn.slot, fn.func)


def sriov_role(fn):
    if fn.sriov is not None:
        return 'pf'
    if fn.physfn is not None:
        return 'vf'
    return 'no'


def expected_fields(fn):
    """Field -> expected value, or a set of accepted values (IFNAME)."""
    want = {
        'VENDOR': '%04x' % fn.vendor,
        'DEVICE': '%04x' % fn.device,
        'CLASS': '%04x' % fn.cls,
        'TYPE': '%04x:%04x:%04x' % (fn.vendor, fn.device, fn.cls),
        'ADDRESS': colon_addr(fn),
        'SHORT_ADDRESS': ('%04x:' % fn.domain if fn.domain else '') +
        '%02x:%02x.%x' % (fn.bus, fn.slot, fn.func),
        'DOMAIN': '%04x' % fn.domain,
        'BUS': '%02x' % fn.bus,
        'SLOT': '%02x' % fn.slot,
        'FUNCTION': '%x' % fn.func,
        'DRIVER': fn.driver or '-',
        'IOMMU_GROUP': fn.iommu if fn.iommu is not None else '-',
        'NUMA_NODE': str(fn.numa) if fn.numa >= 0 else '-',
        # Of several interfaces OpenNebula names the "p<N>" port, which a
        # dump does not show: none.
        'IFNAME': fn.ifnames[0] if len(fn.ifnames) == 1 else '-',
        'SRIOV': sriov_role(fn),
        'PHYSFN': colon_addr(fn.physfn) if fn.physfn else '-',
    }
    if fn.sriov is not None:
        want['SRIOV_NUM'] = str(fn.sriov.num)
    return want


def expected_keys(fn):
    extra = ['SRIOV_NUM'] if fn.sriov is not None else []
    return KEYS_BEFORE_SRIOV_NUM + extra + KEYS_AFTER_SRIOV_NUM


def load_dump(path):
    fns = lspci2sysfs.parse_dump(lspci2sysfs.read_dump(path))
    lspci2sysfs.link_sriov(fns)     # fills physfn/virtfns
    return fns


# ---- comparing -------------------------------------------------------------

def check_block(fn, pairs):
    """Mismatches of one device's block, as strings."""
    addr = colon_addr(fn)
    errs = []
    keys = [k for k, _ in pairs]
    if keys != expected_keys(fn):
        errs.append('%s: keys are %s, want %s' % (addr, ' '.join(keys), ' '.join(expected_keys(fn))))
    got = {}
    for k, v in pairs:
        if k in got:
            errs.append('%s: %s given twice' % (addr, k))
        got.setdefault(k, v)
    for k, want in expected_fields(fn).items():
        if k not in got:
            continue            # already reported by the key check
        ok = got[k] in want if isinstance(want, set) else got[k] == want
        if not ok:
            shown = '/'.join(sorted(want)) if isinstance(want, set) else want
            errs.append('%s: %s is "%s", want "%s"' % (addr, k, got[k], shown))
    if fn.sriov is None and 'SRIOV_NUM' in got:
        errs.append('%s: SRIOV_NUM on a function that is not a PF' % addr)
    for k in NAME_KEYS:
        if k in got and not got[k]:
            errs.append('%s: %s is empty' % (addr, k))
    return errs


def load_left_out(path):
    """ADDRESS -> reason, from a probe's -v log."""
    out = {}
    with open(path, encoding='utf-8') as f:
        for line in f:
            m = re.match(r'probe: (\S+) left out: (.*)$', line.rstrip('\n'))
            if m:
                out[m.group(1)] = m.group(2)
    return out


def compare(fns, blocks, left_out=None):
    """All mismatches between the dump's functions and the probe's blocks."""
    left_out = left_out or {}
    errs = []
    by_addr = {}
    for ln, pairs in blocks:
        addr = dict(pairs).get('ADDRESS')
        if addr is None:
            errs.append('block at line %d has no ADDRESS' % ln)
        elif addr in by_addr:
            errs.append('%s: listed twice (line %d)' % (addr, ln))
        else:
            by_addr[addr] = pairs
    want = {colon_addr(fn): fn for fn in fns}
    for addr, why in sorted(left_out.items()):
        if addr not in want:
            errs.append('%s: left out, not in the dump' % addr)
        elif addr in by_addr:
            errs.append('%s: left out (%s) and listed' % (addr, why))
        elif not why:
            errs.append('%s: left out without a reason' % addr)
        want.pop(addr, None)
    for addr in sorted(set(want) - set(by_addr)):
        errs.append('%s: in the dump, missing from the probe' % addr)
    for addr in sorted(set(by_addr) - set(want)):
        errs.append('%s: in the probe, not in the dump' % addr)
    for addr in sorted(set(want) & set(by_addr)):
        errs += check_block(want[addr], by_addr[addr])
    return errs


def main(argv):
    if len(argv) not in (3, 4):
        print('usage: %s DUMP PROBE_OUTPUT_FILE [PROBE_LOG]' % argv[0], file=sys.stderr)
        return 2
    try:
        fns = load_dump(argv[1])
        with open(argv[2], encoding='utf-8') as f:
            blocks = parse_probe(f.read())
        left_out = load_left_out(argv[3]) if len(argv) == 4 else {}
    except (OSError, ValueError, ProbeSyntaxError) as e:
        print('probe_check: %s' % e)
        return 1
    errs = compare(fns, blocks, left_out)
    for e in errs:
        print(e)
    if errs:
        print('probe_check: %d mismatches (%d devices in the dump, %d blocks in the probe)'
              % (len(errs), len(fns), len(blocks)))
        return 1
    print('probe_check: OK: %d devices match %s' % (len(fns), os.path.basename(argv[1])))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
