#!/bin/bash
# Everything the three-host test needs, made at test time in one
# directory: fake sysfs trees, filter, auth files, a CA and a server
# certificate for the TLS terminator, stunnel configurations, and an env
# file for run.sh. Used by docker/run-tests.sh (the directory is then
# bind-mounted at /srv/pcipass) and by run.sh --no-docker (used in place).
#
# Usage: setup.sh WORK [ROOT]
#   WORK  directory to fill (created)
#   ROOT  the path WORK has where the programs run (default: WORK)
# Environment: FIXTURES (lspci dumps), LSPCI2SYSFS (the converter).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
work=${1:?usage: setup.sh WORK [ROOT]}
root=${2:-$work}
fixtures=${FIXTURES:-$here/../../../shared/fixtures/lspci}
conv=${LSPCI2SYSFS:-}
if [ -z "$conv" ]; then
	for c in "$here/../../tests/lspci2sysfs.py" "$here/lspci2sysfs.py"; do
		[ -f "$c" ] && conv=$c && break
	done
fi
[ -n "$conv" ] || { echo "setup: lspci2sysfs.py not found" >&2; exit 1; }

# The hosts: name, fixture. h3 is the one behind the TLS terminator.
hosts="h1:adlink-ampere-altra-devkit-2gpu-domains
h2:lenovo-legion5-15ach6-rtx3050ti-iommu
h3:minisforum-ms01-pve-igpu-sriov-5vfs"

mkdir -p "$work/trees" "$work/auth" "$work/tls" "$work/logs"
for h in $hosts; do
	name=${h%%:*} dump=$fixtures/${h#*:}.txt
	[ -f "$dump" ] || { echo "setup: no fixture $dump" >&2; exit 1; }
	rm -rf "$work/trees/$name"
	# h2 also has an A10 whose two VFs are vGPUs (docker/tests/vgpu.dump;
	# VF .4 on the legacy mdev bus), in a PCI domain of its own.
	if [ "$name" = h2 ]; then
		cat "$dump" "$here/vgpu.dump" >"$work/trees/h2.dump"
		dump=$work/trees/h2.dump
	fi
	python3 "$conv" "$dump" "$work/trees/$name" 2>"$work/logs/tree-$name.log"
done
for t in 558 559; do
	p=$work/trees/h2/class/mdev_bus/0042:01:00.4/mdev_supported_types/nvidia-$t
	mkdir -p "$p"
	echo 1 >"$p/available_instances"
done
printf "# every device; the allocation rules still block bridges etc.\n:filter: '*:*'\n" \
    >"$work/pci.conf"

secret=$(openssl rand -hex 16)
ro_secret=$(openssl rand -hex 16)
for h in $hosts; do
	f=$work/auth/${h%%:*}
	rm -f "$f"
	(umask 077; printf 'oneadmin:%s\nviewer:%s:ro\n' "$secret" "$ro_secret" >"$f")
done

# A CA made for this run, and a certificate for the terminator's
# address (IP SAN: clients check the address they dial).
t=$work/tls
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$t/ca.key" -out "$t/ca.pem" -days 2 -subj /CN=pcipass-test-ca \
    -addext basicConstraints=critical,CA:TRUE \
    -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$t/server.key" -out "$t/server.csr" -subj /CN=127.0.0.23 \
    2>/dev/null
printf 'subjectAltName=IP:127.0.0.23\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\n' \
    >"$t/server.ext"
openssl x509 -req -in "$t/server.csr" -CA "$t/ca.pem" -CAkey "$t/ca.key" \
    -CAcreateserial -out "$t/server.pem" -days 2 -extfile "$t/server.ext" \
    2>/dev/null
chmod 600 "$t/ca.key" "$t/server.key"

# TLS terminator in front of h3: TLS on 127.0.0.23:2634, plain HTTP to
# the daemon on 127.0.0.123:2634, which nothing else is told about.
cat >"$t/stunnel-server.conf" <<CONF
foreground = yes
pid =
debug = notice
[pcipass-h3]
accept = 127.0.0.23:2634
connect = 127.0.0.123:2634
cert = $root/tls/server.pem
key = $root/tls/server.key
CONF
# The same terminator seen from a client that speaks only plain HTTP
# (the pcipass CLI, oned): a local stunnel client checks the server's
# certificate against the CA and its IP address.
cat >"$t/stunnel-client.conf" <<CONF
foreground = yes
pid =
debug = notice
[pcipass-h3-client]
client = yes
accept = 127.0.0.33:2634
connect = 127.0.0.23:2634
verifyChain = yes
CAfile = $root/tls/ca.pem
checkIP = 127.0.0.23
CONF

cat >"$work/env" <<ENV
# Written by setup.sh; sourced by run.sh.
H1=http://127.0.0.21:2634/RPC2
H2=http://127.0.0.22:2634/RPC2
H3=https://127.0.0.23:2634/RPC2
H3_PLAIN=http://127.0.0.23:2634/RPC2
H3_TUNNEL=http://127.0.0.33:2634/RPC2
CACERT=$root/tls/ca.pem
SESSION=oneadmin:$secret
RO_SESSION=viewer:$ro_secret
ENV
echo "setup: $work ready (trees h1 h2 h3, auth, tls, env)"
