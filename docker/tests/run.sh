#!/bin/bash
# The curl suite: XML request files (requests/), curl, and check.py on
# each answer. Three hosts: h1 and h2 over plain HTTP on 127.0.0.21 and
# .22, h3 only through its TLS terminator on 127.0.0.23 (curl --cacert).
# Loopback only.
#
# Usage:
#   run.sh --no-docker        make a work dir (setup.sh), start the hosts
#                             as local processes (local-stack.sh), run
#                             every phase with a restart of h2 between
#                             them, stop what it started
#   run.sh [--env FILE] PHASE...
#                             run phases against running hosts (the
#                             compose frontend does this); FILE is
#                             setup.sh's env (default /srv/pcipass/env)
# Phases: main (methods, values, errors, auth, TLS, placement; leaves
# VM 401's allocation on h2), after-restart (h2 was restarted: the
# allocation is still there; then releases everything).
# Environment: PCIPASS (the CLI; default: pcipass on PATH or
# build/pcipass), RESULTS (append "PHASE passed failed skipped" there),
# VERBOSE=1 (print each answer that failed).
# Prints `N passed, N failed[, N skipped]` and exits 1 if any failed.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
req=$here/requests
envfile=/srv/pcipass/env
nodocker=0
phases=()
while [ $# -gt 0 ]; do
	case "$1" in
	--no-docker) nodocker=1 ;;
	--env) envfile=$2; shift ;;
	main|after-restart) phases+=("$1") ;;
	*) echo "usage: run.sh [--no-docker] [--env FILE] [main] [after-restart]" >&2
	   exit 2 ;;
	esac
	shift
done

if [ "$nodocker" = 1 ]; then
	work=$(mktemp -d "${TMPDIR:-/tmp}/pcipass-suite.XXXXXX")
	cleanup() {
		"$here/local-stack.sh" stop "$work" || true
		if [ -n "${KEEP_WORK:-}" ]; then
			echo "work dir kept: $work"
		else
			rm -rf "$work"
		fi
	}
	trap cleanup EXIT
	trap 'exit 130' INT TERM
	"$here/setup.sh" "$work" >/dev/null || exit 1
	"$here/local-stack.sh" start "$work" || exit 1
	envfile=$work/env
	[ ${#phases[@]} -gt 0 ] || phases=(main restart after-restart)
else
	[ ${#phases[@]} -gt 0 ] || { echo "run.sh: name a phase (or --no-docker)" >&2; exit 2; }
fi
# shellcheck disable=SC1090
. "$envfile" || exit 1

# Debian's python3 when there is one: a version manager's shim costs
# ~0.3 s per start, and the suite starts python once per check.
py=${PYTHON:-$( [ -x /usr/bin/python3 ] && echo /usr/bin/python3 || echo python3)}
out=$(mktemp -d "${TMPDIR:-/tmp}/pcipass-answers.XXXXXX")
trap_out() { rm -rf "$out"; }
if [ "$nodocker" = 1 ]; then
	trap 'trap_out; cleanup' EXIT
else
	trap trap_out EXIT
fi

pass=0 fail=0 skip=0 n=0
ok()   { pass=$((pass + 1)); echo "ok   $*"; }
bad()  { fail=$((fail + 1)); echo "FAIL $*"; }
skipped() { skip=$((skip + 1)); echo "skip $*"; }

# url_of HOST: the endpoint of h1, h2, h3 (TLS), h3-plain, h3-tunnel.
url_of() {
	case "$1" in
	h1) echo "$H1" ;; h2) echo "$H2" ;; h3) echo "$H3" ;;
	h3-plain) echo "$H3_PLAIN" ;; h3-tunnel) echo "$H3_TUNNEL" ;;
	*) echo "$1" ;;
	esac
}

