/*
 * The inventory as the daemon and the host tools see it: what the scan
 * found, with the filter's verdict on each device, the host-critical
 * guard's (server/guard.c), and DEVICE_NAME as OpenNebula names it.
 */
#include <stdio.h>
#include <string.h>

#include "pcipassd.h"

/* A string snprintf cut short: drop a UTF-8 sequence it split. */
static void
utf8_cut(char *s)
{
	size_t	n = strlen(s), i = n, want;

	while (i > 0 && ((unsigned char)s[i - 1] & 0xc0) == 0x80)
		i--;
	if (i == 0 || ((unsigned char)s[i - 1] & 0xc0) != 0xc0)
		return;
	want = ((unsigned char)s[i - 1] & 0xe0) == 0xc0 ? 2 :
	    ((unsigned char)s[i - 1] & 0xf0) == 0xe0 ? 3 : 4;
	if (n - (i - 1) < want)
		s[i - 1] = '\0';
}

/*
 * OpenNebula's probe names devices of :nvidia_vendors: "VENDOR_NAME
 * DEVICE_NAME", and their VFs "NVIDIA vGPU device", which are vGPUs with
 * profiles and an mdev mode. After the filter: :device_name: patterns
 * match the name as lspci prints it.
 */
static void
one_names(const char *sysfs_root, const struct pp_filter *f,
    struct pp_inventory *inv)
{
	struct pp_device	*d;
	char			 buf[PP_DEVICE_NAME_LEN];
	size_t			 i;

	for (i = 0; i < inv->ndev; i++) {
		d = &inv->dev[i];
		if (!filter_nvidia(f, d->vendor))
			continue;
		if (d->sriov == SRIOV_VF) {
			snprintf(buf, sizeof(buf), "NVIDIA vGPU device");
			scan_vgpu(sysfs_root, d);
		} else if ((size_t)snprintf(buf, sizeof(buf), "%s %s",
		    d->vendor_name, d->device_name) >= sizeof(buf))
			utf8_cut(buf);
		d->device_name = intern(buf);
	}
}

int
inventory_scan(const struct pp_config *c, const struct pp_filter *f,
    struct pp_inventory *inv)
{
	if (scan_inventory(c->sysfs_root, inv) < 0)
		return -1;
	filter_apply(f, inv);
	one_names(c->sysfs_root, f, inv);
	guard_apply(c, inv);
	return 0;
}
