#!/usr/bin/env python3
"""Print the benchmark table (markdown) from bench/run.sh's JSON lines.

usage: report.py RESULTS_DIR
"""
import json
import os
import statistics
import sys

D = sys.argv[1]


def lines(name):
    p = os.path.join(D, name)
    if not os.path.exists(p):
        return []
    with open(p) as f:
        return [json.loads(l) for l in f if l.strip()]


def mmm(v):
    v = sorted(v)
    return v[0], statistics.median(v), v[-1]


def fmt(x, nd=1):
    if x is None:
        return '-'
    if abs(x) >= 100:
        return '{:,.0f}'.format(x)
    return '{:.{}f}'.format(x, nd)


rows = []      # (section, case, min, med, max, unit, note)
targets = []   # (what, target, measured, verdict)


def row(sec, case, v, unit, note='', nd=1):
    if not v:
        rows.append((sec, case, '-', '-', '-', unit, note or 'not run'))
        return None
    a, m, b = mmm(v)
    rows.append((sec, case, fmt(a, nd), fmt(m, nd), fmt(b, nd), unit, note))
    return m


machine = lines('machine.json')
m0 = machine[0] if machine else {}

# 1. inventory
inv = lines('inventory.jsonl')
sizes = sorted({r['size'] for r in inv})
med = {}
for n in sizes:
    for tool, label in (('probe', 'pcipassd --probe'), ('lspci', 'lspci -mmnn -D'),
                        ('pci.rb', "OpenNebula's pci.rb (bench/pci_rb.rb)"),
                        ('improbe', 'IM probe, daemon running (dist/opennebula/im/pci.rb)')):
        t = [x * 1000 for r in inv if r['size'] == n and r['tool'] == tool for x in r['times']]
        if not t:
            continue
        m = statistics.median(t)
        med[(n, tool)] = m
        note = '%.1f us/device' % (m * 1000 / n)
        if tool in ('probe', 'pci.rb') and (n, 'lspci') in med:
            note += ', %.2fx lspci' % (m / med[(n, 'lspci')])
        if tool == 'improbe' and (n, 'pci.rb') in med:
            note += ', %.1fx faster than pci.rb' % (med[(n, 'pci.rb')] / m)
        row('inventory', '%s, %d devices' % (label, n), t, 'ms', note)
if sizes:
    worst = max((med[(n, 'probe')] / med[(n, 'lspci')], n) for n in sizes
                if (n, 'probe') in med and (n, 'lspci') in med)
    targets.append(('--probe vs lspci -mmnn, every size', '<= 1.00x',
                    '%.2fx at %d devices (worst)' % worst, worst[0] <= 1.0))
    sp = [(med[(n, 'pci.rb')] / med[(n, 'improbe')], n) for n in sizes
          if (n, 'pci.rb') in med and (n, 'improbe') in med]
    if sp:
        least = min(sp)
        targets.append(("IM probe vs OpenNebula's pci.rb, every size", '>= 10x faster',
                        '%.1fx at %d devices (least)' % least, least[0] >= 10))
    else:
        targets.append(("IM probe vs OpenNebula's pci.rb, every size", '>= 10x faster',
                        'NOT RUN', None))

# 2. RPC
rpc = lines('rpc.jsonl')
floors = [r['floor']['commits_per_s'] for r in lines('floor.jsonl')]
labels = {'version': 'pci.version', 'list': 'pci.list', 'cycle':
          'allocate+release (multicall)', 'test': 'pci.test'}
keys = []
def key(r):     # wrk unless the point says otherwise (bench/rpcload.c)
    return (r['call'], r['size'], r['conns'], r.get('client', 'wrk'))
for r in rpc:
    if key(r) not in keys:
        keys.append(key(r))
