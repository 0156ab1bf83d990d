/*
 * Small synthetic lspci dumps shared by suites, for what the fixtures of
 * real machines do not show. tests/lspci2sysfs.py turns them into trees.
 */
#ifndef TREES_H
#define TREES_H

/*
 * An A10 with two of its SR-IOV VFs enabled, beside a V100 without
 * SR-IOV and an Intel NIC: :nvidia_vendors: naming and skipping.
 */
#define NVIDIA_TREE \
"01:00.0 3D controller [0302]: NVIDIA Corporation GA102GL [A10] [10de:2236] " \
"(rev a1)\n" \
"\tCapabilities: [bcc v1] Single Root I/O Virtualization (SR-IOV)\n" \
"\t\tInitial VFs: 16, Total VFs: 16, Number of VFs: 2, Function " \
"Dependency Link: 00\n" \
"\t\tVF offset: 4, stride: 1, Device ID: 2236\n" \
"\tKernel driver in use: nvidia\n\tIOMMU group: 10\n\n" \
"01:00.4 3D controller [0302]: NVIDIA Corporation GA102GL [A10] [10de:2236] " \
"(rev a1)\n\tKernel driver in use: nvidia\n\tIOMMU group: 11\n\n" \
"01:00.5 3D controller [0302]: NVIDIA Corporation GA102GL [A10] [10de:2236] " \
"(rev a1)\n\tKernel driver in use: nvidia\n\tIOMMU group: 12\n\n" \
"02:00.0 3D controller [0302]: NVIDIA Corporation GV100GL [Tesla V100 PCIe " \
"16GB] [10de:1db4] (rev a1)\n\tKernel driver in use: vfio-pci\n" \
"\tIOMMU group: 13\n\n" \
"03:00.0 Ethernet controller [0200]: Intel Corporation I350 Gigabit Network " \
"Connection [8086:1521] (rev 01)\n\tKernel driver in use: igb\n" \
"\tIOMMU group: 14\n"

/*
 * What the fixtures lack: an NVMe behind Intel VMD in PCI domain 10000
 * (sharing the VMD's IOMMU group), a device pci.ids has no name for, and
 * a NIC with two interfaces (its "p<N>" port is made by the test).
 */
#define ODD_TREE \
"0000:00:0e.0 RAID bus controller [0104]: Intel Corporation Volume " \
"Management Device NVMe RAID Controller [8086:467f]\n" \
"\tKernel driver in use: vfio-pci\n\tIOMMU group: 7\n\n" \
"10000:e0:06.0 PCI bridge [0604]: Intel Corporation Device [8086:464d]\n" \
"\tKernel driver in use: pcieport\n\tIOMMU group: 7\n\n" \
"10000:e1:00.0 Non-Volatile memory controller [0108]: Samsung Electronics " \
"Co Ltd NVMe SSD Controller PM9A1/PM9A3/980PRO [144d:a80a]\n" \
"\tKernel driver in use: vfio-pci\n\tIOMMU group: 7\n\n" \
"0000:02:00.0 Unassigned class [ff00]: Device [1def:0bad]\n" \
"\tIOMMU group: 8\n\n" \
"0000:03:00.0 Ethernet controller [0200]: Mellanox Technologies MT2892 " \
"Family [ConnectX-6 Dx] [15b3:101d]\n" \
"\tKernel driver in use: mlx5_core\n" \
"\tX-pcipass-ifname: enp3s0f0np0, pf0vf0\n\tIOMMU group: 9\n"

#endif
