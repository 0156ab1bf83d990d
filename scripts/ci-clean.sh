#!/bin/bash
# Run .ci/run as CI does, from nothing: a fresh clone of this checkout's
# HEAD with ../shared beside it, inside a new container of a Debian 12
# made here by debootstrap (docker/make-base.sh), where nothing is
# installed but the minimal base. Prints the wall time and the run's last
# lines; the full log stays in the work directory.
#
# usage: scripts/ci-clean.sh [RUNS]    (default 1; stops at a failure)
# Needs a running Docker engine (root). The container may ptrace (the
# durability test's strace) and uses the host's network (apt, loopback);
# it is not privileged, so the docker suite inside it skips, saying why.
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
image=pcipass-clean:bookworm
runs=${1:-1}
docker info >/dev/null 2>&1 || { echo "ci-clean: no Docker engine" >&2; exit 1; }
docker image inspect "$image" >/dev/null 2>&1 ||
    bash "$src/docker/make-base.sh" "$image"

for n in $(seq 1 "$runs"); do
	work=$(mktemp -d "${TMPDIR:-/tmp}/pcipass-ci-clean.XXXXXX")
	git clone -q "$src" "$work/main"
	cp -r "$src/../shared" "$work/shared"
	chmod -R a-w "$work/shared"
	start=$(date +%s)
	rc=0
	docker run --rm --cap-add SYS_PTRACE --security-opt seccomp=unconfined \
	    --network host -e CI=true \
	    -v "$work:/work" -w /work/main "$image" \
	    bash -c 'bash .ci/run </dev/null' >"$work/ci.log" 2>&1 || rc=$?
	secs=$(( $(date +%s) - start ))
	echo "ci-clean: run $n of $runs: exit $rc in ${secs} s" \
	    "($(git -C "$work/main" rev-parse --short HEAD); log $work/ci.log)"
	tail -n 8 "$work/ci.log" | sed 's/^/    /'
	[ "$rc" -eq 0 ] || exit "$rc"
done
