/*
 * The host-critical guard: devices the host itself needs are never
 * offered to a VM, whatever the filter says. They stay listed (the filter
 * offered them) with `critical` set, which the matcher turns into STATE
 * blocked, REASON "host-critical: ...".
 *
 * Three kinds: the controller behind the root filesystem (found from
 * <proc>/mounts and the <sysfs>/class/block link of its device, whose
 * target path names the PCI functions above it), the NIC of the default
 * route (<proc>/net/route, through bridges, bonds and VLANs via brif/ and
 * lower_* links), and the boot VGA. Missing proc or sysfs files mean no
 * guard of that kind, not an error: a fake tree may have none.
 */
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pcipassd.h"

#define GUARD_DEPTH	4	/* dm over md over partitions, bridge over bond */

static void
mark(struct pp_inventory *inv, pp_addr a, const char *fmt, const char *arg)
{
	struct pp_device	*d = inventory_find(inv, a);
	char			 why[PP_CRITICAL_LEN];

	if (d == NULL || d->critical[0] != '\0')
		return;
	snprintf(why, sizeof(why), fmt, arg);
	d->critical = intern(why);
	log_debug("guard: %04x:%02x:%02x.%x: %s", PP_DOMAIN(a), PP_BUS(a),
	    PP_SLOT(a), PP_FUNC(a), d->critical);
}

/*
 * The PCI function nearest the end of a sysfs device path: the
 * controller (the functions before it are the bridges leading to it).
 */
static int
path_pci_addr(const char *path, pp_addr *out)
{
	char	 buf[PATH_MAX], *p, *save = NULL;
	int	 found = 0;
	pp_addr	 a;

	snprintf(buf, sizeof(buf), "%s", path);
	for (p = strtok_r(buf, "/", &save); p != NULL;
	    p = strtok_r(NULL, "/", &save))
		if (addr_parse(p, ADDR_SYSFS, &a) == 0) {
			*out = a;
			found = 1;
		}
	return found ? 0 : -1;
}

/* Block device dev (a name in class/block) and what it is built on. */
static void
guard_block(const struct pp_config *c, struct pp_inventory *inv,
    const char *dev, const char *why, int depth)
{
	char		 path[PATH_MAX], target[PATH_MAX];
	DIR		*d;
	struct dirent	*e;
	ssize_t		 n;
	pp_addr		 a;

	if (depth > GUARD_DEPTH || strchr(dev, '/') != NULL ||
	    strcmp(dev, "..") == 0 || strcmp(dev, ".") == 0)
		return;
	snprintf(path, sizeof(path), "%s/class/block/%s", c->sysfs_root, dev);
	if ((n = readlink(path, target, sizeof(target) - 1)) >= 0) {
		target[n] = '\0';
		if (path_pci_addr(target, &a) == 0)
			mark(inv, a, "root filesystem on %s", why);
	}
	/* Device mapper and md: the devices underneath are in slaves/. */
	snprintf(path, sizeof(path), "%s/class/block/%s/slaves",
	    c->sysfs_root, dev);
	if ((d = opendir(path)) == NULL)
		return;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			guard_block(c, inv, e->d_name, why, depth + 1);
	closedir(d);
}

/* The device of the mount on "/", as a name under class/block. */
static int
root_device(const char *proc, char *out, size_t len)
{
	char	 path[PATH_MAX], line[1024], dev[512], mnt[512], l[512];
	char	 real[PATH_MAX], *base;
	FILE	*f;
	int	 found = 0;

	/* Init's view first: the host's own, even when this daemon runs in
	 * a mount namespace of its own (systemd's sandbox, a container
	 * given the host's /proc as --proc-root). */
	snprintf(path, sizeof(path), "%s/1/mounts", proc);
	if ((f = fopen(path, "re")) == NULL) {
		snprintf(path, sizeof(path), "%s/mounts", proc);
		if ((f = fopen(path, "re")) == NULL)
			return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "%511s %511s", l, mnt) == 2 &&
		    strcmp(mnt, "/") == 0 && strncmp(l, "/dev/", 5) == 0) {
			/* The last mount on / is the one in use. */
			memcpy(dev, l, sizeof(dev));
			found = 1;
		}
	fclose(f);
	if (!found)
		return -1;
	/* /dev/mapper/NAME and /dev/disk/... are links to ../dm-N etc. */
	if (strchr(dev + 5, '/') != NULL && realpath(dev, real) != NULL)
		snprintf(dev, sizeof(dev), "%s", real);
	base = strrchr(dev, '/');
	snprintf(out, len, "%s", base + 1);
	return 0;
}

static void
guard_rootfs(const struct pp_config *c, struct pp_inventory *inv)
{
	char	dev[256];

	if (root_device(c->proc_root, dev, sizeof(dev)) == 0)
		guard_block(c, inv, dev, dev, 0);
}

