#!/bin/bash
# make docker-test: build the image and run the compose suite.
#
#  1. installs what is missing (docker.io, docker-compose, debootstrap,
#     openssl, python3, curl) with apt-get;
#  2. starts dockerd when none answers (no bridge, no iptables: every
#     container here uses the host's network) and stops it at the end;
#  3. makes debian:bookworm-slim with docker/make-base.sh when it can
#     be neither found nor pulled;
#  4. builds pcipass:latest (runtime) and pcipass:test (runtime + python3,
#     stunnel4, openssl, the suite);
#  5. docker/tests/setup.sh into a temp dir, compose up host1-3 + tls3,
#     waits for their HEALTHCHECKs, runs the frontend's `main` phase,
#     recreates host2's container (same database volume), runs
#     `after-restart`;
#  6. prints timings, the image size and `N passed, N failed`, and removes
#     the containers, volumes and temp dir it made (the images stay, as a
#     build cache; `docker image rm pcipass:latest pcipass:test` drops them).
# Exit status: 0 when everything passed.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
project=${COMPOSE_PROJECT:-pcipass-test}
image=${PCIPASS_IMAGE:-pcipass:latest}
test_image=${PCIPASS_TEST_IMAGE:-pcipass:test}
export PCIPASS_IMAGE=$image PCIPASS_TEST_IMAGE=$test_image
export DOCKER_BUILDKIT=0	# the legacy builder: no buildx plugin needed
fixtures=${FIXTURES:-$top/../shared/fixtures/lspci}

pass=0 fail=0 skip=0
ok()  { pass=$((pass + 1)); echo "ok   $*"; }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }
say() { echo "docker-test: $*"; }
die() { say "$*"; echo "0 passed, 1 failed"; exit 1; }

# ----------------------------------------------------------- packages
need=
have() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'ok installed'; }
command -v dockerd >/dev/null || need="$need docker.io"
command -v docker-compose >/dev/null || need="$need docker-compose"
for p in openssl python3 curl; do have $p || need="$need $p"; done
if [ -n "$need" ]; then
	say "installing$need"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq && apt-get install -y -qq --no-install-recommends \
	    $need >/dev/null || die "cannot install$need"
fi

# ------------------------------------------------------------- dockerd
started_dockerd=
work=
compose() { docker-compose -p "$project" -f "$here/compose.yml" "$@"; }
cleanup() {
	if [ -n "$work" ]; then
		compose down -v --remove-orphans >/dev/null 2>&1
		rm -rf "$work"
	fi
	if [ -n "$started_dockerd" ]; then
		say "stopping the dockerd it started (pid $started_dockerd)"
		kill -TERM "$started_dockerd" 2>/dev/null
		for _ in $(seq 100); do
			kill -0 "$started_dockerd" 2>/dev/null || break
			sleep 0.2
		done
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if ! docker info >/dev/null 2>&1; then
	say "starting dockerd"
	log=${TMPDIR:-/tmp}/pcipass-dockerd.log
	dockerd --bridge=none --iptables=false --ip-masq=false \
	    --ip6tables=false >"$log" 2>&1 &
	started_dockerd=$!
	for _ in $(seq 60); do
		docker info >/dev/null 2>&1 && break
		kill -0 "$started_dockerd" 2>/dev/null || break
		sleep 0.5
	done
	if ! docker info >/dev/null 2>&1; then
		tail -5 "$log" >&2
		started_dockerd=
		die "dockerd did not start (log: $log)"
	fi
fi

# ---------------------------------------------------------- base image
if ! docker image inspect debian:bookworm-slim >/dev/null 2>&1; then
	if ! timeout 120 docker pull -q debian:bookworm-slim >/dev/null 2>&1; then
		say "debian:bookworm-slim cannot be pulled: making it (debootstrap)"
		t0=$(date +%s)
		"$here/make-base.sh" debian:bookworm-slim || die "make-base.sh failed"
		say "base image made in $(( $(date +%s) - t0 )) s"
	fi
fi

# --------------------------------------------------------------- build
t0=$(date +%s.%N)
blog=${TMPDIR:-/tmp}/pcipass-docker-build.log
# DOCKER_BUILD_FLAGS=--no-cache measures a build from scratch (the test
# image then reuses those layers).
# shellcheck disable=SC2086
if ! docker build ${DOCKER_BUILD_FLAGS:-} --network host -f "$here/Dockerfile" --target runtime \
    -t "$image" "$top" >"$blog" 2>&1; then
	tail -30 "$blog"
	die "docker build failed (log: $blog)"
fi
t1=$(date +%s.%N)
docker build --network host -f "$here/Dockerfile" --target test \
    -t "$test_image" "$top" >>"$blog" 2>&1 || { tail -30 "$blog"; die "test image build failed"; }
t2=$(date +%s.%N)
test_build_s=$(python3 -c "print('%.1f' % ($t2-$t1))")
build_s=$(python3 -c "print('%.1f' % ($t1-$t0))")
size=$(docker image inspect --format '{{.Size}}' "$image")
size_mb=$(python3 -c "print('%.1f' % ($size/1e6))")
say "built $image in ${build_s} s (${size_mb} MB), $test_image in ${test_build_s} s"

# --------------------------------------------------- the image itself
echo "# the runtime image"
uid=$(docker run --rm --network none --entrypoint id "$image" -u 2>&1)
[ "$uid" = 2634 ] && ok "pcipassd runs as uid 2634, not root" ||
    bad "image user: $uid"
if docker run --rm --network none --entrypoint sh "$image" -c \
    'command -v cc || command -v gcc || ls /usr/include/pci' >/dev/null 2>&1; then
	bad "runtime image has a compiler or -dev headers"
else
	ok "runtime image has no compiler or -dev headers"
fi
health=$(docker image inspect --format '{{json .Config.Healthcheck.Test}}' "$image")
case "$health" in
*healthcheck*) ok "HEALTHCHECK set: $health" ;;
*) bad "no HEALTHCHECK: $health" ;;
esac

