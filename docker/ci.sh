#!/bin/bash
# For .ci/run, after `make check`: run `make docker-test` when this
# machine can run a Docker engine, else print
#   docker-test: skipped: <reason>
# and exit 0. A suite that runs and fails exits non-zero.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
skip() { echo "docker-test: skipped: $*"; exit 0; }

[ "$(id -u)" -eq 0 ] || docker info >/dev/null 2>&1 ||
    skip "not root and no access to a running Docker engine"
if ! command -v dockerd >/dev/null || ! command -v docker-compose >/dev/null; then
	export DEBIAN_FRONTEND=noninteractive
	{ apt-get update -qq && apt-get install -y -qq --no-install-recommends \
	    docker.io docker-compose; } >/tmp/pcipass-ci-apt.log 2>&1 ||
	    skip "cannot install docker.io/docker-compose: $(tail -1 /tmp/pcipass-ci-apt.log)"
fi

started=
if ! docker info >/dev/null 2>&1; then
	log=${TMPDIR:-/tmp}/pcipass-ci-dockerd.log
	dockerd --bridge=none --iptables=false --ip-masq=false \
	    --ip6tables=false >"$log" 2>&1 &
	started=$!
	for _ in $(seq 60); do
		docker info >/dev/null 2>&1 && break
		kill -0 "$started" 2>/dev/null || break
		sleep 0.5
	done
	if ! docker info >/dev/null 2>&1; then
		kill "$started" 2>/dev/null
		wait "$started" 2>/dev/null
		skip "dockerd does not start here: $(grep -m1 -iE 'level=(fatal|error)' "$log" |
		    sed 's/.*msg="\([^"]*\)".*/\1/' | head -c 200)"
	fi
fi
# A container must start too (cgroups, overlay, seccomp...): run /bin/true
# from an image of just it and its libraries, made here without a registry.
# Each step's own error is the skip reason.
files=$(ldd /bin/true | grep -o '/[^ ]*' | sed 's:^/::')
probe_log=${TMPDIR:-/tmp}/pcipass-ci-probe.log
why=
if ! tar -C / -ch bin/true $files 2>/dev/null |
    docker import - pcipass-ci-probe:latest >"$probe_log" 2>&1; then
	why="docker import fails: $(grep -v '^$' "$probe_log" | tail -1)"
elif ! docker run --rm --network none pcipass-ci-probe:latest /bin/true \
    >"$probe_log" 2>&1; then
	why="the Docker engine cannot run a container: $(grep -v '^$' \
	    "$probe_log" | tail -1)"
fi
if [ -n "$why" ]; then
	docker image rm pcipass-ci-probe:latest >/dev/null 2>&1
	[ -n "$started" ] && { kill "$started"; wait "$started" 2>/dev/null; }
	skip "${why%: }"
fi
docker image rm pcipass-ci-probe:latest >/dev/null 2>&1

make -C "$here/.." docker-test
rc=$?
if [ -n "$started" ]; then
	kill -TERM "$started" 2>/dev/null
	for _ in $(seq 100); do kill -0 "$started" 2>/dev/null || break; sleep 0.2; done
fi
exit $rc
