#!/bin/sh
# Check tests/lspci2sysfs.py against the real lspci dumps: convert each dump
# into a fake sysfs tree, let the system's lspci (libpci 3.9) read the tree,
# and compare what it prints with what the dump says.
#
# usage: tests/check_trees.sh [DUMP...]
#   default: every *.txt in ${FIXTURES:-../shared/fixtures/lspci}, a path
#   relative to the repository root.
#
# Compared, per function (names are not: pci.ids differs between hosts):
#   lspci -nn -D:   address (domain added where the dump has none), class
#                   code, vendor:device, revision
#   lspci -vvnnk -D: the same plus prog-if, and the one-tab lines
#                   Subsystem ids, DeviceName, Interrupt, Bus, NUMA node,
#                   IOMMU group, Kernel driver in use.
#   (-vv, not -v: with -v lspci folds NUMA node and IOMMU group into the
#   "Flags:" line instead of printing them as lines of their own.)
# Any lspci message on stderr other than libkmod's (no modules for this
# kernel in a container) fails the dump: the tree must not make lspci warn.
#
# Prints a line per dump, then "N passed, N failed"; exits 1 on a failure.

set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
cd "$root" || exit 2
FIXTURES=${FIXTURES:-../shared/fixtures/lspci}

work=$(mktemp -d "${TMPDIR:-/tmp}/check_trees.XXXXXX") || exit 2
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM HUP PIPE   # so the EXIT trap cleans up

# facts MODE FILE: one normalised line per compared fact, sorted.
# MODE "hdr" gives header facts only (what lspci -nn prints), "vv" all.
# Written for mawk: no {n} repetitions, no match() arrays.
facts() {
    awk -v mode="$1" '
    function hex(n,   s, i) { s = ""; for (i = 0; i < n; i++) s = s "[0-9a-f]"; return s }
    BEGIN {
        addr_re = "^(" hex(4) ":)?" hex(2) ":" hex(2) "\\.[0-7] "
        ids_re = "\\[" hex(4) ":" hex(4) "\\] *$"
        cls_re = "\\[" hex(4) "\\]: "
    }
    { sub(/\r$/, "") }
    $0 ~ addr_re {
        addr = $1
        if (addr !~ ("^" hex(4) ":")) addr = "0000:" addr
        s = $0
        progif = "00"
        if (match(s, " \\(prog-if " hex(2))) { progif = substr(s, RSTART + 10, 2); s = substr(s, 1, RSTART - 1) }
        rev = "00"
        if (match(s, " \\(rev " hex(2) "\\)$")) { rev = substr(s, RSTART + 6, 2); s = substr(s, 1, RSTART - 1) }
        ids = "?"
        if (match(s, ids_re)) ids = substr(s, RSTART + 1, 9)
        cls = "?"
        if (match(s, cls_re)) cls = substr(s, RSTART + 1, 4)
        line = addr " class=" cls " ids=" ids " rev=" rev
        if (mode == "vv") line = line " progif=" progif
        print line
        next
    }
    mode != "vv" || addr == "" { next }
    /^\tSubsystem:/ {
        ids = "?"
        if (match($0, ids_re)) ids = substr($0, RSTART + 1, 9)
        print addr " Subsystem: " ids
        next
    }
    /^\t(DeviceName|Interrupt|Bus|NUMA node|IOMMU group|Kernel driver in use):/ {
        print addr " " substr($0, 2)
    }
    ' "$2" | LC_ALL=C sort
}

# lspci on the fake tree. -A linux-sysfs: without it a missing or broken
# tree makes libpci fall back to /proc or direct port I/O, and as root it
# would then list this host's real devices.
fake_lspci() {
    lspci -A linux-sysfs -O sysfs.path="$work/sys/bus/pci" "$@"
}

# check_one DUMP: returns 0 when everything matches; explains on stdout.
check_one() {
    dump=$1
    rm -rf "$work/sys" "$work"/*.out "$work"/*.err
    if ! python3 tests/lspci2sysfs.py "$dump" "$work/sys" 2>"$work/conv.err"; then
        echo "  lspci2sysfs failed:"; sed 's/^/    /' "$work/conv.err"
        return 1
    fi
    ok=0
    fake_lspci -nn -D >"$work/nn.out" 2>"$work/nn.err" || { echo "  lspci -nn exited $?"; ok=1; }
    fake_lspci -vvnnk -D >"$work/vv.out" 2>"$work/vv.err" || { echo "  lspci -vvnnk exited $?"; ok=1; }
    if grep -v 'libkmod' "$work/nn.err" "$work/vv.err" >"$work/warn.out"; then
        echo "  lspci warned:"; sed 's/^/    /' "$work/warn.out"; ok=1
    fi
    for mode in hdr vv; do
        facts "$mode" "$dump" >"$work/want.$mode"
        case $mode in hdr) got=nn.out ;; vv) got=vv.out ;; esac
        facts "$mode" "$work/$got" >"$work/got.$mode"
        if ! [ -s "$work/want.$mode" ]; then
            echo "  no device found in the dump"; ok=1
        elif ! diff -u "$work/want.$mode" "$work/got.$mode" >"$work/diff.$mode"; then
            echo "  $mode facts differ (- dump, + lspci on the tree):"
            sed -n '3,$p' "$work/diff.$mode" | grep '^[-+]' | head -20 | sed 's/^/    /'
            ok=1
        fi
    done
    return $ok
}

if [ $# -eq 0 ]; then
    set -- "$FIXTURES"/*.txt
    [ -e "$1" ] || { echo "no dumps in $FIXTURES" >&2; exit 2; }
fi

passed=0 failed=0
for dump; do
    name=$(basename "$dump")
    if check_one "$dump" >"$work/report"; then
        n=$(grep -c . "$work/want.hdr")
        echo "PASS $name ($n functions)"
        passed=$((passed + 1))
    else
        echo "FAIL $name"
        cat "$work/report"
        failed=$((failed + 1))
    fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
