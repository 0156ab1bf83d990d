#!/bin/sh
# Install the Debian packages pcipass needs, only those missing; quiet
# when everything is there. `deps.sh build` for building and running,
# `deps.sh test` for the test suites too, `deps.sh kernel` for the
# real-kernel lab (make check-kernel: QEMU, busybox, the kernel's tools;
# the kernel itself is fetched by tests/kernel/lab.sh with apt-get
# download, never installed).
set -eu

build="gcc make pkg-config libc6-dev libxmlrpc-core-c3-dev \
libcurl4-openssl-dev libpci-dev pci.ids libsqlite3-dev libyaml-dev \
libjson-c-dev libpcre2-dev uuid-dev libxml2-dev liblz4-dev"
test="$build check pciutils python3 curl valgrind sqlite3 procps strace git uuid-runtime libxml2-utils man-db groff-base mandoc systemd"
kernel="$build pciutils python3 qemu-system-x86 busybox-static kmod e2fsprogs"
deb="$build build-essential git dpkg-dev debhelper fakeroot lintian"

case "${1:-build}" in
build) want=$build ;;
test) want=$test ;;
kernel) want=$kernel ;;
deb) want=$deb ;;
*) echo "usage: deps.sh build|test|kernel|deb" >&2; exit 2 ;;
esac

missing=
for p in $want; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
	    grep -q 'install ok installed' || missing="$missing $p"
done
if [ "$(id -u)" -ne 0 ]; then
	SUDO=sudo
else
	SUDO=
fi
export DEBIAN_FRONTEND=noninteractive

# Images made like Debian's slim ones keep dpkg from unpacking
# /usr/share/lintian (path-exclude), which leaves lintian installed but
# unable to run: unpack it again with that path included.
lintian_whole() {
	[ "${1:-}" = deb ] && [ ! -e /usr/share/lintian/bin/lintian ] &&
	    dpkg-query -W -f='${Status}' lintian 2>/dev/null |
	    grep -q 'install ok installed' || return 0
	echo "deps: lintian without /usr/share/lintian (dpkg path-exclude): reinstalling it whole"
	$SUDO apt-get install -y -qq --reinstall -o \
	    'Dpkg::Options::=--path-include=/usr/share/lintian/*' lintian >/dev/null
}

if [ -z "$missing" ]; then
	lintian_whole "${1:-build}"
	exit 0
fi

echo "deps: installing$missing"
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
lintian_whole "${1:-build}"
