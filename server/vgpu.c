/*
 * vGPUs, made and removed as OpenNebula's vgpu script does (API.md
 * "Mediated devices"), for pcipassd --bind vfio. With bind.c, the only
 * code that writes sysfs.
 *
 * Legacy (the kernel's mdev bus knows the VF): make writes the device's
 * UUID into class/mdev_bus/ADDR/mdev_supported_types/PROFILE/create;
 * remove writes 1 into bus/mdev/devices/UUID/remove. NVIDIA's own sysfs:
 * make writes the type ID into bus/pci/devices/ADDR/nvidia/
 * current_vgpu_type; remove writes 0 there. A vGPU already made counts
 * as made, one already gone as removed; one of another type is refused.
 * The kernel's refusal (no instance left, a vGPU in use) comes back as
 * its error text.
 */

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "pcipassd.h"

/* NVIDIA's type ID of a PROFILE ("590" or "590 (NVIDIA A10-8Q)"). */
static int
type_id(const char *profile, char *id, size_t len)
{
	size_t	n = strspn(profile, "0123456789");

	if (n == 0 || n >= len || (profile[n] != '\0' && profile[n] != ' '))
		return -1;
	memcpy(id, profile, n);
	id[n] = '\0';
	return strcmp(id, "0") == 0 ? -1 : 0;
}

/* The type of the legacy mdev uuid: 1 and its name, 0 none. */
static int
mdev_type(const char *root, const char *uuid, char *out, size_t len)
{
	char	dir[PATH_MAX];

	snprintf(dir, sizeof(dir), "%s/bus/mdev/devices/%s", root, uuid);
	return sysfs_link_base(dir, "mdev_type", out, len) == 0;
}

/* NVIDIA's current type ID of a, "0" for none; -1 if unreadable. */
static int
current_type(const char *root, const char *a, char *out, size_t len,
    char *msg, size_t mlen)
{
	char	 dir[PATH_MAX];

	snprintf(dir, sizeof(dir), "%s/bus/pci/devices/%s/nvidia", root, a);
	if (sysfs_read_attr(dir, "current_vgpu_type", out, len) < 0) {
		snprintf(msg, mlen, "cannot read %s/current_vgpu_type: %s",
		    dir, strerror(errno));
		return -1;
	}
	out[strcspn(out, " \t\r")] = '\0';
	if (out[0] == '\0' || strspn(out, "0123456789") != strlen(out)) {
		snprintf(msg, mlen, "%s/current_vgpu_type: \"%.20s\" is not a "
		    "type ID", dir, out);
		return -1;
	}
	if (strspn(out, "0") == strlen(out))
		snprintf(out, len, "0");
	return 0;
}

/*
 * Make d's vGPU of profile. Returns 1 when made, 0 when it was already
 * there, -1 with msg saying why not (the kernel's error, or a vGPU of
 * another type there).
 */
int
vgpu_make(const char *root, const struct pp_device *d, const char *profile,
    char *msg, size_t len)
{
	char	a[PP_ADDR_SYSFS_LEN], uuid[64], rel[PATH_MAX], cur[64];
	char	id[16];

	addr_fmt(d->addr, ADDR_SYSFS, a, sizeof(a));
	if (strcmp(d->mdev_mode, "legacy") == 0) {
		if (!sysfs_name_ok(profile))
			return snprintf(msg, len, "%s: \"%.40s\" is not a "
			    "vGPU type name", a, profile), -1;
		vgpu_uuid(d->addr, uuid, sizeof(uuid));
		if (mdev_type(root, uuid, cur, sizeof(cur))) {
			if (strcmp(cur, profile) == 0)
				return 0;
			return snprintf(msg, len, "%s: vGPU %s runs type %s, "
			    "not %s", a, uuid, cur, profile), -1;
		}
		snprintf(rel, sizeof(rel), "class/mdev_bus/%s/"
		    "mdev_supported_types/%s/create", a, profile);
		return sysfs_write(root, rel, uuid, msg, len) < 0 ? -1 : 1;
	}
	if (type_id(profile, id, sizeof(id)) < 0)
		return snprintf(msg, len, "%s: \"%.40s\" is not a vGPU type "
		    "ID", a, profile), -1;
	if (current_type(root, a, cur, sizeof(cur), msg, len) < 0)
		return -1;
	if (strcmp(cur, id) == 0)
		return 0;
	if (strcmp(cur, "0") != 0)
		return snprintf(msg, len, "%s: runs vGPU type %s, not %s", a,
		    cur, id), -1;
	snprintf(rel, sizeof(rel), "bus/pci/devices/%s/nvidia/"
	    "current_vgpu_type", a);
	return sysfs_write(root, rel, id, msg, len) < 0 ? -1 : 1;
}

/*
 * Remove d's vGPU. Returns 1 when removed, 0 when there was none, -1
 * with the kernel's error in msg.
 */
int
vgpu_remove(const char *root, const struct pp_device *d, char *msg,
    size_t len)
{
	char	a[PP_ADDR_SYSFS_LEN], uuid[64], rel[PATH_MAX], cur[64];

	addr_fmt(d->addr, ADDR_SYSFS, a, sizeof(a));
	if (strcmp(d->mdev_mode, "legacy") == 0) {
		vgpu_uuid(d->addr, uuid, sizeof(uuid));
		if (!mdev_type(root, uuid, cur, sizeof(cur)))
			return 0;
		snprintf(rel, sizeof(rel), "bus/mdev/devices/%s/remove", uuid);
		return sysfs_write(root, rel, "1", msg, len) < 0 ? -1 : 1;
	}
	if (current_type(root, a, cur, sizeof(cur), msg, len) < 0)
		return -1;
	if (strcmp(cur, "0") == 0)
		return 0;
	snprintf(rel, sizeof(rel), "bus/pci/devices/%s/nvidia/"
	    "current_vgpu_type", a);
	return sysfs_write(root, rel, "0", msg, len) < 0 ? -1 : 1;
}
