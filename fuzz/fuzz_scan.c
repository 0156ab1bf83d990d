/*
 * libFuzzer harness: scan_inventory() on a small fake sysfs tree whose
 * names, file contents and links come from the input. The input is a
 * list of chunks separated by NUL bytes, taken in order for up to three
 * devices: directory name, vendor, device, class, revision,
 * subsystem_vendor, subsystem_device, numa_node, sriov_totalvfs,
 * sriov_numvfs, boot_vga, config, IOMMU group (link and group
 * directory), driver link, physfn link, net/ interface (config is also
 * written as nvidia/creatable_vgpu_types, and every device is read as a
 * vGPU after the scan). A chunk of one
 * byte 0x01 means "no such file". A scan that succeeds must give devices
 * in strictly ascending address order and sorted group members.
 */
#include <sys/stat.h>

#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pcipassd.h"

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static char	root[64];

enum { F_NAME, F_VENDOR, F_DEVICE, F_CLASS, F_REVISION, F_SUBVENDOR,
	F_SUBDEVICE, F_NUMA, F_TOTALVFS, F_NUMVFS, F_BOOTVGA, F_CONFIG,
	F_GROUP, F_DRIVER, F_PHYSFN, F_NET, NFIELDS };
static const char *const files[NFIELDS] = { NULL, "vendor", "device",
	"class", "revision", "subsystem_vendor", "subsystem_device",
	"numa_node", "sriov_totalvfs", "sriov_numvfs", "boot_vga", "config",
	NULL, NULL, NULL, NULL };
static const char *const defaults[NFIELDS] = { "0000:00:00.0", "0x10de",
	"0x1db4", "0x030200", "0xa1", "0x10de", "0x1214", "0", "\1", "\1",
	"\1", "\1", "1", "vfio-pci", "\1", "\1" };

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_init(1, -1);
	log_to(fopen("/dev/null", "w"));
	snprintf(root, sizeof(root), "/tmp/fuzz-scan.%d", (int)getpid());
	return 0;
}

static int
rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(p);
	return 0;
}

/* A file or directory name from a chunk: no '/', not "." or "..". */
static void
name_of(const char *c, size_t n, char *out, size_t len)
{
	size_t	i;

	if (n >= len)
		n = len - 1;
	for (i = 0; i < n; i++)
		out[i] = c[i] == '/' ? '_' : c[i];
	out[n] = '\0';
	if (n == 0 || strcmp(out, ".") == 0 || strcmp(out, "..") == 0)
		snprintf(out, len, "x");
}

static void
put(const char *dir, const char *file, const char *c, size_t n)
{
	char	 path[PATH_MAX];
	FILE	*f;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	if ((f = fopen(path, "w")) != NULL) {
		fwrite(c, 1, n, f);
		fclose(f);
	}
}

static void
link_to(const char *dir, const char *name, const char *target)
{
	char	path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (symlink(target, path) != 0)
		return;
}

