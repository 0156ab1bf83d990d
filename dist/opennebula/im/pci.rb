#!/bin/sh
# pcipass's drop-in for OpenNebula's im/kvm-probes.d/host/system/pci.rb
# (installed by `make install-opennebula`, which keeps OpenNebula's own
# in im/kvm-probes.d/pcipass-orig/, outside every probe directory). It
# prints what the local pcipassd offers, held devices included
# (pci.probe), so oned's scheduler sees only devices pcipassd will give.
# When no daemon answers it prints `pcipassd --probe`, which knows no
# holdings (API.md), and says so on stderr. On a host without pcipass it
# runs OpenNebula's own probe.
#
# PCIPASS_ENDPOINT (default 127.0.0.1:2634) and PCIPASS_AUTH (default
# ~/.pcipass/auth, the session "user:secret", mode 0600) as for the CLI.
# PCIPASS_BIN: where pcipass and pcipassd are (default: PATH, then
# make install's /usr/local and a package's /usr).
PATH=${PCIPASS_BIN:+$PCIPASS_BIN:}$PATH:/usr/local/bin:/usr/local/sbin
PATH=$PATH:/usr/bin:/usr/sbin
export PATH

if ! command -v pcipassd >/dev/null 2>&1; then
	orig=$(dirname "$0")/../../pcipass-orig/pci.rb
	[ -x "$orig" ] && exec "$orig" "$@"
	exit 0
fi

# pcipass-probe (pcipass probe without libcurl, whose loading was most of
# a probe's time) prints the answer only once it has all of it: a failed
# call prints nothing on stdout, and why on stderr.
if command -v pcipass-probe >/dev/null 2>&1; then
	pcipass-probe -t 10000 && exit 0
elif pcipass probe --timeout 10000; then
	exit 0
fi
echo "pcipass: printing pcipassd --probe instead, which knows no holdings" >&2
exec pcipassd --probe
