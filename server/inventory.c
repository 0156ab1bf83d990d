/*
 * The inventory as the daemon and the host tools see it: what the scan
 * found, with the filter's verdict on each device and the host-critical
 * guard's (server/guard.c).
 */
#include "pcipassd.h"

int
inventory_scan(const struct pp_config *c, const struct pp_filter *f,
    struct pp_inventory *inv)
{
	if (scan_inventory(c->sysfs_root, inv) < 0)
		return -1;
	filter_apply(f, inv);
	guard_apply(c, inv);
	return 0;
}
