#!/usr/bin/env python3
"""Check one XML-RPC answer against assertions (python3 stdlib only).

Usage: check.py ANSWER.xml ASSERTION...
       check.py --show ANSWER.xml        print the decoded answer as JSON

pcipass answers are [ok, value, code]. Assertions:
  ok             ok is true and code is 0
  code=N         ok is false and code is N (decimal or 0x...)
  fault=N        a standard XML-RPC fault with faultCode N
  msg~RE         the failure message matches RE
  PATH=VALUE     the value at PATH, as text, equals VALUE
  PATH!=VALUE    ... differs from VALUE
  PATH~RE        ... matches the regular expression RE (re.search)
  #PATH=N        the array, struct or string at PATH has N items
  none:KEY=VALUE no element of the (array) value has member KEY = VALUE
PATH walks into the value (without the ok/code wrapper): `.` is the
value itself, then dot-separated steps: an array index, a struct member,
or [KEY=VALUE], the array element whose member KEY equals VALUE.
Booleans compare as true/false. Exit 0 when all hold, else 1 with the
first that failed.
"""

import json
import re
import sys
import xmlrpc.client


def load(path):
    with open(path, 'rb') as f:
        data = f.read()
    if not data.strip():
        raise ValueError('empty answer (no HTTP response body)')
    try:
        (params,), _ = xmlrpc.client.loads(data)
    except xmlrpc.client.Fault as e:
        return ('fault', e.faultCode, e.faultString)
    return ('answer', params)


def split_path(path):
    steps, cur, depth = [], '', 0
    for ch in path:
        if ch == '[':
            depth += 1
        elif ch == ']':
            depth -= 1
        if ch == '.' and depth == 0:
            if cur:
                steps.append(cur)
            cur = ''
        else:
            cur += ch
    if cur:
        steps.append(cur)
    return steps


def walk(value, path):
    for step in split_path(path):
        if step.startswith('[') and step.endswith(']'):
            key, _, want = step[1:-1].partition('=')
            if not isinstance(value, list):
                raise KeyError('%s: not an array' % step)
            hits = [v for v in value
                    if isinstance(v, dict) and text(v.get(key)) == want]
            if not hits:
                raise KeyError('no element with %s=%s' % (key, want))
            value = hits[0]
        elif isinstance(value, list):
            value = value[int(step)]
        elif isinstance(value, dict):
            if step not in value:
                raise KeyError('no member %s (have %s)' %
                               (step, ','.join(sorted(value))))
            value = value[step]
        else:
            raise KeyError('%s: not an array or struct' % step)
    return value


def text(v):
    if isinstance(v, bool):
        return 'true' if v else 'false'
    if v is None:
        return ''
    return str(v)


OP = re.compile(r'^(#?)((?:[^\[=!~]|\[[^\]]*\])*)(!=|=|~)(.*)$', re.S)


def check(answer, a):
    if answer[0] == 'fault':
        m = re.match(r'^fault=(-?\d+)$', a)
        if m:
            if answer[1] == int(m.group(1)):
                return None
            return 'fault %d, expected %s' % (answer[1], m.group(1))
        return 'fault %d "%s" (for %s)' % (answer[1], answer[2], a)
    res = answer[1]
    if not (isinstance(res, list) and len(res) == 3 and
            isinstance(res[0], bool)):
        return 'not a pcipass answer: %r' % (res,)
    ok, value, code = res
    if a == 'ok':
        return None if ok and code == 0 else \
            'failed: %s (code %s)' % (value, code)
    m = re.match(r'^code=(\w+)$', a)
    if m:
        want = int(m.group(1), 0)
        if not ok and code == want:
            return None
        return 'ok=%s code=%s "%s", expected code %d' % (
            text(ok), code, value if not ok else '...', want)
    if a.startswith('fault='):
        return 'not a fault: ok=%s code=%s "%s"' % (
            text(ok), code, value if not ok else '...')
    if a.startswith('msg~'):
        if not ok and re.search(a[4:], value):
            return None
        return 'message %r does not match %r' % (
            value if not ok else None, a[4:])
    if not ok:
        return 'failed: %s (code %s)' % (value, code)
    if a.startswith('none:'):
        key, _, want = a[5:].partition('=')
        hits = [text(v.get('ADDRESS', v)) for v in value
                if isinstance(v, dict) and text(v.get(key)) == want]
        return '%s: found %s' % (a, ' '.join(hits)) if hits else None
    m = OP.match(a)
    if not m:
        return 'bad assertion %r' % a
    count, path, op, want = m.groups()
    try:
        got = walk(value, path.strip() or '.')
    except (KeyError, IndexError, ValueError) as e:
        return '%s: %s' % (a, e)
    got = str(len(got)) if count else text(got)
    if op == '=' and got == want or op == '!=' and got != want or \
            op == '~' and re.search(want, got):
        return None
    if len(got) > 300:
        got = got[:300] + '...'
    return '%s: got %r' % (a, got)


def main(argv):
    if len(argv) == 3 and argv[1] == '--show':
        print(json.dumps(load(argv[2]), indent=1, default=str))
        return 0
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        answer = load(argv[1])
    except Exception as e:  # not XML-RPC at all: say what came back
        with open(argv[1], 'rb') as f:
            head = f.read(200)
        print('unreadable answer (%s): %r' % (e, head))
        return 1
    for a in argv[2:]:
        err = check(answer, a)
        if err:
            print(err)
            return 1
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
