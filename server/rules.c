/*
 * The admission rules, in one place: may a device go to a VM, which
 * drivers leave an IOMMU group usable by VFIO, and what a sibling in a
 * device's group demands. The matcher (match.c), the binder (bind.c) and
 * the host tools (hostcheck.c, hostconf.c) all ask here, so they cannot
 * disagree. Pure: nothing here reads sysfs or the database.
 *
 * A device may go to a VM on its own account when the filter offers it
 * (or that VM already holds it: a filter change does not take devices
 * from running VMs), the host does not need it, it is an endpoint (no
 * PCI-PCI or CardBus bridge), it has an IOMMU group (VFIO needs one),
 * it is not an SR-IOV PF with VFs enabled (unbinding it would destroy
 * them; its VFs can go instead), and no vGPU the kernel refused to
 * remove is left on it.
 *
 * Its group decides the rest: vfio-pci takes a group only when every
 * endpoint in it is on vfio-pci, pci-stub or no driver. So each sibling
 * is either harmless (a bridge, one the same VM holds, or one on such a
 * driver), must be taken along (free, admitted on its own account, and
 * on a host driver), or forbids the device (held by another VM, or on a
 * host driver and not admitted).
 */
#include <stdio.h>
#include <string.h>

#include "pcipassd.h"

enum rule
rule_device(const struct pp_device *d, int vmid)
{
	if (!d->offered && !(vmid >= 0 && d->vmid == vmid))
		return RULE_NOT_OFFERED;
	if (d->critical[0] != '\0')
		return RULE_CRITICAL;
	if (device_is_bridge(d))
		return RULE_BRIDGE;
	if (d->iommu < 0)
		return RULE_NO_GROUP;
	if (d->sriov == SRIOV_PF && d->sriov_num > 0)
		return RULE_VFS_ENABLED;
	if (dev_extra(d)->stuck[0] != '\0' && !(vmid >= 0 &&
	    d->vmid == vmid))
		return RULE_VGPU_STUCK;
	return RULE_OK;
}

/* The rule in the words of STATE's REASON; NULL for RULE_OK. */
const char *
rule_why(const struct pp_device *d, enum rule r, char *buf, size_t len)
{
	switch (r) {
	case RULE_NOT_OFFERED:
		return "not offered by the filter";
	case RULE_CRITICAL:
		snprintf(buf, len, "host-critical: %s", d->critical);
		return buf;
	case RULE_BRIDGE:
		return "bridge";
	case RULE_NO_GROUP:
		return "no IOMMU group";
	case RULE_VFS_ENABLED:
		snprintf(buf, len, "VFs enabled (%d)", d->sriov_num);
		return buf;
	case RULE_VGPU_STUCK:
		snprintf(buf, len, "vGPU %s still there: %s", d->vgpu,
		    dev_extra(d)->stuck);
		return buf;
	default:
		return NULL;
	}
}

/*
 * What a boot-time config may hand to vfio-pci: what rule_device()
 * admits, except that a missing IOMMU group does not count, since a host
 * being prepared may not have its IOMMU on yet.
 */
int
rule_host_passable(const struct pp_device *d)
{
	enum rule	r = rule_device(d, -1);

	return r == RULE_OK || r == RULE_NO_GROUP;
}

/* A sibling on no driver, vfio-pci or pci-stub does not hinder VFIO. */
int
rule_harmless_driver(const char *drv)
{
	return drv[0] == '\0' || strcmp(drv, "vfio-pci") == 0 ||
	    strcmp(drv, "pci-stub") == 0;
}

/* What sibling e (NULL: listed by the kernel, not scanned) means for a
 * device going to vmid (-1: no VM in particular). */
enum sibling
rule_sibling(const struct pp_device *e, int vmid)
{
	if (e == NULL)
		return SIB_UNKNOWN;
	if (device_is_bridge(e) || (vmid >= 0 && e->vmid == vmid))
		return SIB_FREE;
	if (e->vmid >= 0)
		return SIB_HELD;
	if (rule_harmless_driver(e->driver))
		return SIB_FREE;
	if (e->present && rule_device(e, vmid) == RULE_OK)
		return SIB_ALONG;
	return SIB_BLOCKS;
}

/* First member of group g in the sorted member list (nmember if none). */
size_t
rule_group_first(const struct pp_inventory *inv, int g)
{
	size_t	lo = 0, hi = inv->nmember, mid;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		if (inv->member[mid].group < g)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* s is an item of the comma list l. */
static int
list_has(const char *l, const char *s, size_t n)
{
	const char	*p = l, *e;

	for (; *p != '\0'; p = *e ? e + 1 : e) {
		e = p + strcspn(p, ",");
		if ((size_t)(e - p) == n && strncmp(p, s, n) == 0)
			return 1;
	}
	return 0;
}

/*
 * Whether vGPU VF d can make profile now (API.md "Mediated devices"): a
 * legacy type name among those with instances left, or an NVIDIA type ID
 * given alone ("590") or as PROFILES writes it ("590 (NVIDIA A10-8Q)")
 * among those creatable_vgpu_types lists.
 */
enum profile_rule
rule_profile(const struct pp_device *d, const char *profile)
{
	size_t	id = strspn(profile, "0123456789");

	if (d->mdev_mode[0] == '\0')
		return PROF_NOT_VGPU;
	if (list_has(d->creatable, profile, strlen(profile)))
		return PROF_OK;
	if (id > 0 && (profile[id] == '\0' || (profile[id] == ' ' &&
	    profile[id + 1] == '(' && profile[strlen(profile) - 1] == ')')) &&
	    list_has(d->creatable, profile, id))
		return PROF_OK;
	if (list_has(d->profiles, profile, strlen(profile)))
		return PROF_NONE_LEFT;
	return PROF_NOT_OFFERED;
}

const char *
rule_profile_why(enum profile_rule r, const char *profile, char *buf,
    size_t len)
{
	switch (r) {
	case PROF_NOT_VGPU:
		snprintf(buf, len, "not a vGPU");
		break;
	case PROF_NONE_LEFT:
		snprintf(buf, len, "no instance of profile %s left", profile);
		break;
	case PROF_NOT_OFFERED:
		snprintf(buf, len, "profile %s not offered", profile);
		break;
	default:
		snprintf(buf, len, "offers profile %s", profile);
	}
	return buf;
}
