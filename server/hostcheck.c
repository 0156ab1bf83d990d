/*
 * pcipass-host host check: one line per requirement of PCI passthrough,
 * "ok" or "FAIL" with the fix, so an administrator can prepare a host
 * from the output alone. Returns -1 when any requirement fails.
 */
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "pcipassd.h"

struct check {
	FILE	*out;
	int	 failed;
};

static void
line(struct check *c, int ok, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
line(struct check *c, int ok, const char *fmt, ...)
{
	va_list	ap;

	fputs(ok ? "ok   " : "FAIL ", c->out);
	va_start(ap, fmt);
	vfprintf(c->out, fmt, ap);
	va_end(ap);
	fputc('\n', c->out);
	c->failed |= !ok;
}

int
host_cpu_vendor(const char *proc)
{
	char	 path[PATH_MAX], l[256];
	FILE	*f;
	int	 v = CPU_OTHER;

	snprintf(path, sizeof(path), "%s/cpuinfo", proc);
	if ((f = fopen(path, "re")) == NULL)
		return CPU_OTHER;
	while (v == CPU_OTHER && fgets(l, sizeof(l), f) != NULL) {
		if (strncmp(l, "vendor_id", 9) != 0)
			continue;
		if (strstr(l, "GenuineIntel") != NULL)
			v = CPU_INTEL;
		else if (strstr(l, "AuthenticAMD") != NULL)
			v = CPU_AMD;
	}
	fclose(f);
	return v;
}

/*
 * The IOMMU the firmware describes: ACPI's DMAR table is Intel's VT-d,
 * IVRS is AMD-Vi; without either, the CPU's vendor guesses. (A real
 * kernel under QEMU showed an AMD vendor string with an Intel IOMMU.)
 */
int
host_iommu_kind(const struct pp_config *c)
{
	char		path[PATH_MAX];
	struct stat	st;

	snprintf(path, sizeof(path), "%s/firmware/acpi/tables/DMAR",
	    c->sysfs_root);
	if (stat(path, &st) == 0)
		return CPU_INTEL;
	snprintf(path, sizeof(path), "%s/firmware/acpi/tables/IVRS",
	    c->sysfs_root);
	if (stat(path, &st) == 0)
		return CPU_AMD;
	return host_cpu_vendor(c->proc_root);
}

/* The kernel parameter among words that turns the IOMMU off, or NULL. */
static const char *
iommu_off(const char *cmdline)
{
	static const char	*offs[] = { "intel_iommu=off", "amd_iommu=off",
				    "iommu=off" };
	const char		*p;
	size_t			 i, n;

	for (i = 0; i < sizeof(offs) / sizeof(offs[0]); i++)
		for (p = cmdline; (p = strstr(p, offs[i])) != NULL; p += n) {
			n = strlen(offs[i]);
			if ((p == cmdline || p[-1] == ' ') &&
			    strchr(" \n", p[n]) != NULL)
				return offs[i];
		}
	return NULL;
}

static void
check_iommu(const struct host_ctx *h, struct check *c)
{
	const char	*off;
	char		 dir[PATH_MAX], cmdline[4096];
	DIR		*d;
	struct dirent	*e;
	int		 n = 0;

	snprintf(dir, sizeof(dir), "%s/kernel/iommu_groups",
	    h->conf.sysfs_root);
	if ((d = opendir(dir)) != NULL) {
		while ((e = readdir(d)) != NULL)
			n += e->d_name[0] != '.';
		closedir(d);
	}
	if (n > 0) {
		line(c, 1, "IOMMU is active: %d IOMMU groups", n);
		return;
	}
	if (sysfs_read_attr(h->conf.proc_root, "cmdline", cmdline,
	    sizeof(cmdline)) < 0)
		cmdline[0] = '\0';
	if ((off = iommu_off(cmdline)) != NULL) {
		line(c, 0, "IOMMU is not active (no IOMMU groups): the kernel "
		    "command line has %s; fix: remove it (pcipass-host host "
		    "config --cmdline), reboot", off);
		return;
	}
	switch (host_iommu_kind(&h->conf)) {
	case CPU_INTEL:
		if (strstr(cmdline, "intel_iommu=on") != NULL)
			line(c, 0, "IOMMU is not active (no IOMMU groups); "
			    "fix: enable VT-d in the firmware setup "
			    "(intel_iommu=on is already on the kernel "
			    "command line)");
		else
			line(c, 0, "IOMMU is not active (no IOMMU groups); "
			    "fix: add intel_iommu=on to the kernel command "
			    "line (pcipass-host host config --cmdline), "
			    "enable VT-d in the firmware setup, reboot");
		break;
	case CPU_AMD:
		line(c, 0, "IOMMU is not active (no IOMMU groups); fix: "
		    "enable the IOMMU (AMD-Vi) in the firmware setup, or add "
		    "amd_iommu=on to the kernel command line, and reboot");
		break;
	default:
		line(c, 0, "IOMMU is not active (no IOMMU groups); fix: "
		    "enable the IOMMU in the firmware setup and the kernel, "
		    "and reboot");
	}
}

static void
check_kernel(const struct host_ctx *h, struct check *c)
{
	char	rel[256];
	int	major, minor;

	if (sysfs_read_attr(h->conf.proc_root, "sys/kernel/osrelease", rel,
	    sizeof(rel)) < 0) {
		line(c, 0, "kernel version unknown (cannot read "
		    "sys/kernel/osrelease); fix: mount /proc");
		return;
	}
	rel[strcspn(rel, "\n")] = '\0';
	if (sscanf(rel, "%d.%d", &major, &minor) != 2)
		line(c, 0, "kernel version \"%s\" not understood; fix: run a "
		    "kernel >= 3.16 (driver_override)", rel);
	else if (major < 3 || (major == 3 && minor < 16))
		line(c, 0, "kernel %s is older than 3.16 and has no "
		    "driver_override; fix: install and boot a kernel >= 3.16",
		    rel);
	else
		line(c, 1, "kernel %s has driver_override (>= 3.16)", rel);
}

static void
check_vfio(const struct host_ctx *h, struct check *c)
{
	char		path[PATH_MAX];
	struct stat	st;

	snprintf(path, sizeof(path), "%s/bus/pci/drivers/vfio-pci",
	    h->conf.sysfs_root);
	if (stat(path, &st) == 0) {
		line(c, 1, "vfio-pci is loaded");
		return;
	}
	snprintf(path, sizeof(path), "%s/module/vfio_pci", h->conf.sysfs_root);
	if (stat(path, &st) == 0) {
		line(c, 1, "vfio-pci is available");
		return;
	}
	line(c, 0, "vfio-pci is not loaded; fix: modprobe vfio-pci, and "
	    "echo vfio-pci > /etc/modules-load.d/vfio-pci.conf to load it at "
	    "boot");
}

/*
 * The other endpoints of d's group. Returns how many would stop a VM
 * from using it: on a host driver and not passable along with it.
 */
static int
siblings(const struct pp_inventory *inv, const struct pp_device *d,
    char *buf, size_t len)
{
	const struct pp_device	*e;
	char			 a[PP_ADDR_SYSFS_LEN], why[160];
	const char		*what;
	enum sibling		 s;
	size_t			 m, n = 0;
	int			 bad = 0;

	buf[0] = '\0';
	for (m = rule_group_first(inv, d->iommu); m < inv->nmember &&
	    inv->member[m].group == d->iommu; m++) {
		if (inv->member[m].addr == d->addr)
			continue;
		e = inventory_find(inv, inv->member[m].addr);
		if (e != NULL && device_is_bridge(e))
			continue;
		addr_fmt(inv->member[m].addr, ADDR_SYSFS, a, sizeof(a));
		/* The matcher's rule (server/rules.c), for no VM. */
		s = rule_sibling(e, -1);
		bad += s == SIB_BLOCKS || s == SIB_HELD;
		if (e == NULL)
			what = "not scanned";
		else if (e->vmid >= 0)
			what = (snprintf(why, sizeof(why), "held by VM %d",
			    e->vmid), why);
		else if (rule_host_passable(e))
			what = "offered, bound along";
		else if (e->critical[0] != '\0')
			what = "host-critical";
		else if (!e->offered)
			what = "not offered";
		else
			what = rule_why(e, rule_device(e, -1), why,
			    sizeof(why));
		if (n < len)
			n += (size_t)snprintf(buf + n, len - n, "%s%s (%s, %s)",
			    n ? ", " : "", a, e && e->driver[0] ? e->driver :
			    "no driver", what);
	}
	return bad;
}

static void
check_device(const struct host_ctx *h, const struct pp_device *d,
    struct check *c)
{
	char	a[PP_ADDR_SYSFS_LEN], others[1024];

	addr_fmt(d->addr, ADDR_SYSFS, a, sizeof(a));
	if (d->critical[0] != '\0') {
		line(c, 1, "%s is host-critical (%s): never given to a VM", a,
		    d->critical);
		return;
	}
	if (d->iommu < 0) {
		line(c, 0, "%s has no IOMMU group; fix: activate the IOMMU "
		    "(see above)", a);
		return;
	}
	if (rule_device(d, -1) == RULE_VFS_ENABLED) {
		line(c, 1, "%s is an SR-IOV PF with %d VFs enabled: its VFs "
		    "go to VMs, never it", a, d->sriov_num);
		return;
	}
	if (siblings(&h->inv, d, others, sizeof(others)) > 0)
		line(c, 0, "%s IOMMU group %d is shared with %s; fix: offer "
		    "those endpoints too in the filter, or move the card to "
		    "a slot with its own IOMMU group", a, d->iommu, others);
	else if (others[0] != '\0')
		line(c, 1, "%s IOMMU group %d is shared with %s", a, d->iommu,
		    others);
	else
		line(c, 1, "%s IOMMU group %d is isolated", a, d->iommu);
}

int
host_check(const struct host_ctx *h, FILE *out)
{
	struct check	c = { out, 0 };
	size_t		i;
	int		n = 0;

	check_iommu(h, &c);
	check_kernel(h, &c);
	check_vfio(h, &c);
	for (i = 0; i < h->inv.ndev; i++) {
		if (!h->inv.dev[i].offered || device_is_bridge(&h->inv.dev[i]))
			continue;
		check_device(h, &h->inv.dev[i], &c);
		n++;
	}
	if (n == 0)
		line(&c, 0, "the filter offers no device; fix: list the "
		    "devices for VMs in %s", h->conf.filter);
	return c.failed ? -1 : 0;
}
