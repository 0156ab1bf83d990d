#!/bin/bash
# make deb-test: install the packages `make deb` built and check them.
#
# With a Docker engine: in a fresh Debian 12 container booted with
# systemd as PID 1 (the clean base image plus systemd; CAP_SYS_ADMIN and
# the host's cgroup tree): apt installs the
# .debs, pcipassd.service must be active (Type=notify: listening) and
# `pcipass version` answer with the auth file the daemon made; purge
# must remove /var/lib/pcipass and /etc/pcipass.
# Without one, inside a disposable CI container (CI set, /.dockerenv):
# the same install, the daemon started by hand (no systemd there), the
# same checks. Anywhere else it installs nothing and says so.
#
# Usage: deb-test.sh DEBDIR
set -euo pipefail

debs=$(cd "${1:?usage: deb-test.sh DEBDIR}" && pwd)
src=$(cd "$(dirname "$0")/.." && pwd)
ls "$debs"/pcipass_*.deb "$debs"/libpcipass0_*.deb \
    "$debs"/libpcipass-dev_*.deb >/dev/null
say() { echo "deb-test: $*"; }

# The checks, run where the packages are installed ($1: how to run a
# command there; $2: 1 when systemd is PID 1).
checks() {
	local run=$1 systemd=$2 i
	$run sh -c 'DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    /debs/pcipass_*.deb /debs/libpcipass0_*.deb \
	    /debs/libpcipass-dev_*.deb >/dev/null'
	say "installed: $($run dpkg-query -W -f '${Package} ${Version}, ' \
	    pcipass libpcipass0 libpcipass-dev)"
	if [ "$systemd" = 1 ]; then
		for i in $(seq 1 100); do
			[ "$($run systemctl is-active pcipassd.service || true)" = active ] && break
			sleep 0.2
		done
		[ "$($run systemctl is-active pcipassd.service || true)" = active ] ||
		    { $run journalctl -u pcipassd --no-pager | tail -20; say "FAIL pcipassd.service is not active"; return 1; }
		say "ok   pcipassd.service active (started by the package, Type=notify)"
	else
		$run sh -c 'pcipassd -d >/var/log/pcipassd.log 2>&1 &'
	fi
	for i in $(seq 1 100); do
		$run env PCIPASS_AUTH=/etc/pcipass/auth pcipass version \
		    >/dev/null 2>&1 && break
		sleep 0.2
	done
	v=$($run env PCIPASS_AUTH=/etc/pcipass/auth pcipass version 2>&1) || {
		say "FAIL pcipass version: $v"
		[ "$systemd" = 1 ] || $run tail -n 20 /var/log/pcipassd.log
		return 1
	}
	say "ok   pcipass version: $v"
	$run pkg-config --modversion pcipass >/dev/null 2>&1 ||
	    $run test -f /usr/lib/x86_64-linux-gnu/pkgconfig/pcipass.pc ||
	    { say "FAIL no pcipass.pc"; return 1; }
	$run test -f /usr/include/pcipass.h || { say "FAIL no pcipass.h"; return 1; }
	# The package ships them; an image that excludes /usr/share/man
	# (dpkg path-exclude, as Debian's slim images) does not unpack them.
	$run dpkg-query -L pcipass | grep -q '^/usr/share/man/man8/pcipassd.8.gz$' ||
	    { say "FAIL pcipass does not ship pcipassd(8)"; return 1; }
	say "ok   header, pkg-config file and man pages installed"
	$run test -d /var/lib/pcipass || { say "FAIL no /var/lib/pcipass"; return 1; }
	[ "$systemd" = 1 ] || $run sh -c 'pkill -x pcipassd; sleep 0.5'
	$run sh -c 'DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq \
	    pcipass libpcipass-dev libpcipass0 >/dev/null'
	if $run test -e /var/lib/pcipass || $run test -e /etc/pcipass; then
		say "FAIL purge left /var/lib/pcipass or /etc/pcipass"
		return 1
	fi
	say "ok   purge removed /var/lib/pcipass and /etc/pcipass"
}

if docker info >/dev/null 2>&1; then
	base=pcipass-clean:bookworm
	docker image inspect "$base" >/dev/null 2>&1 ||
	    bash "$src/docker/make-base.sh" "$base"
	img=pcipass-systemd:bookworm
	if ! docker image inspect "$img" >/dev/null 2>&1; then
		say "making $img (systemd on the clean base)"
		printf 'FROM %s\nRUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends systemd systemd-sysv dbus pkg-config man-db >/dev/null\nCMD ["/lib/systemd/systemd"]\n' "$base" |
		    docker build --network host -q -t "$img" - >/dev/null
	fi
	name=pcipass-deb-test-$$
	# systemd as PID 1 needs the cgroup tree and CAP_SYS_ADMIN, not a
	# privileged container.
	docker run -d --name "$name" --cap-add SYS_ADMIN --cgroupns=host \
	    --network host -v /sys/fs/cgroup:/sys/fs/cgroup:rw \
	    --tmpfs /run --tmpfs /run/lock -v "$debs:/debs:ro" "$img" \
	    /lib/systemd/systemd >/dev/null
	trap 'docker rm -f "$name" >/dev/null 2>&1' EXIT
	for i in $(seq 1 100); do
		s=$(docker exec "$name" systemctl is-system-running 2>/dev/null || true)
		case "$s" in running|degraded) break ;; esac
		sleep 0.2
	done
	say "container $name: systemd is $s"
	checks "docker exec $name" 1
elif [ -n "${CI:-}" ] && [ -e /.dockerenv ] && [ "$(id -u)" = 0 ]; then
	say "no Docker engine; installing in this disposable CI container (no systemd here: pcipassd started by hand)"
	rm -rf /debs && ln -s "$debs" /debs
	checks "" 0
else
	say "skipped: no Docker engine, and not a disposable CI container (it would install packages on this machine)"
fi
