#!/bin/bash
# The three hosts without containers, for run.sh --no-docker: the same
# daemons, flags, addresses and TLS terminator as docker/compose.yml,
# started as plain processes on loopback.
#
# Usage: local-stack.sh start|stop|restart-h2 WORK
# Environment: PCIPASSD (default build/pcipassd of this checkout).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cmd=${1:?usage: local-stack.sh start|stop|restart-h2 WORK}
work=${2:?usage: local-stack.sh start|stop|restart-h2 WORK}
pcipassd=${PCIPASSD:-$here/../../build/pcipassd}
mkdir -p "$work/pids" "$work/db"

up() {	# wait until ADDR:PORT accepts connections
	local i
	for i in $(seq 100); do
		(exec 3<>"/dev/tcp/$1/$2") 2>/dev/null && return 0
		sleep 0.1
	done
	echo "local-stack: nothing listens on $1:$2" >&2
	return 1
}

daemon() {	# name listen-address
	mkdir -p "$work/db/$1"
	"$pcipassd" -d --listen "$2" --port 2634 \
	    --sysfs-root "$work/trees/$1" --filter "$work/pci.conf" \
	    --auth "$work/auth/$1" --db "$work/db/$1/pcipass.db" \
	    >>"$work/logs/$1.log" 2>&1 &
	echo $! >"$work/pids/$1"
	up "$2" 2634
}

stop_one() {
	local f=$work/pids/$1 pid i
	[ -f "$f" ] || return 0
	pid=$(cat "$f")
	kill -TERM "$pid" 2>/dev/null || true
	for i in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	rm -f "$f"
}

case "$cmd" in
start)
	[ -x "$pcipassd" ] || { echo "local-stack: no $pcipassd (make)" >&2; exit 1; }
	command -v stunnel4 >/dev/null || command -v stunnel >/dev/null || {
		echo "local-stack: stunnel4 is missing" >&2; exit 1; }
	st=$(command -v stunnel4 || command -v stunnel)
	daemon h1 127.0.0.21
	daemon h2 127.0.0.22
	daemon h3 127.0.0.123
	"$st" "$work/tls/stunnel-server.conf" >>"$work/logs/tls3.log" 2>&1 &
	echo $! >"$work/pids/tls3"
	up 127.0.0.23 2634
	"$st" "$work/tls/stunnel-client.conf" >>"$work/logs/tunnel3.log" 2>&1 &
	echo $! >"$work/pids/tunnel3"
	up 127.0.0.33 2634
	;;
restart-h2)
	stop_one h2
	daemon h2 127.0.0.22
	;;
stop)
	for n in tunnel3 tls3 h1 h2 h3; do stop_one $n; done
	;;
*)
	echo "usage: local-stack.sh start|stop|restart-h2 WORK" >&2
	exit 2
	;;
esac