# call HOST FILE [KEY=VALUE...]: POST requests/FILE with @KEY@ replaced
# (SESSION defaults to $SESSION); the answer goes to $ans. Returns curl's
# exit status.
call() {
	local host=$1 file=$2 sed_args=() kv session=$SESSION url
	shift 2
	for kv in "$@"; do
		[ "${kv%%=*}" = SESSION ] && session=${kv#*=} && continue
		sed_args+=(-e "s|@${kv%%=*}@|${kv#*=}|g")
	done
	sed_args+=(-e "s|@SESSION@|$session|g")
	n=$((n + 1))
	ans=$out/$n.xml
	url=$(url_of "$host")
	sed "${sed_args[@]}" "$req/$file" >"$out/$n.req"
	curl -sS --max-time 20 --cacert "$CACERT" -H 'Content-Type: text/xml' \
	    --data-binary @"$out/$n.req" -o "$ans" "$url" 2>"$out/$n.err"
}

# expect "DESCRIPTION" HOST FILE [KEY=VALUE...] -- ASSERTION...
expect() {
	local desc=$1 args=() why rc
	shift
	while [ $# -gt 0 ] && [ "$1" != -- ]; do args+=("$1"); shift; done
	shift
	call "${args[@]}"
	rc=$?
	if [ $rc -ne 0 ]; then
		bad "$desc: curl exit $rc: $(head -c 200 "$out/$n.err")"
		return 1
	fi
	if why=$("$py" "$here/check.py" "$ans" "$@"); then
		ok "$desc"
	else
		bad "$desc: $why"
		[ -n "${VERBOSE:-}" ] && "$py" "$here/check.py" --show "$ans" | head -40
		return 1
	fi
}

# value HOST FILE [KEY=VALUE...] -- PATH: print one value of an answer.
value() {
	local args=()
	while [ "$1" != -- ]; do args+=("$1"); shift; done
	call "${args[@]}" >/dev/null 2>&1 || return 1
	"$py" - "$ans" "$2" <<'PY'
import sys, xmlrpc.client
(params,), _ = xmlrpc.client.loads(open(sys.argv[1], 'rb').read())
v = params[1]
for step in sys.argv[2].split('.'):
    v = v[int(step)] if isinstance(v, list) else v[step]
print('true' if v is True else 'false' if v is False else v)
PY
}

# ------------------------------------------------------------------ main
phase_main() {
	local h

	echo "# every host answers, h3 only through TLS"
	for h in h1 h2 h3; do
		expect "$h pci.version" $h noargs.xml METHOD=pci.version -- \
		    ok '.~^pcipass [0-9]'
	done
	# system.listMethods is not a pcipass answer: check it by hand.
	call h1 list-methods.xml
	if grep -q '<string>pci.allocate</string>' "$ans" &&
	    grep -q '<string>pci.version</string>' "$ans"; then
		ok "h1 system.listMethods lists pci.allocate and pci.version"
	else
		bad "h1 system.listMethods: $(head -c 200 "$ans")"
	fi

	if curl -sS --max-time 5 -o /dev/null -H 'Content-Type: text/xml' \
	    --data-binary @"$req/noargs.xml" "$H3_PLAIN" 2>/dev/null; then
		bad "h3: plain HTTP to the TLS port answered"
	else
		ok "h3: plain HTTP to 127.0.0.23 gets no answer"
	fi
	curl -sS --max-time 5 -o /dev/null -H 'Content-Type: text/xml' \
	    --data-binary @"$req/noargs.xml" "${H3}" 2>/dev/null
	rc=$?
	if [ $rc -eq 60 ]; then
		ok "h3: TLS without --cacert fails verification (curl 60)"
	else
		bad "h3: TLS without --cacert: curl exit $rc, expected 60"
	fi
	expect "h3 through the stunnel client tunnel (plain-HTTP clients)" \
	    h3-tunnel noargs.xml METHOD=pci.version -- ok '.~^pcipass'

	echo "# pci.list: addresses, order, states (fake trees from the dumps)"
	expect "h1 pci.list" h1 noargs.xml METHOD=pci.list -- ok '#.=27' \
	    0.ADDRESS=0000:00:00:0 26.ADDRESS=000d:00:01:0 \
	    '[ADDRESS=0000:01:00:0].TYPE=10de:2204:0300' \
	    '[ADDRESS=0000:01:00:0].SHORT_ADDRESS=01:00.0' \
	    '[ADDRESS=0000:01:00:0].IOMMU_GROUP=17' \
	    '[ADDRESS=0000:01:00:0].DRIVER=nvidia' \
	    '[ADDRESS=0000:01:00:0].DEVICE_NAME~RTX 3090' \
	    '[ADDRESS=0000:01:00:0].VMID=-1' '[ADDRESS=0000:01:00:0].STATE=free' \
	    '[ADDRESS=000c:01:00:0].DOMAIN=000c' \
	    '[ADDRESS=0002:00:01:0].STATE=blocked' \
	    '[ADDRESS=0002:00:01:0].REASON=bridge' \
	    '[ADDRESS=0004:02:00:0].REASON=no IOMMU group'
	expect "h2 pci.list" h2 noargs.xml METHOD=pci.list -- ok '#.=37' \
	    '[ADDRESS=0000:01:00:0].TYPE=10de:25e2:0300' \
	    '[ADDRESS=0000:01:00:0].DRIVER=nouveau' \
	    '[ADDRESS=0000:02:00:0].CLASS=0108' \
	    '[ADDRESS=0000:02:00:0].STATE=free'
	expect "h3 pci.list (TLS)" h3 noargs.xml METHOD=pci.list -- ok '#.=33' \
	    '[ADDRESS=0000:00:02:0].SRIOV=pf' '[ADDRESS=0000:00:02:0].SRIOV_NUM=5' \
	    '[ADDRESS=0000:00:02:0].STATE=blocked' \
	    '[ADDRESS=0000:00:02:0].REASON~VFs enabled' \
	    '[ADDRESS=0000:00:02:3].SRIOV=vf' \
	    '[ADDRESS=0000:00:02:3].PHYSFN=0000:00:02:0' \
	    '[ADDRESS=0000:00:02:3].STATE=free'

	echo "# pci.info and pci.probe"
	expect "h1 pci.info is PCI_DEVICES XML" h1 noargs.xml METHOD=pci.info -- ok \
	    '.~^<PCI_DEVICES>' '.~<ADDRESS><!\[CDATA\[0000:01:00:0\]\]></ADDRESS>' \
	    '.~</PCI_DEVICES>\s*$'
	expect "h2 pci.probe is the probe template" h2 noargs.xml METHOD=pci.probe -- ok \
	    '.~PCI = \[\n TYPE = "10de:25e2:0300" ,' '.~SHORT_ADDRESS = "01:00.0"' \
	    '.~DEVICE_NAME = "NVIDIA Corporation GA107BM \[GeForce RTX 3050 Mobile\]" \n\]' \
	    '.~(?s)^(?:(?!CLASS_NAME = "PCI bridge").)*$'

	echo "# pci.test"
	expect "h1 GPU alone needs its audio sibling" h1 test-gpu-alone.xml -- ok \
	    FITS=false 'REASON~needs sibling 0000:01:00:1 \(on driver snd_hda_intel\)' \
	    FREE.0=0
	expect "h1 GPU + audio fits twice" h1 test-gpu-pair.xml -- ok \
	    FITS=true REASON= '#FREE=2'
	expect "h3 has no NVIDIA GPU" h3 test-gpu-pair.xml -- ok FITS=false \
	    'REASON~0 devices match'
	expect "h3 has 5 free iGPU VFs" h3 test-vf.xml -- ok FITS=true FREE.0=5

	echo "# pci.allocate / pci.vm / pci.release"
	expect "h1 allocate VM 101: GPU + audio" h1 allocate-gpu-pair.xml VMID=101 -- ok \
	    '#.=2' 0.ADDRESS=0000:01:00:0 1.ADDRESS=0000:01:00:1 \
	    0.VMID=101 1.VMID=101 0.STATE=used 1.CLASS=0403
	expect "h1 same allocate again returns the same devices" h1 allocate-gpu-pair.xml \
	    VMID=101 -- ok '#.=2' 0.ADDRESS=0000:01:00:0 1.ADDRESS=0000:01:00:1
	expect "h1 other requests for VM 101: ACTION" h1 allocate-nvme.xml VMID=101 -- \
	    code=2048
	expect "h1 pci.vm 101" h1 vmid.xml METHOD=pci.vm VMID=101 -- ok '#.=2' \
	    0.ADDRESS=0000:01:00:0 0.VMID=101 0.STATE=used
	expect "h1 pci.list shows VM 101" h1 noargs.xml METHOD=pci.list -- ok \
	    '[ADDRESS=0000:01:00:0].VMID=101' '[ADDRESS=0000:01:00:0].STATE=used' \
	    '[ADDRESS=0000:01:00:1].VMID=101' '[ADDRESS=000c:01:00:0].VMID=-1'
	expect "h1 pci.test while VM 101 holds a pair: still fits" h1 test-gpu-pair.xml -- ok \
	    FITS=true
	expect "h1 pci.vm of a VM with nothing" h1 vmid.xml METHOD=pci.vm VMID=999 -- \
	    ok '#.=0'
	expect "h1 detach an address VM 101 does not hold: NO_EXISTS" h1 detach.xml \
	    VMID=101 ADDR=0000:00:00:0 -- code=1024
	expect "h1 release VM 101" h1 vmid.xml METHOD=pci.release VMID=101 -- ok .=2
	expect "h1 release VM 101 again" h1 vmid.xml METHOD=pci.release VMID=101 -- ok .=0
	expect "h1 VM 101 holds nothing" h1 vmid.xml METHOD=pci.vm VMID=101 -- ok '#.=0'
	expect "h1 devices free again" h1 noargs.xml METHOD=pci.list -- ok \
	    '[ADDRESS=0000:01:00:0].VMID=-1' '[ADDRESS=0000:01:00:0].STATE=free'
	expect "h3 allocate VM 102 by address (TLS)" h3 allocate-address.xml VMID=102 \
	    ADDR=0000:00:02:4 -- ok '#.=1' 0.ADDRESS=0000:00:02:4 0.VMID=102 \
	    0.SRIOV=vf
	expect "h3 attach 02:05.0 to VM 102" h3 attach-short.xml VMID=102 \
	    ADDR=00:02.5 -- ok ADDRESS=0000:00:02:5 VMID=102
	expect "h3 detach 0000:00:02:4 from VM 102" h3 detach.xml VMID=102 \
	    ADDR=0000:00:02:4 -- ok .=true
	expect "h3 VM 102 keeps 0000:00:02:5" h3 vmid.xml METHOD=pci.vm VMID=102 -- ok \
	    '#.=1' 0.ADDRESS=0000:00:02:5
	expect "h3 release VM 102" h3 vmid.xml METHOD=pci.release VMID=102 -- ok .=1
	expect "h2 allocate a NIC with its fields" h2 allocate-nic.xml VMID=103 -- ok \
	    '#.=1' 0.ADDRESS=0000:03:00:0 0.MAC=02:00:00:00:00:01 0.VLAN_ID=42 \
	    0.NETWORK=tenant 0.VMID=103
	expect "h2 pci.vm 103 keeps the NIC fields" h2 vmid.xml METHOD=pci.vm VMID=103 -- \
	    ok 0.IP=192.0.2.10 0.MAC=02:00:00:00:00:01
	expect "h2 release VM 103" h2 vmid.xml METHOD=pci.release VMID=103 -- ok .=1

	echo "# bad input: RPC_API 4096, nothing changes"
	expect "vmid -1" h1 allocate-nvme.xml VMID=-1 -- code=4096
	expect "unknown request field" h1 bad-unknown-field.xml VMID=110 -- code=4096 \
	    'msg~FOO'
	expect "ADDRESS mixed with VENDOR" h1 bad-address-and-ids.xml VMID=110 -- code=4096
	expect "VENDOR not hex" h1 bad-hex.xml VMID=110 -- code=4096
	expect "33 requests" h1 bad-33-requests.xml VMID=110 -- code=4096
	expect "pci.vm -5" h1 vmid.xml METHOD=pci.vm VMID=-5 -- code=4096
	expect "nothing was allocated by the bad calls" h1 vmid.xml METHOD=pci.vm \
	    VMID=110 -- ok '#.=0'

	echo "# authentication 256 and authorization 512"
	expect "wrong secret" h1 noargs.xml METHOD=pci.list SESSION=oneadmin:wrong -- \
	    code=256
	expect "unknown user" h2 noargs.xml METHOD=pci.version SESSION=nobody:x -- \
	    code=256
	expect "session without a colon" h1 noargs.xml METHOD=pci.list SESSION=oneadmin -- \
	    code=256
	expect "empty session (TLS)" h3 noargs.xml METHOD=pci.list SESSION= -- code=256
	expect "wrong secret cannot allocate" h1 allocate-nvme.xml VMID=111 \
	    SESSION=oneadmin:wrong -- code=256
	expect "ro user reads" h1 noargs.xml METHOD=pci.list SESSION="$RO_SESSION" -- \
	    ok '#.=27'
	expect "ro user cannot allocate" h1 allocate-nvme.xml VMID=111 \
	    SESSION="$RO_SESSION" -- code=512
	expect "ro user cannot release" h1 vmid.xml METHOD=pci.release VMID=111 \
	    SESSION="$RO_SESSION" -- code=512
	expect "no allocation from the refused calls" h1 vmid.xml METHOD=pci.vm \
	    VMID=111 -- ok '#.=0'

	echo "# XML-RPC faults from xmlrpc-c"
	expect "unknown method -506" h1 noargs.xml METHOD=pci.nosuch -- fault=-506
	expect "wrong parameter count -502" h1 fault-wrong-count.xml -- fault=-502
	expect "wrong parameter type -501" h1 fault-wrong-type.xml -- fault=-501
	expect "malformed XML -503" h1 fault-malformed.xml -- fault=-503

	phase_placement
	phase_vgpu
	phase_persist_setup
}

# place VMID TEST-FILE ALLOCATE-FILE: the suite's own placement over
# curl, as oned's scheduler does it: pci.test on h1, h2, h3 in order,
# allocate on the first that fits. Prints the host or "none".
place() {
	local vmid=$1 test=$2 alloc=$3 h fits
	for h in h1 h2 h3; do
		fits=$(value $h "$test" -- FITS) || { echo "error"; return; }
		if [ "$fits" = true ]; then
			call $h "$alloc" VMID="$vmid" &&
			    "$py" "$here/check.py" "$ans" ok >/dev/null &&
			    echo $h && return
		fi
	done
	echo none
}

place_expect() {	# VMID TEST ALLOCATE WANT
	local got
	got=$(place "$1" "$2" "$3")
	if [ "$got" = "$4" ]; then
		ok "placement of VM $1 ($3): $got"
	else
		bad "placement of VM $1 ($3): $got, expected $4"
	fi
}

phase_placement() {
	echo "# placement across the three hosts (curl: pci.test, then allocate)"
	place_expect 201 test-gpu-pair.xml allocate-gpu-pair.xml h1
	place_expect 202 test-gpu-pair.xml allocate-gpu-pair.xml h1
	place_expect 203 test-gpu-pair.xml allocate-gpu-pair.xml h2
	place_expect 204 test-gpu-pair.xml allocate-gpu-pair.xml none
	expect "VM 202 got h1's second GPU" h1 vmid.xml METHOD=pci.vm VMID=202 -- ok \
	    '#.=2' 0.ADDRESS=000c:01:00:0 1.ADDRESS=000c:01:00:1
	expect "VM 203 got h2's GPU" h2 vmid.xml METHOD=pci.vm VMID=203 -- ok \
	    '#.=2' 0.ADDRESS=0000:01:00:0 0.VMID=203
	for h in h1 h2 h3; do
		expect "$h: VM 204 does not fit: ALLOCATE" $h allocate-gpu-pair.xml \
		    VMID=204 -- code=16384 'msg~.'
	done
	place_expect 205 test-vf.xml allocate-vf.xml h3
	expect "VM 205 got an iGPU VF on h3 (TLS)" h3 vmid.xml METHOD=pci.vm VMID=205 -- \
	    ok '#.=1' '0.ADDRESS~^0000:00:02:[1-5]$' 0.SRIOV=vf 0.VMID=205

	# pcipass place (the CLI of the client branch), when it is built.
	local cli=${PCIPASS:-}
	if [ -z "$cli" ]; then
		cli=$(command -v pcipass 2>/dev/null || true)
		[ -n "$cli" ] || { [ -x "$here/../../build/pcipass" ] &&
		    cli=$here/../../build/pcipass; }
	fi
	if [ -z "$cli" ] || ! "$cli" help 2>&1 | grep -q '^  place'; then
		skipped "pcipass place: pending (no pcipass CLI with 'place' built)"
		return
	fi
	echo "# pcipass place ($cli); h3 through the stunnel client tunnel"
	local hosts=(-H 127.0.0.21:2634 -H 127.0.0.22:2634 -H 127.0.0.33:2634) o rc
	# PCIPASS_AUTH names a file holding user:secret, as ONE_AUTH does.
	(umask 077; echo "$SESSION" >"$out/session")
	o=$(PCIPASS_AUTH=$out/session "$cli" place 301 "${hosts[@]}" \
	    --pci VENDOR=8086,DEVICE=4626 2>&1); rc=$?
	if [ $rc -eq 0 ] && grep -q '^HOST 127.0.0.33' <<<"$o"; then
		ok "pcipass place VM 301 (iGPU VF): h3 via the tunnel"
	else
		bad "pcipass place VM 301: exit $rc: $o"
	fi
	expect "VM 301 holds a VF on h3" h3 vmid.xml METHOD=pci.vm VMID=301 -- ok \
	    '#.=1' 0.SRIOV=vf
	o=$(PCIPASS_AUTH=$out/session "$cli" place 302 "${hosts[@]}" \
	    --pci VENDOR=10de,CLASS=0300 --pci VENDOR=10de,CLASS=0403 2>&1); rc=$?
	if [ $rc -eq 1 ] && grep -q 'Cannot dispatch VM 302: Unavailable PCI devices on hosts: ' <<<"$o"; then
		ok "pcipass place VM 302 (GPU pair, all taken): Cannot dispatch"
	else
		bad "pcipass place VM 302: exit $rc: $o"
	fi
	call h3 vmid.xml METHOD=pci.release VMID=301 >/dev/null
}

# A vGPU on h2 (its daemon runs --bind none, as under OpenNebula: the
# PROFILE is recorded, OpenNebula's vgpu script would make it).
phase_vgpu() {
	local cli=${PCIPASS:-} o rc
	echo "# vGPU: h2's A10 VFs"
	expect "h2 VF 0042:01:00.4 is a legacy vGPU" h2 noargs.xml METHOD=pci.list -- \
	    ok '[ADDRESS=0042:01:00:4].MDEV_MODE=legacy' \
	    '[ADDRESS=0042:01:00:4].PROFILES=nvidia-558,nvidia-559' \
	    '[ADDRESS=0042:01:00:4].DEVICE_NAME=NVIDIA vGPU device'
	expect "h2 allocate VM 601 PROFILE nvidia-559" h2 allocate-profile.xml \
	    VMID=601 PROFILE=nvidia-559 -- ok '#.=1' 0.ADDRESS=0042:01:00:4 \
	    0.PROFILE=nvidia-559 0.VMID=601 '0.UUID~^[0-9a-f-]{36}$'
	if [ -z "$cli" ]; then
		cli=$(command -v pcipass 2>/dev/null || true)
		[ -n "$cli" ] || { [ -x "$here/../../build/pcipass" ] &&
		    cli=$here/../../build/pcipass; }
	fi
	(umask 077; echo "$SESSION" >"$out/session")
	o=$(PCIPASS_AUTH=$out/session "$cli" hostdev 601 -H 127.0.0.22:2634 2>&1); rc=$?
	if [ $rc -eq 0 ] && grep -q "<hostdev mode='subsystem' type='mdev' model='vfio-pci'>" <<<"$o"; then
		ok "pcipass hostdev 601: an mdev hostdev"
	else
		bad "pcipass hostdev 601: exit $rc: $o"
	fi
	expect "h2 release VM 601" h2 vmid.xml METHOD=pci.release VMID=601 -- ok .=1
	expect "h2 VF 0042:01:00.4 free again" h2 noargs.xml METHOD=pci.list -- ok \
	    '[ADDRESS=0042:01:00:4].STATE=free'
}

phase_persist_setup() {
	echo "# persistence, part 1: VM 401 on h2, which is then restarted"
	expect "h2 allocate VM 401 (NVMe)" h2 allocate-nvme.xml VMID=401 -- ok '#.=1' \
	    0.ADDRESS=0000:02:00:0 0.VMID=401
}

# The frontend's reconcile (pcipass reconcile) across the three hosts:
# oned's view is made from the hosts' own listings, less a deliberate
# leak of VM 501 on h1, written as `onehost list -x` writes it.
phase_reconcile() {
	local cli=${PCIPASS:-} o rc free t
	if [ -z "$cli" ]; then
		cli=$(command -v pcipass 2>/dev/null || true)
		[ -n "$cli" ] || { [ -x "$here/../../build/pcipass" ] &&
		    cli=$here/../../build/pcipass; }
	fi
	if [ -z "$cli" ] || ! "$cli" help 2>&1 | grep -q '^  reconcile'; then
		bad "pcipass reconcile: no pcipass CLI with 'reconcile'"
		return
	fi
	echo "# pcipass reconcile ($cli) after a leak of VM 501 on h1"
	(umask 077; echo "$SESSION" >"$out/session")
	local map=(-H h1=127.0.0.21:2634 -H h2=127.0.0.22:2634
	    -H h3=127.0.0.33:2634)
	for h in h1:127.0.0.21 h2:127.0.0.22 h3:127.0.0.33; do
		PCIPASS_AUTH=$out/session "$cli" list --json -H "${h#*:}:2634" \
		    >"$out/${h%%:*}.json" 2>&1 ||
		    bad "pcipass list --json on $h: $(cat "$out/${h%%:*}.json")"
	done
	free=$("$py" -c 'import json,sys
d = json.load(open(sys.argv[1]))["HOST_SHARE"]["PCI_DEVICES"]["PCI"]
print(next(p["ADDRESS"] for p in d if p["VMID"] == "-1" and p["STATE"] == "free"))' "$out/h1.json")
	expect "h1 allocate VM 501 ($free): the leak" h1 allocate-address.xml \
	    VMID=501 ADDR="$free" -- ok '#.=1' 0.VMID=501
	"$py" - "$out" >"$out/pool.xml" <<'PY'
import json, sys
out = sys.argv[1]
print('<HOST_POOL>', end='')
for i, h in enumerate(['h1', 'h2', 'h3']):
    pci = json.load(open('%s/%s.json' % (out, h)))['HOST_SHARE']['PCI_DEVICES']['PCI']
    print('<HOST><ID>%d</ID><NAME>%s</NAME><HOST_SHARE><PCI_DEVICES>' % (i, h), end='')
    for p in pci:
        print('<PCI><ADDRESS><![CDATA[%s]]></ADDRESS><VMID><![CDATA[%s]]></VMID></PCI>'
              % (p['ADDRESS'], p['VMID']), end='')
    print('</PCI_DEVICES></HOST_SHARE></HOST>', end='')
print('</HOST_POOL>')
PY
	t=$(( $(date +%s) + 1 ))
	o=$(PCIPASS_AUTH=$out/session "$cli" reconcile --as-of "$t" \
	    "${map[@]}" "$out/pool.xml" 2>&1); rc=$?
	if [ $rc -eq 1 ] && grep -q "^  LEAKED   none       501 $free " <<<"$o" &&
	    [ "$(grep -c '^  [A-Z]' <<<"$o")" -eq 2 ]; then
		ok "pcipass reconcile: h1's leak of VM 501 found, exit 1"
	else
		bad "pcipass reconcile: exit $rc: $o"
	fi
	o=$(PCIPASS_AUTH=$out/session "$cli" reconcile --apply --as-of "$t" \
	    "${map[@]}" "$out/pool.xml" 2>&1); rc=$?
	if [ $rc -eq 0 ] && grep -q "^  LEAKED   released   501 $free " <<<"$o"
	then
		ok "pcipass reconcile --apply: released, exit 0"
	else
		bad "pcipass reconcile --apply: exit $rc: $o"
	fi
	expect "h1 VM 501 holds nothing" h1 vmid.xml METHOD=pci.vm VMID=501 -- \
	    ok '#.=0'
	o=$(PCIPASS_AUTH=$out/session "$cli" reconcile --as-of "$t" \
	    "${map[@]}" "$out/pool.xml" 2>&1); rc=$?
	if [ $rc -eq 0 ] && [ "$(grep -c ': in step$' <<<"$o")" -eq 3 ]; then
		ok "pcipass reconcile: every host in step"
	else
		bad "pcipass reconcile after --apply: exit $rc: $o"
	fi
}

phase_after_restart() {
	echo "# persistence, part 2: h2 was restarted"
	expect "h2 answers after the restart" h2 noargs.xml METHOD=pci.version -- ok
	expect "h2 VM 401 still holds its NVMe" h2 vmid.xml METHOD=pci.vm VMID=401 -- ok \
	    '#.=1' 0.ADDRESS=0000:02:00:0 0.VMID=401 0.STATE=used
	expect "h2 VM 203 still holds its GPU" h2 vmid.xml METHOD=pci.vm VMID=203 -- ok \
	    '#.=2' 0.ADDRESS=0000:01:00:0
	expect "h2 list after the restart" h2 noargs.xml METHOD=pci.list -- ok '#.=37' \
	    '[ADDRESS=0000:02:00:0].VMID=401' '[ADDRESS=0000:02:00:0].STATE=used'
	expect "h2 same allocate for VM 401 returns it" h2 allocate-nvme.xml VMID=401 -- \
	    ok 0.ADDRESS=0000:02:00:0
	phase_reconcile
	echo "# clean up: release every VM of the suite"
	expect "h2 release VM 401" h2 vmid.xml METHOD=pci.release VMID=401 -- ok .=1
	expect "h2 release VM 203" h2 vmid.xml METHOD=pci.release VMID=203 -- ok .=2
	expect "h1 release VM 201" h1 vmid.xml METHOD=pci.release VMID=201 -- ok .=2
	expect "h1 release VM 202" h1 vmid.xml METHOD=pci.release VMID=202 -- ok .=2
	expect "h3 release VM 205" h3 vmid.xml METHOD=pci.release VMID=205 -- ok .=1
	for h in h1 h2 h3; do
		expect "$h nothing used" $h noargs.xml METHOD=pci.list -- ok \
		    'none:STATE=used'
	done
}

for p in "${phases[@]}"; do
	p0=$pass f0=$fail s0=$skip
	case "$p" in
	main) phase_main ;;
	after-restart) phase_after_restart ;;
	restart)
		echo "# restart h2 (local process)"
		"$here/local-stack.sh" restart-h2 "$work" || bad "restart h2"
		continue ;;
	esac
	[ -n "${RESULTS:-}" ] && echo "$p $((pass - p0)) $((fail - f0)) $((skip - s0))" \
	    >>"$RESULTS"
done

if [ "$skip" -gt 0 ]; then
	echo "$pass passed, $fail failed, $skip skipped"
else
	echo "$pass passed, $fail failed"
fi
[ "$fail" -eq 0 ]
