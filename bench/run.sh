#!/usr/bin/env bash
# make bench: inventory, RPC, placement and footprint benchmarks of
# pcipassd on synthetic fake sysfs trees, loopback only. Results go to
# $OUT as JSON lines; bench/report.py prints the table from them.
#
# usage: bench/run.sh BUILD_DIR        (from the top of the repository)
# env:   BENCH_QUICK=1   a fast pass: shorter runs, fewer repetitions
#        BENCH_DIR=DIR   scratch space (trees, databases; default
#                        /tmp/pcipass-bench; on the disk to measure)
#        BENCH_ONLY="inventory rpc place footprint"   sections to run
set -euo pipefail

BUILD=${1:?usage: bench/run.sh BUILD_DIR}
BUILD=$(cd "$BUILD" && pwd)
SRC=$(pwd)
W=${BENCH_DIR:-/tmp/pcipass-bench}
OUT=$BUILD/bench-results
ONLY=${BENCH_ONLY:-inventory rpc place footprint}
PCIPASSD=$BUILD/pcipassd
PCIPASS=$BUILD/pcipass
FLOOR=$BUILD/sqlite_floor
SIZES="64 256 1024 4096"
CONNS="1 16 64 200"
if [ "${BENCH_QUICK:-0}" = 1 ]; then
	DUR=1 REPS=3 INV_RUNS=3 SHELL_RUNS=1 SHELL_RUNS_BIG=1 PLACE_REPS=3
else
	DUR=3 REPS=3 INV_RUNS=30 SHELL_RUNS=3 SHELL_RUNS_BIG=2 PLACE_REPS=5
fi
SESSION=oneadmin:secret
BASEPORT=26400

PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]:-}"; do
		[ -n "$p" ] && kill "$p" 2>/dev/null || true
	done
	for p in "${PIDS[@]:-}"; do
		[ -n "$p" ] && wait "$p" 2>/dev/null || true
	done
	PIDS=()
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { printf 'bench: %s\n' "$*" >&2; }
want() { case " $ONLY " in *" $1 "*) return 0;; esac; return 1; }