static void
build(const uint8_t *data, size_t size)
{
	const char	*c[3 * NFIELDS];
	size_t		 n[3 * NFIELDS], k = 0, i, d, ndev;
	const char	*p = (const char *)data, *end = p + size, *z;
	char		 dev[PATH_MAX], name[128], grp[128], tmp[PATH_MAX];

	while (p <= end && k < 3 * NFIELDS) {
		z = memchr(p, '\0', (size_t)(end - p));
		c[k] = p;
		n[k++] = z ? (size_t)(z - p) : (size_t)(end - p);
		if (z == NULL)
			break;
		p = z + 1;
	}
	ndev = k / NFIELDS + (k % NFIELDS != 0);
	if (ndev == 0)
		ndev = 1;
	snprintf(tmp, sizeof(tmp), "%s/bus/pci/devices", root);
	mkdir(root, 0755);
	snprintf(dev, sizeof(dev), "%s/bus", root), mkdir(dev, 0755);
	snprintf(dev, sizeof(dev), "%s/bus/pci", root), mkdir(dev, 0755);
	mkdir(tmp, 0755);
	snprintf(dev, sizeof(dev), "%s/kernel", root), mkdir(dev, 0755);
	snprintf(dev, sizeof(dev), "%s/kernel/iommu_groups", root);
	mkdir(dev, 0755);
	for (d = 0; d < ndev; d++) {
		const char	*f[NFIELDS];
		size_t		 l[NFIELDS];

		for (i = 0; i < NFIELDS; i++) {
			if (d * NFIELDS + i < k) {
				f[i] = c[d * NFIELDS + i];
				l[i] = n[d * NFIELDS + i];
			} else {
				f[i] = defaults[i];
				l[i] = strlen(defaults[i]);
			}
		}
		name_of(f[F_NAME], l[F_NAME], name, sizeof(name));
		snprintf(dev, sizeof(dev), "%s/%s", tmp, name);
		if (mkdir(dev, 0755) != 0)
			continue;
		for (i = 0; i < NFIELDS; i++)
			if (files[i] != NULL && !(l[i] == 1 && f[i][0] == 1))
				put(dev, files[i], f[i], l[i]);
		/* The config chunk doubles as NVIDIA's vGPU type list. */
		if (!(l[F_CONFIG] == 1 && f[F_CONFIG][0] == 1)) {
			snprintf(tmp, sizeof(tmp), "%s/nvidia", dev);
			mkdir(tmp, 0755);
			put(tmp, "creatable_vgpu_types", f[F_CONFIG],
			    l[F_CONFIG]);
			snprintf(tmp, sizeof(tmp), "%s/bus/pci/devices", root);
		}
		if (!(l[F_GROUP] == 1 && f[F_GROUP][0] == 1)) {
			char	gdir[PATH_MAX], target[PATH_MAX];

			name_of(f[F_GROUP], l[F_GROUP], grp, sizeof(grp));
			snprintf(gdir, sizeof(gdir), "%s/kernel/iommu_groups/%s",
			    root, grp);
			mkdir(gdir, 0755);
			strcat(gdir, "/devices");
			mkdir(gdir, 0755);
			snprintf(target, sizeof(target), "../../../../bus/pci/"
			    "devices/%s", name);
			link_to(gdir, name, target);
			snprintf(target, sizeof(target), "../../../../kernel/"
			    "iommu_groups/%s", grp);
			link_to(dev, "iommu_group", target);
		}
		if (!(l[F_DRIVER] == 1 && f[F_DRIVER][0] == 1)) {
			char	ddir[PATH_MAX], target[PATH_MAX];

			name_of(f[F_DRIVER], l[F_DRIVER], grp, sizeof(grp));
			snprintf(ddir, sizeof(ddir), "%s/bus/pci/drivers", root);
			mkdir(ddir, 0755);
			snprintf(ddir + strlen(ddir), sizeof(ddir) - strlen(ddir),
			    "/%s", grp);
			mkdir(ddir, 0755);
			snprintf(target, sizeof(target), "../../drivers/%s", grp);
			link_to(dev, "driver", target);
		}
		if (!(l[F_PHYSFN] == 1 && f[F_PHYSFN][0] == 1)) {
			char	target[PATH_MAX];

			name_of(f[F_PHYSFN], l[F_PHYSFN], grp, sizeof(grp));
			snprintf(target, sizeof(target), "../%s", grp);
			link_to(dev, "physfn", target);
		}
		if (!(l[F_NET] == 1 && f[F_NET][0] == 1)) {
			char	net[PATH_MAX];

			name_of(f[F_NET], l[F_NET], grp, sizeof(grp));
			snprintf(net, sizeof(net), "%s/net", dev);
			mkdir(net, 0755);
			strcat(net, "/");
			strcat(net, grp);
			mkdir(net, 0755);
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pp_inventory	inv;
	size_t			i;

	nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	build(data, size);
	if (scan_inventory(root, &inv) == 0) {
		for (i = 1; i < inv.ndev; i++)
			if (inv.dev[i - 1].addr >= inv.dev[i].addr)
				__builtin_trap();
		for (i = 0; i < inv.ndev; i++)
			if (inventory_find(&inv, inv.dev[i].addr) !=
			    &inv.dev[i])
				__builtin_trap();
		/* Every device read as a vGPU too: PROFILES stays a string. */
		for (i = 0; i < inv.ndev; i++) {
			scan_vgpu(root, &inv.dev[i]);
			if (strnlen(inv.dev[i].profiles, PP_PROFILES_LEN) ==
			    PP_PROFILES_LEN)
				__builtin_trap();
		}
		for (i = 1; i < inv.nmember; i++)
			if (inv.member[i - 1].group > inv.member[i].group ||
			    (inv.member[i - 1].group == inv.member[i].group &&
			    inv.member[i - 1].addr >= inv.member[i].addr))
				__builtin_trap();
		inventory_free(&inv);
	}
	return 0;
}
