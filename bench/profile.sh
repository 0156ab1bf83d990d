#!/usr/bin/env bash
# Callgrind profiles of the daemon's hot paths on the 256-device tree:
# pci.version, allocate+release cycles, pci.test (wrk, 4 connections, 8 s
# each under valgrind). Outputs BUILD/profile/CALL.out and CALL.txt
# (callgrind_annotate --inclusive=yes). Run make bench (or its tree step)
# first so that $BENCH_DIR/tree-256 exists.
#
# usage: bash bench/profile.sh BUILD_DIR
set -euo pipefail
BUILD=$(cd "${1:?usage: bench/profile.sh BUILD_DIR}" && pwd)
SRC=$(pwd)
W=${BENCH_DIR:-/tmp/pcipass-bench}
P=$BUILD/profile
PORT=${BENCH_PROFILE_PORT:-26450}
mkdir -p "$P" "$W/proc"
[ -d "$W/tree-256" ] || { echo "profile: no $W/tree-256: run make bench first" >&2; exit 1; }
for call in version cycle test; do
	rm -f "$W/cg.db" "$W/cg.db-wal" "$W/cg.db-shm" "$W/.cg.db.ledger"
	valgrind --tool=callgrind --callgrind-out-file="$P/$call.out" \
	    "$BUILD/pcipassd" -d --listen 127.0.0.1 --port "$PORT" \
	    --sysfs-root "$W/tree-256" --proc-root "$W/proc" \
	    --filter "$W/pci.conf" --db "$W/cg.db" --auth "$W/auth" \
	    --rescan 0 > /dev/null 2> "$P/$call.log" &
	vp=$!
	# Under valgrind the first scan takes seconds: wait for the port.
	python3 "$SRC/tests/wait_ready.py" 127.0.0.1 "$PORT" "$vp" 120
	BENCH_CALL=$call wrk -t1 -c4 -d8s -s "$SRC/bench/wrk/rpc.lua" \
	    "http://127.0.0.1:$PORT/RPC2" | tail -n1
	kill "$vp"
	wait "$vp" || true
	callgrind_annotate --inclusive=yes "$P/$call.out" > "$P/$call.txt" 2>/dev/null
	echo "profile: $P/$call.txt"
done