order = {'version': 0, 'list': 1, 'cycle': 2, 'test': 3}
keys.sort(key=lambda k: (order[k[0]], k[1], k[3], k[2]))
res = {}
for k in keys:
    rs = [r for r in rpc if key(r) == k]
    ok = [r['wrk'] for r in rs if r['wrk']]
    faults = sum(w['faults'] + w['socket_errors'] + w['non2xx'] for w in ok)
    name = '%s, %d dev, %d conn%s' % (labels[k[0]], k[1], k[2],
                                      '' if k[3] == 'wrk' else ' (%s)' % k[3])
    rps = [w['rps'] for w in ok]
    p50 = statistics.median([w['p50_ms'] for w in ok]) if ok else None
    p99 = [w['p99_ms'] for w in ok]
    note = 'p50 %s ms, p99 %s ms (median of runs; p99 max %s ms)' % (
        fmt(p50, 2), fmt(statistics.median(p99), 2) if p99 else '-',
        fmt(max(p99), 2) if p99 else '-')
    if faults:
        note += ', %d failed answers' % faults
    if k[0] == 'cycle':
        fb = [r['floor_before']['commits_per_s'] for r in rs if r.get('floor_before')]
        ratios = [2 * w['rps'] / r['floor_before']['commits_per_s'] for r, w in
                  zip(rs, [r['wrk'] for r in rs]) if w and r.get('floor_before')]
        if ratios:
            note += '; %.0f%% of the fsync floor measured just before (2 commits/cycle, floor median %s commits/s)' % (
                100 * statistics.median(ratios), fmt(statistics.median(fb)))
    res[k[:3] if k[3] == 'wrk' else k] = (statistics.median(rps) if rps else None,
              statistics.median(p99) if p99 else None, faults)
    row('rpc', name, rps, 'calls/s' if k[0] != 'cycle' else 'cycles/s', note)
row('rpc', 'sqlite floor: WAL, synchronous=FULL, 1-row commits', floors,
    'commits/s', 'bench/sqlite_floor.c, same disk')
for r in lines('cli.jsonl'):
    rows.append(('rpc', 'pci.list 4096 dev through the CLI (pcipass list)',
                 '', '', '', '', r.get('cli_list_4096', '') +
                 (' (%s lines)' % r['lines'] if 'lines' in r else '') +
                 (': ' + r['error'] if 'error' in r else '')))

if ('version', 256, 16) in res:
    v = res[('version', 256, 16)][0]
    targets.append(('pci.version at 16 conns', '>= 20,000 calls/s', fmt(v), v >= 20000))
if ('cycle', 256, 16) in res:
    v, p99, f = res[('cycle', 256, 16)]
    targets.append(('allocate+release at 16 conns', '>= 2,000 cycles/s, p99 < 10 ms',
                    '%s cycles/s, p99 %s ms%s' % (fmt(v), fmt(p99, 2),
                                                  ', %d failed' % f if f else ''),
                    v >= 2000 and p99 < 10 and not f))
if ('list', 256, 16) in res:
    v = res[('list', 256, 16)][0]
    targets.append(('pci.list 256 dev at 16 conns', '>= 2,000 calls/s', fmt(v), v >= 2000))
if ('list', 4096, 16, 'rpcload') in res:
    v, p99, f = res[('list', 4096, 16, 'rpcload')]
    targets.append(('pci.list 4096 dev at 16 conns (rpcload)', 'p99 < 250 ms',
                    '%s ms (%s calls/s)%s' % (fmt(p99, 2), fmt(v),
                                              ', %d failed' % f if f else ''),
                    p99 < 250 and not f))
    if ('list', 4096, 200, 'rpcload') in res:
        w, _, f2 = res[('list', 4096, 200, 'rpcload')]
        targets.append(('pci.list 4096 dev, 200 conns vs 16 (rpcload)', '>= 80%',
                        '%.0f%% (%s vs %s calls/s)%s' % (100 * w / v, fmt(w), fmt(v),
                                                         ', %d failed' % f2 if f2 else ''),
                        w >= 0.8 * v and not f2))
for r in lines('cli.jsonl'):
    s = r.get('cli_list_4096', '')
    targets.append(('pci.list 4096 dev from the CLI', 'works', s,
                    None if s.startswith('not run') else s == 'ok'))

# Under load
load = lines('load.jsonl')
for point, label, unit in (('idle', 'pci.version, 256 dev, 16 conn, 1,000 idle connections held', 'calls/s'),
                           ('test4096', 'pci.test, 4096 dev, 16 conn', 'calls/s'),
                           ('rescan', 'pci.test, 4096 dev, 16 conn, during full rescans', 'calls/s'),
                           ('rescan-change', 'pci.test, 4096 dev, 16 conn, during full rescans that each find a change', 'calls/s')):
    ws = [r['wrk'] for r in load if r['point'] == point and r['wrk']]
    if not ws:
        continue
    p99 = statistics.median([w['p99_ms'] for w in ws])
    note = 'p99 %s ms (median of runs; max %s ms)' % (fmt(p99, 2), fmt(max(w['p99_ms'] for w in ws), 2))
    if point.startswith('rescan'):
        note += '; %s rescans per run' % ', '.join(str(r['rescans']) for r in load if r['point'] == point)
    f = sum(w['faults'] + w['socket_errors'] + w['non2xx'] for w in ws)
    if f:
        note += ', %d failed answers' % f
    row('load', label, [w['rps'] for w in ws], unit, note)
    if point == 'idle':
        targets.append(('pci.version p99 with 1,000 idle connections held', '< 100 ms',
                        '%s ms' % fmt(p99, 2), p99 < 100 and not f))
    if point == 'rescan':
        targets.append(('pci.test p99 at 16 conns during rescans of 4096 dev', '< 10 ms',
                        '%s ms' % fmt(p99, 2), p99 < 10 and not f))
    if point == 'rescan-change':
        targets.append(('the same, each rescan finding a change', '< 10 ms',
                        '%s ms' % fmt(p99, 2), p99 < 10 and not f))

