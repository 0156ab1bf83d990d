#!/bin/sh
# The lab's guest, PID 1 on the NVMe root: runs pcipass's programs
# against the real /sys and /proc and prints each result on the serial
# console between "LAB-BEGIN NAME" and "LAB-END NAME rc=N" for
# tests/kernel/check.py. lab=on: everything; lab=off (the IOMMU off):
# the host check only. Powers off at the end.
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t tmpfs tmp /tmp
mount -t tmpfs run /run
mode=$(sed -n 's/.*lab=\([a-z]*\).*/\1/p' /proc/cmdline)
. /lab/modules.sh >/dev/null 2>&1

run() {		# run NAME COMMAND...: its output and exit status, marked
	n=$1
	shift
	"$@" >/tmp/out 2>&1
	rc=$?
	echo "LAB-BEGIN $n"
	cat /tmp/out
	echo "LAB-END $n rc=$rc"
}

# A driver's probe may finish after the write that started it.
driver_of() {	# driver_of ADDR [WANT]: waits up to 10 s for WANT
	i=0
	while [ $i -lt 100 ]; do
		d=$(basename "$(readlink /sys/bus/pci/devices/$1/driver)" 2>/dev/null)
		[ -z "$2" ] || [ "$d" = "$2" ] && break
		sleep 0.1
		i=$((i + 1))
	done
	echo "driver $1 ${d:-none}"
}

state() {	# state ADDR [WANT]: driver, interfaces, block devices
	driver_of "$1" "$2"
	echo "net $1 $(ls /sys/bus/pci/devices/$1/net 2>/dev/null | tr '\n' ' ')"
	echo "nvme $1 $(ls /sys/bus/pci/devices/$1/nvme 2>/dev/null | tr '\n' ' ')"
	echo "vfio $(ls /dev/vfio 2>/dev/null | tr '\n' ' ')"
	lspci -nnk -s "$1" 2>/dev/null | grep -v '^lspci:'
}

pair() {	# pair WANT: the two NICs behind the bridge
	driver_of 0000:02:01.0 "$1"
	driver_of 0000:02:02.0 "$1"
}

groups() {
	for g in /sys/kernel/iommu_groups/*; do
		[ -d "$g" ] && echo "group $(basename "$g"): $(ls "$g/devices" | tr '\n' ' ')"
	done
	return 0
}

all=/lab/all.conf
printf ":filter: '*:*'\n" >$all
one=/lab/one.conf
printf ":filter: '8086:100e'\n:short_address:\n  - '02:01.0'\n" >$one
H="--filter $all --db /var/lib/pcipass/pcipass.db"

run uname uname -r
run cmdline cat /proc/cmdline
run groups groups
run check pcipass-host host check --filter $all
if [ "$mode" != on ]; then
	echo "LAB-DONE"
	poweroff -f
fi

# The NIC with the default route, as an administrator would set it up.
driver_of 0000:00:04.0 nvme >/dev/null
driver_of 0000:01:00.0 nvme >/dev/null
ip link set lo up
ifc=$(ls /sys/bus/pci/devices/0000:00:02.0/net | head -n 1)
ip addr add 10.0.2.15/24 dev "$ifc"
ip link set "$ifc" up
ip route add default via 10.0.2.2 dev "$ifc"
run route cat /proc/net/route
run lspci lspci -nnk
run dump lspci -vvnn

ifnames() {
	for d in /sys/bus/pci/devices/*; do
		[ -d "$d/net" ] && echo "$(basename "$d") $(ls "$d/net" | tr '\n' ' ')"
	done
	return 0
}
run ifnames ifnames
pcipassd --probe -v --filter $all >/tmp/probe 2>/tmp/probe.log
run probe cat /tmp/probe
run probelog cat /tmp/probe.log

# The spare NVMe behind its root port, to vfio-pci and back.
run bind-nvme pcipass-host $H bind 0000:01:00.0
run bound-nvme state 0000:01:00.0 vfio-pci
run unbind-nvme pcipass-host $H unbind 0000:01:00.0
run unbound-nvme state 0000:01:00.0 nvme

# The spare NIC: its interface goes and comes back.
run bind-nic pcipass-host $H bind 0000:00:03.0
run bound-nic state 0000:00:03.0 vfio-pci
run unbind-nic pcipass-host $H unbind 0000:00:03.0
run unbound-nic state 0000:00:03.0 e1000e

# Two NICs behind a PCI bridge share its IOMMU group: one alone is
# refused, naming its sibling; offered both, they go together.
run bind-half pcipass-host --filter $one --db /var/lib/pcipass/pcipass.db bind 0000:02:01.0
run half state 0000:02:02.0
run bind-group pcipass-host $H bind 0000:02:01.0
run bound-group pair vfio-pci
run unbind-group pcipass-host $H unbind 0000:02:01.0
run unbound-group pair e1000

# What the host needs is refused.
run bind-root pcipass-host $H bind 0000:00:04.0
run bind-route pcipass-host $H bind 0000:00:02.0
run after-refusals state 0000:00:02.0 e1000e

# The daemon binds on allocate and restores on release.
export PCIPASS_AUTH=/lab/session
pcipassd -d --bind vfio --listen 127.0.0.1 --port 2634 --filter $all \
    --db /var/lib/pcipass/daemon.db --auth /lab/auth --rescan 0 \
    >/tmp/daemon.log 2>&1 &
dpid=$!
i=0
until pcipass version -H 127.0.0.1:2634 >/dev/null 2>&1 || [ $i -ge 300 ]; do
	sleep 0.1
	i=$((i + 1))
done
run allocate pcipass allocate 7 --pci ADDRESS=0000:00:03:0 -H 127.0.0.1:2634
run allocated state 0000:00:03.0 vfio-pci
run release pcipass release 7 -H 127.0.0.1:2634
run released state 0000:00:03.0 e1000e
kill $dpid
wait $dpid
run daemon cat /tmp/daemon.log

# Killed between the bind and its commit (the kernel stand-in sends
# SIGKILL right after drivers_probe; here the kernel itself acts): the
# restart finds the bind journal and gives the NIC back.
up() {		# up PORT: wait for a daemon to answer
	i=0
	until pcipass version -H 127.0.0.1:$1 >/dev/null 2>&1 || [ $i -ge 300 ]; do
		sleep 0.1
		i=$((i + 1))
	done
}
D="-d --bind vfio --listen 127.0.0.1 --port 2635 --filter $all --db /var/lib/pcipass/crash.db --auth /lab/auth --rescan 0"
mkdir -p /kmdev
: >/kmdev/kill-after-probe
KMDEV_ROOT=/sys LD_PRELOAD=/lab/kmdev.so pcipassd $D >/tmp/crash.log 2>&1 &
cpid=$!
up 2635
run crash-allocate pcipass allocate 8 --pci ADDRESS=0000:00:03:0 -H 127.0.0.1:2635
wait $cpid
run crashed state 0000:00:03.0 vfio-pci
rm /kmdev/kill-after-probe
pcipassd $D >>/tmp/crash.log 2>&1 &
cpid=$!
up 2635
run mended state 0000:00:03.0 e1000e
run crash-vm pcipass vm 8 -H 127.0.0.1:2635
kill $cpid
wait $cpid
run crash-log cat /tmp/crash.log
echo "LAB-DONE"
poweroff -f
