#!/bin/bash
# make check-kernel: pcipassd, pcipass-host and pcipass on a real Linux
# kernel with a real IOMMU. Debian 12's own kernel boots under QEMU's
# software emulation as a q35 machine with an emulated Intel IOMMU and a
# handful of emulated PCI devices; the guest (tests/kernel/guest.sh)
# runs the programs against its real /sys and /proc and reports on the
# serial console; tests/kernel/check.py asserts on that report. Two
# boots: the IOMMU on, then off.
#
# Usage: lab.sh BUILD   (the directory with pcipassd, pcipass-host,
#                        pcipass; packages from scripts/deps.sh kernel)
# Environment: LAB_DIR keeps the work directory (else a temporary one,
# removed); LAB_TIMEOUT seconds per boot (default 600).
set -euo pipefail

src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:?usage: lab.sh BUILD}" && pwd)
w=${LAB_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/pcipass-lab.XXXXXX")}
[ -n "${LAB_DIR:-}" ] || trap 'rm -rf "$w"' EXIT
mkdir -p "$w"
t0=$(date +%s)
say() { echo "lab: $*"; }

# The kernel: Debian's linux-image-amd64, extracted, not installed.
kdeb=$(ls "$w"/deb/linux-image-[0-9]*-amd64_*.deb 2>/dev/null | head -n 1 || :)
if [ -z "$kdeb" ]; then
	mkdir -p "$w/deb"
	if ! apt-cache show linux-image-amd64 >/dev/null 2>&1; then
		sudo=
		[ "$(id -u)" -eq 0 ] || sudo=sudo
		$sudo apt-get update -qq
	fi
	dep=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-/ {print $2; exit}')
	[ -n "$dep" ] || { say "no linux-image-amd64 in apt's lists (apt-get update)"; exit 1; }
	(cd "$w/deb" && apt-get download "$dep" >/dev/null 2>&1) ||
	    { say "apt-get download $dep failed"; exit 1; }
	kdeb=$(ls "$w"/deb/linux-image-[0-9]*-amd64_*.deb | head -n 1)
fi
rm -rf "$w/k"
dpkg-deb -x "$kdeb" "$w/k"
kver=$(ls "$w/k/lib/modules" | head -n 1)
depmod -b "$w/k" "$kver"
say "kernel $kver ($(basename "$kdeb"))"

# insmod lines for modules and what they need, in order, as paths in
# the guest.
insmods() {
	for m in "$@"; do
		modprobe -d "$w/k" -S "$kver" --show-depends "$m"
	done | awk '$1 == "insmod" {print $2}' | awk '!seen[$0]++' |
	    sed "s|^$w/k||"
}
copy_mods() {	# copy_mods ROOT LIST
	while read -r ko; do
		mkdir -p "$1$(dirname "$ko")"
		cp "$w/k$ko" "$1$ko"
		echo "insmod $ko"
	done <"$2"
}

# A binary and the shared objects it loads.
copy_bin() {	# copy_bin ROOT FILE
	local r=$1 f=$2 lib
	mkdir -p "$r/bin"
	cp "$f" "$r/bin/"
	for lib in $(ldd "$f" | awk '/=> \// {print $3} /^\t\/lib/ {print $1}'); do
		mkdir -p "$r$(dirname "$lib")"
		cp -L "$lib" "$r$lib"
	done
}

busybox_into() {	# busybox_into ROOT
	mkdir -p "$1/bin"
	cp /bin/busybox "$1/bin/busybox"
	for a in $(/bin/busybox --list); do
		[ -e "$1/bin/$a" ] || ln -s busybox "$1/bin/$a"
	done
}

# The root filesystem, on the first NVMe: busybox, lspci and pci.ids,
# the project's fresh binaries, the modules the devices need.
r=$w/root
rm -rf "$r"
mkdir -p "$r"/{proc,sys,dev,tmp,run,lab,etc,var/lib/pcipass,sbin}
busybox_into "$r"
for b in "$build/pcipassd" "$build/pcipass-host" "$build/pcipass" /usr/bin/lspci; do
	copy_bin "$r" "$b"
done
mkdir -p "$r/usr/share/misc"
cp -L /usr/share/misc/pci.ids "$r/usr/share/misc/"
insmods e1000e e1000 snd-hda-intel xhci-pci vfio-pci vfio_iommu_type1 >"$w/root.mods"
copy_mods "$r" "$w/root.mods" >"$r/lab/modules.sh"
cp "$src/tests/kernel/guest.sh" "$r/lab/guest.sh"
cp "$build/tests/kmdev.so" "$r/lab/kmdev.so"
chmod 755 "$r/lab/guest.sh"
printf 'oneadmin:lab-secret\n' >"$r/lab/auth"
printf 'oneadmin:lab-secret\n' >"$r/lab/session"
chmod 600 "$r/lab/auth" "$r/lab/session"
echo 'root:x:0:0:root:/:/bin/sh' >"$r/etc/passwd"
rm -f "$w/root.img" "$w/spare.img"
mkfs.ext4 -q -L pcipassroot -d "$r" "$w/root.img" 192M
truncate -s 64M "$w/spare.img"

# The initramfs: just enough to mount that NVMe and switch to it.
i=$w/initrd
rm -rf "$i"
mkdir -p "$i"/{proc,sys,dev,newroot}
busybox_into "$i"
insmods nvme ext4 >"$w/initrd.mods"
copy_mods "$i" "$w/initrd.mods" >"$i/modules.sh"
cp "$src/tests/kernel/init" "$i/init"
chmod 755 "$i/init"
(cd "$i" && find . | /bin/busybox cpio -o -H newc 2>/dev/null | gzip -1) >"$w/initrd.gz"
say "images ready in $(( $(date +%s) - t0 )) s: root $(du -h "$w/root.img" | cut -f1), initrd $(du -h "$w/initrd.gz" | cut -f1)"

# One boot. Devices at fixed addresses (check.py names them):
#   00:02.0 e1000e, the default route      00:03.0 e1000e, spare
#   00:04.0 nvme, the root filesystem      01:00.0 nvme, spare, behind
#   00:06.0 ich9-intel-hda                   the pcie-root-port 00:05.0
#   00:07.0 qemu-xhci                      02:01.0, 02:02.0 e1000 behind
#                                            the pcie-pci-bridge 00:08.0
boot() {	# boot NAME CMDLINE-EXTRA
	local name=$1 extra=$2 log=$w/console-$1.log rc=0 t
	t=$(date +%s)
	rm -f "$log"
	timeout "${LAB_TIMEOUT:-600}" qemu-system-x86_64 -accel tcg \
	    -M q35,kernel-irqchip=split -cpu max -smp 2 -m 1024 \
	    -device intel-iommu,intremap=on,caching-mode=on \
	    -kernel "$w/k/boot/vmlinuz-$kver" -initrd "$w/initrd.gz" \
	    -append "console=ttyS0 panic=-1 quiet loglevel=4 $extra" \
	    -display none -vga none -monitor none -serial "file:$log" \
	    -no-reboot \
	    -netdev user,id=n1,restrict=on -device e1000e,netdev=n1,bus=pcie.0,addr=0x2 \
	    -netdev user,id=n2,restrict=on -device e1000e,netdev=n2,bus=pcie.0,addr=0x3 \
	    -drive file="$w/root.img",if=none,id=d0,format=raw \
	    -device nvme,drive=d0,serial=root,bus=pcie.0,addr=0x4 \
	    -device pcie-root-port,id=rp1,chassis=1,bus=pcie.0,addr=0x5 \
	    -drive file="$w/spare.img",if=none,id=d1,format=raw \
	    -device nvme,drive=d1,serial=spare,bus=rp1 \
	    -device ich9-intel-hda,bus=pcie.0,addr=0x6 \
	    -device qemu-xhci,bus=pcie.0,addr=0x7 \
	    -device pcie-pci-bridge,id=br1,bus=pcie.0,addr=0x8 \
	    -netdev user,id=n3,restrict=on -device e1000,netdev=n3,bus=br1,addr=0x1 \
	    -netdev user,id=n4,restrict=on -device e1000,netdev=n4,bus=br1,addr=0x2 \
	    || rc=$?
	say "boot $name: qemu exit $rc in $(( $(date +%s) - t )) s"
	if [ "$rc" = 124 ]; then
		say "boot $name: no poweroff within ${LAB_TIMEOUT:-600} s; the console's end:"
		tail -n 30 "$log" | sed 's/^/  | /'
	fi
}

boot on "intel_iommu=on lab=on"
boot off "intel_iommu=off lab=off"
say "wall time $(( $(date +%s) - t0 )) s"
python3 "$src/tests/kernel/check.py" "$src" "$kver" "$w/console-on.log" \
    "$w/console-off.log"
