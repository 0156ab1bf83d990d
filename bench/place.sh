#!/usr/bin/env bash
# Placement: `pcipass place` over 10, 50 and 100 daemons, each on its own
# loopback address (127.0.1.x) and its own small tree (two root ports and
# four GPU + audio pairs on vfio-pci), time to a decision. Then the same
# with 10% of the hosts refusing connections (127.0.2.x: nothing listens)
# and 10% accepting but never answering (127.0.3.x: bench/silent.py).
#
# usage: bench/place.sh BUILD_DIR SCRATCH OUT REPS
set -euo pipefail
BUILD=$1 W=$2 OUT=$3 REPS=$4
SRC=$(pwd)
PCIPASSD=$BUILD/pcipassd PCIPASS=$BUILD/pcipass
PORT=${BENCH_PLACE_PORT:-26500} DEADLINE=${BENCH_DEADLINE_MS:-1000}
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]:-}"; do [ -n "$p" ] && wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT
log() { printf 'bench: %s\n' "$*" >&2; }

P=$W/place
rm -rf "$P"
mkdir -p "$P"
python3 "$SRC/bench/gen_dump.py" 10 > "$P/dump"
python3 "$SRC/tests/lspci2sysfs.py" "$P/dump" "$P/tree0" 2>/dev/null
log "placement: 100 daemons"
for i in $(seq 1 100); do
	cp -a "$P/tree0" "$P/tree$i"
	"$PCIPASSD" -d --listen "127.0.1.$i" --port $PORT \
	    --sysfs-root "$P/tree$i" --proc-root "$W/proc" \
	    --filter "$W/pci.conf" --db "$P/d$i.db" --auth "$W/auth" \
	    --rescan 0 > "$P/d$i.out" 2> "$P/d$i.log" &
	PIDS+=($!)
done
# the silent hosts: accept, never answer, gone after a bounded time
python3 "$SRC/bench/silent.py" $PORT 600 $(for i in $(seq 1 10); do echo "127.0.3.$i"; done) &
PIDS+=($!)
for i in $(seq 1 100); do
	for _ in $(seq 1 100); do
		curl -s -o /dev/null -m 1 -H 'Content-Type: text/xml' --data \
		    '<?xml version="1.0"?><methodCall><methodName>pci.version</methodName><params><param><value>x</value></param></params></methodCall>' \
		    "http://127.0.1.$i:$PORT/RPC2" && break
		sleep 0.05
	done
done

vm=1000
ms() { echo $(( $(date +%s%N) / 1000000 )); }
for n in 10 50 100; do
	for mode in live faulty; do
		hosts=()
		if [ $mode = live ]; then
			for i in $(seq 1 $n); do hosts+=(-H "127.0.1.$i:$PORT"); done
		else
			k=$((n / 10))
			# the bad hosts come first, so the first-fit policy has to
			# get past them
			for i in $(seq 1 $k); do hosts+=(-H "127.0.2.$i:$PORT"); done
			for i in $(seq 1 $k); do hosts+=(-H "127.0.3.$i:$PORT"); done
			for i in $(seq 1 $((n - 2 * k))); do hosts+=(-H "127.0.1.$i:$PORT"); done
		fi
		for rep in $(seq 1 "$REPS"); do
			vm=$((vm + 1))
			t0=$(ms)
			set +e
			PCIPASS_AUTH=$W/auth "$PCIPASS" place $vm "${hosts[@]}" \
			    --pci CLASS=0302 --deadline "$DEADLINE" > "$P/out" 2> "$P/err"
			rc=$?
			set -e
			t1=$(ms)
			won=$(sed -n 's/^HOST //p' "$P/out" | head -n1)
			echo "{\"hosts\": $n, \"mode\": \"$mode\", \"rep\": $rep, \"ms\": $((t1 - t0)), \"rc\": $rc, \"host\": \"$won\", \"deadline_ms\": $DEADLINE}" >> "$OUT/place.jsonl"
			[ $rc = 0 ] || log "place: rc $rc: $(head -c 300 "$P/err")"
			if [ -n "$won" ]; then
				PCIPASS_AUTH=$W/auth "$PCIPASS" release $vm -H "$won" > /dev/null 2>&1 || true
			fi
		done
	done
done