# -------------------------------------------------------------- suite
work=$(mktemp -d "${TMPDIR:-/tmp}/pcipass-docker.XXXXXX")
export PCIPASS_WORK=$work
FIXTURES=$fixtures "$here/tests/setup.sh" "$work" /srv/pcipass >/dev/null ||
    die "setup.sh failed"
# The daemon (uid 2634) refuses an auth file others can read, and must
# own it; stunnel (uid 2634 too) reads the key. The env file has the
# secret: root only (the frontend runs as root).
chmod 755 "$work"
chown -R 2634:2634 "$work/auth" "$work/tls"
chmod 600 "$work/env"
mkdir -m 777 "$work/results"
compose down -v --remove-orphans >/dev/null 2>&1	# leftovers of a killed run

wait_healthy() {	# SERVICE...: until every one is healthy, 60 s at most
	local s id st i
	for s in "$@"; do
		for i in $(seq 120); do
			id=$(compose ps -q "$s" 2>/dev/null)
			st=$(docker inspect --format '{{.State.Health.Status}}' "$id" 2>/dev/null)
			[ "$st" = healthy ] && break
			sleep 0.5
		done
		if [ "$st" = healthy ]; then
			ok "$s healthy (HEALTHCHECK: pci.version over XML-RPC)"
		else
			bad "$s not healthy: ${st:-no container}"
			docker inspect --format '{{json .State.Health}}' "$id" 2>&1 | head -c 1000
			echo
			docker logs "$id" 2>&1 | tail -5
		fi
	done
}

s0=$(date +%s.%N)
echo "# compose up: host1 host2 host3 tls3"
compose up -d host1 host2 host3 tls3 >"$work/logs/compose.log" 2>&1 ||
    { cat "$work/logs/compose.log"; die "compose up failed"; }
wait_healthy host1 host2 host3

echo "# frontend: main"
compose run --rm --no-deps frontend main
echo "# recreate host2's container (same db volume)"
compose up -d --no-deps --force-recreate host2 >>"$work/logs/compose.log" 2>&1 ||
    bad "recreating host2"
wait_healthy host2
echo "# frontend: after-restart"
compose run --rm --no-deps frontend after-restart
s1=$(date +%s.%N)
suite_s=$(python3 -c "print('%.1f' % ($s1-$s0))")

# The frontend's phases wrote "PHASE passed failed skipped".
phases=0
if [ -f "$work/results/counts" ]; then
	while read -r _ p f s; do
		pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
		phases=$((phases + 1))
	done <"$work/results/counts"
fi
[ "$phases" -eq 2 ] || bad "frontend phases reported: $phases of 2"

echo "docker-test: image build ${build_s} s, test image ${test_build_s} s, image size ${size_mb} MB, suite ${suite_s} s"
if [ "$skip" -gt 0 ]; then
	echo "$pass passed, $fail failed, $skip skipped"
else
	echo "$pass passed, $fail failed"
fi
[ "$fail" -eq 0 ]
