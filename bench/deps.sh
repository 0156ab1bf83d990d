#!/bin/sh
# What make bench needs beyond the build: wrk, hyperfine, curl, lspci,
# ruby (the stand-in for OpenNebula's pci.rb),
# python3; installed from Debian when missing.
set -eu
missing=
for p in wrk hyperfine curl pciutils python3 procps ruby; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
	    grep -q 'install ok installed' || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "bench: installing$missing"
SUDO=
[ "$(id -u)" -ne 0 ] && SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