mkdir -p "$W" "$OUT"
rm -f "$OUT"/*.jsonl "$OUT"/*.txt
printf ":filter: '*:*'\n" > "$W/pci.conf"
printf '%s\n' "$SESSION" > "$W/auth"
chmod 600 "$W/auth"

# ---- the machine ---------------------------------------------------------
{
	printf '{"nproc": %s, ' "$(nproc)"
	printf '"cpu": "%s", ' "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)"
	printf '"mem": "%s", ' "$(free -h | awk '/^Mem:/ {print $2}')"
	dev=$(df --output=source "$W" | tail -n1)
	printf '"disk": "%s %s", ' "$dev" "$(df -h --output=size "$W" | tail -n1 | tr -d ' ')"
	printf '"fs": "%s", ' "$(df --output=fstype "$W" 2>/dev/null | tail -n1 | tr -d ' ')"
	printf '"kernel": "%s", ' "$(uname -r)"
	printf '"loadavg_start": "%s", ' "$(cut -d' ' -f1-3 /proc/loadavg)"
	printf '"quick": %s, "dur": %s, "reps": %s}\n' "${BENCH_QUICK:-0}" "$DUR" "$REPS"
} > "$OUT/machine.json"

# ---- trees ---------------------------------------------------------------
tree() {	# tree N -> prints the tree's root, made once per N
	local n=$1 t=$W/tree-$1
	if [ ! -f "$t.ok" ]; then
		rm -rf "$t" "$t.dump"
		python3 "$SRC/bench/gen_dump.py" "$n" > "$t.dump"
		python3 "$SRC/tests/lspci2sysfs.py" "$t.dump" "$t" 2>/dev/null
		touch "$t.ok"
	fi
	printf '%s\n' "$t"
}

for n in $SIZES; do
	log "tree of $n devices"
	tree "$n" > /dev/null
done

# ---- daemons -------------------------------------------------------------
# start_daemon NAME TREE ADDR PORT: sets DPID; waits until it answers.
start_daemon() {
	local name=$1 t=$2 addr=$3 port=$4 i
	# A fresh ledger each time: its mark goes too (RELIABILITY.md).
	rm -f "$W/$name.db" "$W/$name.db-wal" "$W/$name.db-shm" \
	    "$W/.$name.db.ledger"
	"$PCIPASSD" -d --listen "$addr" --port "$port" --sysfs-root "$t" \
	    --proc-root "$W/proc" --filter "$W/pci.conf" --db "$W/$name.db" \
	    --auth "$W/auth" --rescan 0 > "$W/$name.out" 2> "$W/$name.log" &
	DPID=$!
	PIDS+=("$DPID")
	for i in $(seq 1 200); do
		if curl -s -o /dev/null -m 1 -H 'Content-Type: text/xml' \
		    --data "<?xml version=\"1.0\"?><methodCall><methodName>pci.version</methodName><params><param><value>$SESSION</value></param></params></methodCall>" \
		    "http://$addr:$port/RPC2"; then
			return 0
		fi
		kill -0 "$DPID" 2>/dev/null || { cat "$W/$name.log" >&2; return 1; }
		sleep 0.05
	done
	log "daemon $name did not answer"
	return 1
}
mkdir -p "$W/proc"	# empty --proc-root: no host-critical guard from this host

status_kb() {	# status_kb PID FIELD
	awk -v f="$2:" '$1 == f {print $2}' "/proc/$1/status"
}

# ---- 1. inventory --------------------------------------------------------
if want inventory; then
	for n in $SIZES; do
		t=$(tree "$n")
		runs=$INV_RUNS
		sruns=$SHELL_RUNS
		[ "$n" -ge 4096 ] && sruns=$SHELL_RUNS_BIG
		log "inventory: $n devices"
		hyperfine -N -w 2 -r "$runs" --export-json "$W/inv.json" \
		    -n probe "$PCIPASSD --probe --sysfs-root $t --proc-root $W/proc --filter $W/pci.conf" \
		    -n lspci "lspci -A linux-sysfs -O sysfs.path=$t/bus/pci -mmnn -D" \
		    > /dev/null
		python3 - "$W/inv.json" "$n" >> "$OUT/inventory.jsonl" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
for r in d["results"]:
    print(json.dumps({"size": int(sys.argv[2]), "tool": r["command"], "times": r["times"]}))
EOF
		# What oned runs every monitoring cycle: OpenNebula's probe
		# (bench/pci_rb.rb, its stand-in) and ours as make
		# install-opennebula puts it in its place, asking a daemon
		# that serves this tree.
		start_daemon "inv$n" "$t" 127.0.0.1 $((BASEPORT + 9))
		PCIPASS_ENDPOINT=127.0.0.1:$((BASEPORT + 9)) \
		PCIPASS_AUTH=$W/auth PCIPASS_BIN=$BUILD \
		hyperfine -N -w 1 -r "$sruns" --export-json "$W/inv.json" \
		    -n pci.rb "ruby $SRC/bench/pci_rb.rb $t $W/pci.conf" \
		    -n improbe "sh $SRC/dist/opennebula/im/pci.rb" > /dev/null
		kill "$DPID"
		wait "$DPID" 2>/dev/null || true
		python3 - "$W/inv.json" "$n" >> "$OUT/inventory.jsonl" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
for r in d["results"]:
    print(json.dumps({"size": int(sys.argv[2]), "tool": r["command"], "times": r["times"]}))
EOF
	done
fi

# ---- 2. RPC --------------------------------------------------------------
floor() {	# one second of the sqlite floor, as JSON
	"$FLOOR" "$W" 1
}

wrk_run() {	# wrk_run CALL PORT CONNS -> JSON line
	local call=$1 port=$2 c=$3 t=2
	[ "$c" -lt 2 ] && t=1
	BENCH_CALL=$call BENCH_SESSION=$SESSION wrk -t"$t" -c"$c" \
	    -d"${DUR}s" --timeout 10s -s "$SRC/bench/wrk/rpc.lua" \
	    "http://127.0.0.1:$port/RPC2" | tail -n1
}

rpcload_run() {	# rpcload_run list PORT CONNS -> JSON line
	printf '%s' "<?xml version=\"1.0\"?><methodCall><methodName>pci.$1</methodName><params><param><value>$SESSION</value></param></params></methodCall>" |
	    "$BUILD/rpcload" 127.0.0.1 "$2" "$3" "$DUR"
}

if want rpc; then
	start_daemon d256 "$(tree 256)" 127.0.0.1 $((BASEPORT + 1))
	P256=$DPID
	start_daemon d4096 "$(tree 4096)" 127.0.0.1 $((BASEPORT + 2))
	P4096=$DPID
	echo "{\"daemon\": \"d256\", \"when\": \"idle\", \"VmRSS\": $(status_kb $P256 VmRSS), \"VmHWM\": $(status_kb $P256 VmHWM)}" >> "$OUT/footprint.jsonl"
	echo "{\"daemon\": \"d4096\", \"when\": \"idle\", \"VmRSS\": $(status_kb $P4096 VmRSS), \"VmHWM\": $(status_kb $P4096 VmHWM)}" >> "$OUT/footprint.jsonl"
	for rep in $(seq 1 "$REPS"); do
		for c in $CONNS; do
			for spec in version:256 list:256 list:4096 cycle:256 test:256; do
				call=${spec%:*} n=${spec#*:}
				port=$((BASEPORT + 1))
				[ "$n" = 4096 ] && port=$((BASEPORT + 2))
				log "rpc: rep $rep, $call at $n devices, $c connections"
				f=null
				if [ "$call" = cycle ]; then
					f=$(floor)
				fi
				r=$(wrk_run "$call" "$port" "$c")
				[ -n "$r" ] || r=null
				echo "{\"call\": \"$call\", \"size\": $n, \"conns\": $c, \"rep\": $rep, \"wrk\": $r, \"floor_before\": $f}" >> "$OUT/rpc.jsonl"
				# The big answer again with a client that does
				# not choke on it (bench/rpcload.c says why).
				[ "$spec" = list:4096 ] || continue
				log "rpc: rep $rep, $call at $n devices, $c connections (rpcload)"
				r=$(rpcload_run "$call" "$port" "$c")
				[ -n "$r" ] || r=null
				echo "{\"call\": \"$call\", \"size\": $n, \"conns\": $c, \"rep\": $rep, \"client\": \"rpcload\", \"wrk\": $r, \"floor_before\": null}" >> "$OUT/rpc.jsonl"
			done
		done
	done
	for rep in $(seq 1 "$REPS"); do
		echo "{\"rep\": $rep, \"floor\": $(floor)}" >> "$OUT/floor.jsonl"
	done
	echo "{\"daemon\": \"d256\", \"when\": \"after the RPC series\", \"VmRSS\": $(status_kb $P256 VmRSS), \"VmHWM\": $(status_kb $P256 VmHWM)}" >> "$OUT/footprint.jsonl"
	echo "{\"daemon\": \"d4096\", \"when\": \"after the RPC series\", \"VmRSS\": $(status_kb $P4096 VmRSS), \"VmHWM\": $(status_kb $P4096 VmHWM)}" >> "$OUT/footprint.jsonl"
	# Under load (issue 18), after the footprint above: pci.version at 16
	# connections while 1,000 idle ones are held (bench/idle.py), and
	# pci.test on 4096 devices at 16 connections alone, then while
	# pci.monitor rescans all 4096 again and again.
	for rep in $(seq 1 "$REPS"); do
		log "load: rep $rep, pci.version with 1000 idle connections"
		mkfifo "$W/idle.fifo"
		python3 "$SRC/bench/idle.py" $((BASEPORT + 1)) 1000 \
		    < "$W/idle.fifo" > "$W/idle.out" &
		ip=$!
		exec 7> "$W/idle.fifo"
		while ! grep -q ready "$W/idle.out" 2>/dev/null; do
			kill -0 "$ip" 2>/dev/null || break
			sleep 0.1
		done
		r=$(wrk_run version $((BASEPORT + 1)) 16)
		exec 7>&-
		wait "$ip" 2>/dev/null || true
		rm -f "$W/idle.fifo"
		echo "{\"point\": \"idle\", \"rep\": $rep, \"wrk\": ${r:-null}}" >> "$OUT/load.jsonl"
		log "load: rep $rep, pci.test on 4096 devices, alone and during rescans"
		r=$(wrk_run test $((BASEPORT + 2)) 16)
		echo "{\"point\": \"test4096\", \"rep\": $rep, \"wrk\": ${r:-null}}" >> "$OUT/load.jsonl"
		( n=0; while :; do
			curl -s -o /dev/null -m 30 -H 'Content-Type: text/xml' \
			    --data "<?xml version=\"1.0\"?><methodCall><methodName>pci.monitor</methodName><params><param><value>$SESSION</value></param></params></methodCall>" \
			    "http://127.0.0.1:$((BASEPORT + 2))/RPC2" || break
			n=$((n + 1)); echo "$n" > "$W/rescans"
		done ) &
		mp=$!
		r=$(wrk_run test $((BASEPORT + 2)) 16)
		kill "$mp" 2>/dev/null; wait "$mp" 2>/dev/null || true
		echo "{\"point\": \"rescan\", \"rep\": $rep, \"rescans\": $(cat "$W/rescans" 2>/dev/null || echo 0), \"wrk\": ${r:-null}}" >> "$OUT/load.jsonl"
		rm -f "$W/rescans"
		# Again, each rescan finding one change (an NVMe function's
		# driver flips between nvme and vfio-pci): it commits, so
		# the snapshot and the answers are built again every time.
		flip=$(tree 4096)/bus/pci/devices/0000:01:08.0/driver
		( n=0; drv=vfio-pci; while :; do
			ln -sfn "../../drivers/$drv" "$flip"
			curl -s -o /dev/null -m 30 -H 'Content-Type: text/xml' \
			    --data "<?xml version=\"1.0\"?><methodCall><methodName>pci.monitor</methodName><params><param><value>$SESSION</value></param></params></methodCall>" \
			    "http://127.0.0.1:$((BASEPORT + 2))/RPC2" || break
			n=$((n + 1)); echo "$n" > "$W/rescans"
			[ "$drv" = nvme ] && drv=vfio-pci || drv=nvme
		done ) &
		mp=$!
		r=$(wrk_run test $((BASEPORT + 2)) 16)
		kill "$mp" 2>/dev/null; wait "$mp" 2>/dev/null || true
		ln -sfn ../../drivers/nvme "$flip"
		echo "{\"point\": \"rescan-change\", \"rep\": $rep, \"rescans\": $(cat "$W/rescans" 2>/dev/null || echo 0), \"wrk\": ${r:-null}}" >> "$OUT/load.jsonl"
		rm -f "$W/rescans"
	done
	# the 4096-device list through the CLI (xmlrpc-c client size limit)
	if [ -x "$PCIPASS" ]; then
		if PCIPASS_AUTH=$W/auth "$PCIPASS" list -H 127.0.0.1:$((BASEPORT + 2)) > "$W/cli4096.txt" 2> "$W/cli4096.err"; then
			echo "{\"cli_list_4096\": \"ok\", \"lines\": $(wc -l < "$W/cli4096.txt")}" >> "$OUT/cli.jsonl"
		else
			echo "{\"cli_list_4096\": \"failed\", \"error\": $(python3 -c 'import json,sys; print(json.dumps(open(sys.argv[1]).read()[:300]))' "$W/cli4096.err")}" >> "$OUT/cli.jsonl"
		fi
	else
		echo '{"cli_list_4096": "not run: no pcipass CLI in this tree"}' >> "$OUT/cli.jsonl"
	fi
	cleanup
fi

# ---- 4. footprint --------------------------------------------------------
if want footprint; then
	for n in 256 4096; do
		start_daemon "f$n" "$(tree "$n")" 127.0.0.1 $((BASEPORT + 3))
		p=$DPID
		echo "{\"daemon\": \"f$n\", \"when\": \"idle\", \"VmRSS\": $(status_kb $p VmRSS), \"VmHWM\": $(status_kb $p VmHWM)}" >> "$OUT/footprint.jsonl"
		wrk_run cycle $((BASEPORT + 3)) 16 > /dev/null
		echo "{\"daemon\": \"f$n\", \"when\": \"after allocate+release, 16 conns\", \"VmRSS\": $(status_kb $p VmRSS), \"VmHWM\": $(status_kb $p VmHWM)}" >> "$OUT/footprint.jsonl"
		wrk_run list $((BASEPORT + 3)) 16 > /dev/null
		echo "{\"daemon\": \"f$n\", \"when\": \"after pci.list, 16 conns\", \"VmRSS\": $(status_kb $p VmRSS), \"VmHWM\": $(status_kb $p VmHWM)}" >> "$OUT/footprint.jsonl"
		# No target: what 200 busy clients cost (a thread and a
		# stack each; the calls share 16 sqlite connections).
		wrk_run cycle $((BASEPORT + 3)) 200 > /dev/null
		wrk_run test $((BASEPORT + 3)) 200 > /dev/null
		echo "{\"daemon\": \"f$n\", \"when\": \"then allocate+release and pci.test, 200 conns\", \"VmRSS\": $(status_kb $p VmRSS), \"VmHWM\": $(status_kb $p VmHWM)}" >> "$OUT/footprint.jsonl"
		kill "$p"; wait "$p" 2>/dev/null || true
		PIDS=()
		sz=0
		for f in "$W/f$n.db" "$W/f$n.db-wal" "$W/f$n.db-shm"; do
			[ -f "$f" ] && sz=$((sz + $(stat -c %s "$f")))
		done
		echo "{\"db\": $n, \"bytes\": $sz, \"main\": $(stat -c %s "$W/f$n.db")}" >> "$OUT/dbsize.jsonl"
	done
fi

# ---- 3. placement --------------------------------------------------------
if want place; then
	if [ ! -x "$PCIPASS" ]; then
		log "placement: NOT RUN: $PCIPASS is missing (the CLI has not landed)"
		echo '{"status": "not run: no pcipass CLI (build/pcipass) in this tree"}' > "$OUT/place.jsonl"
	else
		bash "$SRC/bench/place.sh" "$BUILD" "$W" "$OUT" "$PLACE_REPS"
	fi
fi

cleanup
echo "{\"loadavg_end\": \"$(cut -d' ' -f1-3 /proc/loadavg)\"}" > "$OUT/end.json"
python3 "$SRC/bench/report.py" "$OUT" | tee "$OUT/table.md"
