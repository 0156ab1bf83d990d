#!/bin/sh
# make stress: the long runs behind docs/RELIABILITY.md. Each run starts
# its own pcipassd on a fresh fake tree and database (loopback only).
#   1. load:   CLIENTS clients for SECONDS, no kills
#   2. crash:  the same with KILLS kill -9 and restarts
#   3. crash on a second fixture (IOMMU groups with host-driver siblings)
#   4. power-cut: CUTS power cuts (tests/stress/powercut.c, POWERCUT_SO):
#      only what was flushed survives, later writes in part, torn
#   5. hostile HTTP/XML, slow ones included (hostile.py), with figures
set -u
: "${CLIENTS:=32}" "${SECONDS:=60}" "${KILLS:=25}" "${CUTS:=25}"
: "${POWERCUT_SO:?}"
: "${FIXTURES:?}" "${STRESS:?}" "${PCIPASSD:?}"
src=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/pcipass-stress.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
status=0

port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

setup() {	# setup DIR FIXTURE
	mkdir -p "$1"
	python3 "$src/tests/lspci2sysfs.py" "$FIXTURES/$2" "$1/sys" \
	    2>"$1/convert.log" || exit 2
	echo "oneadmin:stress-secret" > "$1/auth"
	chmod 600 "$1/auth"
	echo ":filter: '*:*'" > "$1/pci.conf"
}

run() {		# run NAME FIXTURE ARGS...
	name=$1 fx=$2
	shift 2
	d=$work/$name p=$(port)
	setup "$d" "$fx"
	echo "== $name: $fx $*"
	echo "   $STRESS --port $p --db DB $* -- pcipassd ..."
	"$STRESS" --port "$p" --db "$d/db" --log "$d/log" "$@" -- \
	    "$PCIPASSD" -d --listen 127.0.0.1 --port "$p" --sysfs-root \
	    "$d/sys" --filter "$d/pci.conf" --db "$d/db" --auth "$d/auth" \
	    --proc-root /nonexistent --rescan 0 2>&1 | sed 's/^/   /'
}

ms01=minisforum-ms01-pve-igpu-sriov-5vfs.txt
legion=lenovo-legion5-15ach6-rtx3050ti-iommu.txt
out=$work/out
{
run load "$ms01" --clients "$CLIENTS" --seconds "$SECONDS"
run crash "$ms01" --clients "$CLIENTS" --seconds "$SECONDS" \
    --kills "$KILLS"
run crash-legion "$legion" --clients "$CLIENTS" \
    --seconds "$((SECONDS / 2))" --kills "$((KILLS / 2))"
run power-cut "$ms01" --clients "$CLIENTS" --seconds "$SECONDS" \
    --power-cuts "$CUTS"
} | tee "$out"
n=$(grep -c 'stress: OK' "$out")
echo "== stress runs OK: $n of 4"
[ "$n" -eq 4 ] || status=1

d=$work/hostile p=$(port)
setup "$d" "$ms01"
"$PCIPASSD" -d --listen 127.0.0.1 --port "$p" --sysfs-root "$d/sys" \
    --filter "$d/pci.conf" --db "$d/db" --auth "$d/auth" --rescan 0 \
    --proc-root /nonexistent 2>"$d/log" &
pid=$!
echo "== hostile: pcipassd pid $pid on 127.0.0.1:$p"
# It listens once its first scan is stored: wait for that, never a guess.
if python3 "$src/tests/wait_ready.py" 127.0.0.1 "$p" "$pid" 60; then
	python3 "$src/tests/stress/hostile.py" "$p" "$pid" || status=1
	kill "$pid"
	wait "$pid" || { echo "pcipassd did not exit 0"; status=1; }
else
	sed 's/^/   /' "$d/log"
	kill "$pid" 2>/dev/null
	status=1
fi
exit $status