/* Interfaces of the default route (destination 0.0.0.0/0). */
static int
default_ifaces(const char *proc, char out[][32], int max)
{
	char	 path[PATH_MAX], line[512], ifn[32], dst[16], mask[16];
	char	 gw[16];
	unsigned flags;
	FILE	*f;
	int	 n = 0;

	snprintf(path, sizeof(path), "%s/1/net/route", proc);
	if ((f = fopen(path, "re")) == NULL) {
		snprintf(path, sizeof(path), "%s/net/route", proc);
		if ((f = fopen(path, "re")) == NULL)
			return 0;
	}
	while (n < max && fgets(line, sizeof(line), f) != NULL) {
		/* Iface Destination Gateway Flags RefCnt Use Metric Mask */
		if (sscanf(line, "%31s %15s %15s %x %*s %*s %*s %15s", ifn, dst,
		    gw, &flags, mask) != 5 || strcmp(dst, "00000000") != 0 ||
		    strcmp(mask, "00000000") != 0 || !(flags & 0x1))
			continue;
		snprintf(out[n++], 32, "%s", ifn);
	}
	fclose(f);
	return n;
}

/*
 * The interface's class/net link, for interfaces a level below their PCI
 * function (virtio-net: .../0000:00:03.0/virtio2/net/eth0).
 */
static int
guard_iface_link(const struct pp_config *c, struct pp_inventory *inv,
    const char *ifn, const char *why)
{
	char	path[PATH_MAX], target[PATH_MAX];
	ssize_t	n;
	pp_addr	a;

	snprintf(path, sizeof(path), "%s/class/net/%s", c->sysfs_root, ifn);
	if ((n = readlink(path, target, sizeof(target) - 1)) < 0)
		return 0;
	target[n] = '\0';
	if (path_pci_addr(target, &a) < 0 || inventory_find(inv, a) == NULL)
		return 0;
	mark(inv, a, "default route via %s", why);
	return 1;
}

/* Does a PCI function own interface ifn (its net/IFNAME directory)? */
static int
guard_iface_pci(const struct pp_config *c, struct pp_inventory *inv,
    const char *ifn, const char *why)
{
	char	path[PATH_MAX], a[PP_ADDR_SYSFS_LEN];
	size_t	i;
	int	found = 0;

	for (i = 0; i < inv->ndev; i++) {
		/* The scan saw no net/ directory: nothing to look for. */
		if (inv->dev[i].ifname[0] == '\0')
			continue;
		snprintf(path, sizeof(path), "%s/bus/pci/devices/%s/net/%s",
		    c->sysfs_root, addr_fmt(inv->dev[i].addr, ADDR_SYSFS, a,
		    sizeof(a)), ifn);
		if (access(path, F_OK) == 0) {
			mark(inv, inv->dev[i].addr, "default route via %s",
			    why);
			found = 1;
		}
	}
	return found || guard_iface_link(c, inv, ifn, why);
}

/*
 * The interface itself, or the ports under it: a bridge's brif/ entries,
 * and the lower_* links of bonds, VLANs and macvlans.
 */
static void
guard_iface(const struct pp_config *c, struct pp_inventory *inv,
    const char *ifn, const char *why, int depth)
{
	char		 path[PATH_MAX];
	DIR		*d;
	struct dirent	*e;

	if (depth > GUARD_DEPTH || strchr(ifn, '/') != NULL ||
	    ifn[0] == '.' || guard_iface_pci(c, inv, ifn, why))
		return;
	snprintf(path, sizeof(path), "%s/class/net/%s/brif", c->sysfs_root,
	    ifn);
	if ((d = opendir(path)) != NULL) {
		while ((e = readdir(d)) != NULL)
			if (e->d_name[0] != '.')
				guard_iface(c, inv, e->d_name, why, depth + 1);
		closedir(d);
	}
	snprintf(path, sizeof(path), "%s/class/net/%s", c->sysfs_root, ifn);
	if ((d = opendir(path)) == NULL)
		return;
	while ((e = readdir(d)) != NULL)
		if (strncmp(e->d_name, "lower_", 6) == 0)
			guard_iface(c, inv, e->d_name + 6, why, depth + 1);
	closedir(d);
}

static void
guard_route(const struct pp_config *c, struct pp_inventory *inv)
{
	char	ifn[8][32];
	int	i, n = default_ifaces(c->proc_root, ifn, 8);

	for (i = 0; i < n; i++)
		guard_iface(c, inv, ifn[i], ifn[i], 0);
}

/* Set `critical` on every device the host needs. */
void
guard_apply(const struct pp_config *c, struct pp_inventory *inv)
{
	size_t	i;

	for (i = 0; i < inv->ndev; i++)
		inv->dev[i].critical = pp_empty;
	guard_rootfs(c, inv);
	guard_route(c, inv);
	for (i = 0; i < inv->ndev; i++)
		if (inv->dev[i].boot_vga == 1)
			mark(inv, inv->dev[i].addr, "%s", "boot VGA");
}