# 3. placement
pl = lines('place.jsonl')
if pl and 'status' in pl[0]:
    rows.append(('placement', 'pcipass place over 10/50/100 hosts', '', '', '', '',
                 'NOT RUN: ' + pl[0]['status']))
    targets.append(('placement, 100 hosts, median', '< 100 ms', 'NOT RUN', None))
    targets.append(('placement with dead/silent hosts', '< deadline + 100 ms', 'NOT RUN', None))
elif pl:
    for n in (10, 50, 100):
        for mode, label in (('live', 'all answer'), ('faulty', '10% refuse, 10% silent')):
            rs = [r for r in pl if r['hosts'] == n and r['mode'] == mode]
            if not rs:
                continue
            bad = sum(1 for r in rs if r['rc'] != 0)
            m = row('placement', '%d hosts, %s' % (n, label), [r['ms'] for r in rs], 'ms',
                    'deadline %d ms%s' % (rs[0]['deadline_ms'],
                                          ', %d without a placement' % bad if bad else ''), 0)
            if n == 100 and mode == 'live':
                targets.append(('placement, 100 hosts, median', '< 100 ms', '%s ms' % fmt(m, 0),
                                m < 100 and not bad))
            if mode == 'faulty':
                mx = max(r['ms'] for r in rs)
                dl = rs[0]['deadline_ms']
                targets.append(('placement, %d hosts with dead/silent, max' % n,
                                '< %d ms' % (dl + 100), '%d ms' % mx, mx < dl + 100 and not bad))

# 4. footprint
for r in lines('footprint.jsonl'):
    rows.append(('footprint', '%s: %s' % (r['daemon'], r['when']), '', '%.1f' % (r['VmRSS'] / 1024),
                 '', 'MB VmRSS', 'VmHWM %.1f MB' % (r['VmHWM'] / 1024)))
peak = {}
for r in lines('footprint.jsonl'):
    n = int(r['daemon'][1:])
    if '200 conns' in r['when']:    # no target: shown in its row only
        continue
    peak.setdefault((n, r['daemon'][0]), 0)
    peak[(n, r['daemon'][0])] = max(peak[(n, r['daemon'][0])], r['VmHWM'])
for r in lines('dbsize.jsonl'):
    rows.append(('footprint', 'database, %d devices (db+wal+shm)' % r['db'], '',
                 '%.0f' % (r['bytes'] / 1024), '', 'KB', 'main file %.0f KB' % (r['main'] / 1024)))
if (4096, 'f') in peak:
    v = peak[(4096, 'f')] / 1024
    targets.append(('peak RSS, 4096 dev (allocate + list at 16 conns)', '< 16 MB',
                    '%.1f MB' % v, v < 16))
if (4096, 'd') in peak:
    v = peak[(4096, 'd')] / 1024
    targets.append(('peak RSS, 4096 dev, whole RPC series (list up to 200 conns)',
                    '< 16 MB', '%.1f MB' % v, v < 16))

print('Machine: %s cores, %s, memory %s, disk %s (%s), kernel %s; load average at '
      'start %s%s.' % (m0.get('nproc'), m0.get('cpu'), m0.get('mem'), m0.get('disk'),
                       m0.get('fs'), m0.get('kernel'), m0.get('loadavg_start'),
                       ', at end ' + lines('end.json')[0]['loadavg_end'] if lines('end.json') else ''))
print('Runs: %s repetitions of %s s per RPC point%s.' % (
    m0.get('reps'), m0.get('dur'), ' (BENCH_QUICK)' if m0.get('quick') else ''))
print()
print('| section | case | min | median | max | unit | notes |')
print('|---|---|--:|--:|--:|---|---|')
for r in rows:
    print('| %s |' % ' | '.join(str(x) for x in r))
print()
print('| target | wanted | measured | verdict |')
print('|---|---|---|---|')
for what, want_, got, ok in targets:
    print('| %s | %s | %s | %s |' % (what, want_, got,
                                    'not run' if ok is None else 'met' if ok else 'MISSED'))
