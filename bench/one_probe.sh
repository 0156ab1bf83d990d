#!/bin/sh
# What OpenNebula's KVM PCI probe (im_mad kvm-probes.d pci.rb) does, as a
# plain shell pipeline: one `lspci -mmnn -D`, then per device a read of
# numa_node, of the SR-IOV files (sriov_totalvfs/sriov_numvfs on a PF,
# the physfn link on a VF), of the IOMMU group and driver links and of
# net/, each with its own small process (cat, readlink, ls), as a shell
# script does. Prints one line per device; the output is not the probe
# template (the point is the cost of the reads, not the formatting).
#
# usage: one_probe.sh SYSFS_ROOT
set -eu
root=$1
devs=$root/bus/pci/devices
lspci -A linux-sysfs -O sysfs.path="$root/bus/pci" -mmnn -D |
while read -r addr rest; do
	d=$devs/$addr
	numa=$(cat "$d/numa_node" 2>/dev/null || echo -)
	sriov=no num=0 physfn=-
	if [ -e "$d/sriov_totalvfs" ]; then
		sriov=pf
		num=$(cat "$d/sriov_numvfs")
	elif [ -L "$d/physfn" ]; then
		sriov=vf
		physfn=$(basename "$(readlink "$d/physfn")")
	fi
	group=$(basename "$(readlink "$d/iommu_group" 2>/dev/null || echo -)")
	driver=$(basename "$(readlink "$d/driver" 2>/dev/null || echo -)")
	ifname=$(ls "$d/net" 2>/dev/null | head -n1)
	echo "$addr numa=$numa sriov=$sriov num=$num physfn=$physfn" \
	    "group=$group driver=$driver ifname=${ifname:--} $rest"
done
