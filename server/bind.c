/*
 * Binding to vfio-pci and back: the only code that writes sysfs.
 *
 * Every request names devices by address, never by vendor:device id, and
 * each address is checked against the inventory before anything is
 * written: known, offered by the filter, not host-critical, not a bridge,
 * in an IOMMU group. The paths written are built from our own formatting
 * of the address and of driver names read back from sysfs links, never
 * from the caller's text. The other endpoints of a device's IOMMU group
 * go with it (they must be offered too), since vfio-pci can only use a
 * group whose every endpoint is on vfio-pci or on no driver; endpoints
 * the filter does not offer are left alone if they already are, and
 * otherwise the bind is refused, naming them.
 *
 * Bind:   driver_override <- vfio-pci; drivers/CUR/unbind <- ADDR;
 *         drivers_probe <- ADDR.
 * Unbind: driver_override <- ""; drivers/vfio-pci/unbind <- ADDR;
 *         drivers_probe <- ADDR; and when the kernel did not give the
 *         device back to its original driver, drivers/ORIG/bind <- ADDR.
 * The original driver is kept in sqlite (bind_origin), so an unbind after
 * a restart still knows it. Each write is logged as the shell command an
 * administrator would type.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pcipassd.h"

#define VFIO_DRIVER	"vfio-pci"

/*
 * A name fit for a sysfs path (a driver, a vGPU type): what a sysfs link
 * or our table holds, never "." or "..".
 */
int
sysfs_name_ok(const char *s)
{
	return s[0] != '\0' && s[0] != '.' && strlen(s) < 64 &&
	    strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789_-") == strlen(s);
}

/* Write value to the attribute root/rel, as the kernel takes it. */
int
sysfs_write(const char *root, const char *rel, const char *value,
    char *msg, size_t len)
{
	char	path[PATH_MAX], buf[128];
	size_t	n;
	ssize_t	w;
	int	fd, saved;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	n = (size_t)snprintf(buf, sizeof(buf), "%s\n", value);
	log_info("sysfs: echo '%s' > %s", value, rel);
	/*
	 * No O_CREAT: a missing attribute is an error, never a new file.
	 * O_APPEND: sysfs attributes ignore the offset, and on the plain
	 * files of a test tree every write stays visible, in order.
	 */
	if ((fd = open(path, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC)) <
	    0) {
		saved = errno;
		snprintf(msg, len, "cannot open %s: %s", path,
		    strerror(saved));
		log_warnx("bind: %s", msg);
		return -1;
	}
	w = write(fd, buf, n);
	saved = errno;
	if (close(fd) < 0 && w == (ssize_t)n) {
		w = -1;
		saved = errno;
	}
	if (w != (ssize_t)n) {
		snprintf(msg, len, "writing '%s' to %s: %s", value, path,
		    w < 0 ? strerror(saved) : "short write");
		log_warnx("bind: %s", msg);
		return -1;
	}
	return 0;
}

/* The driver a device is bound to now ("" for none), from its link. */
static void
current_driver(const char *root, pp_addr a, char *out, size_t len)
{
	char	path[PATH_MAX], target[PATH_MAX], s[PP_ADDR_SYSFS_LEN], *base;
	ssize_t	n;

	out[0] = '\0';
	snprintf(path, sizeof(path), "%s/bus/pci/devices/%s/driver", root,
	    addr_fmt(a, ADDR_SYSFS, s, sizeof(s)));
	if ((n = readlink(path, target, sizeof(target) - 1)) < 0)
		return;
	target[n] = '\0';
	base = strrchr(target, '/');
	base = base ? base + 1 : target;
	if (sysfs_name_ok(base))
		snprintf(out, len, "%s", base);
}

static int
dev_write(const char *root, pp_addr a, const char *attr, const char *value,
    char *msg, size_t len)
{
	char	rel[PATH_MAX], s[PP_ADDR_SYSFS_LEN];

	snprintf(rel, sizeof(rel), "bus/pci/devices/%s/%s",
	    addr_fmt(a, ADDR_SYSFS, s, sizeof(s)), attr);
	return sysfs_write(root, rel, value, msg, len);
}

/* drivers/DRV/{bind,unbind} or drivers_probe (drv NULL) <- address. */
static int
drv_write(const char *root, const char *drv, const char *attr, pp_addr a,
    char *msg, size_t len)
{
	char	rel[PATH_MAX], s[PP_ADDR_SYSFS_LEN];

	if (drv == NULL)
		snprintf(rel, sizeof(rel), "bus/pci/drivers_probe");
	else
		snprintf(rel, sizeof(rel), "bus/pci/drivers/%s/%s", drv, attr);
	return sysfs_write(root, rel, addr_fmt(a, ADDR_SYSFS, s, sizeof(s)),
	    msg, len);
}

static int
bind_one(const char *root, pp_addr a, const char *cur, char *msg,
    size_t len)
{
	if (dev_write(root, a, "driver_override", VFIO_DRIVER, msg, len) < 0)
		return -1;
	if (cur[0] != '\0' && drv_write(root, cur, "unbind", a, msg, len) < 0)
		return -1;
	return drv_write(root, NULL, NULL, a, msg, len);
}

/* Give a device back to orig ("" none). */
int
bind_restore_one(const char *root, pp_addr a, const char *orig, char *msg,
    size_t len)
{
	char	cur[64];

	if (dev_write(root, a, "driver_override", "", msg, len) < 0)
		return -1;
	current_driver(root, a, cur, sizeof(cur));
	if (strcmp(cur, VFIO_DRIVER) == 0 &&
	    drv_write(root, VFIO_DRIVER, "unbind", a, msg, len) < 0)
		return -1;
	if (drv_write(root, NULL, NULL, a, msg, len) < 0)
		return -1;
	current_driver(root, a, cur, sizeof(cur));
	if (orig[0] == '\0' || strcmp(cur, orig) == 0)
		return 0;
	if (cur[0] != '\0' && strcmp(cur, VFIO_DRIVER) != 0) {
		log_warnx("bind: %s is now on %s, not on its original driver "
		    "%s; left there", addr_fmt(a, ADDR_SYSFS, msg, len), cur,
		    orig);
		return 0;
	}
	return drv_write(root, orig, "bind", a, msg, len);
}

/*
 * May this device be bound? Sets msg and returns -1 if not. For a sibling
 * (of), the message names the device it was asked for with.
 */
static int
allowed(const struct pp_inventory *inv, pp_addr a, const struct pp_device
    *of, char *msg, size_t len)
{
	const struct pp_device	*d = inventory_find(inv, a);
	char			 s[PP_ADDR_SYSFS_LEN], o[PP_ADDR_SYSFS_LEN];
	char			 pre[96];

	addr_fmt(a, ADDR_SYSFS, s, sizeof(s));
	if (of != NULL)
		snprintf(pre, sizeof(pre), "%s (IOMMU group %d of %s, driver "
		    "%s)", s, of->iommu, addr_fmt(of->addr, ADDR_SYSFS, o,
		    sizeof(o)), d && d->driver[0] ? d->driver : "none");
	else
		snprintf(pre, sizeof(pre), "%s", s);
	if (d == NULL)
		return snprintf(msg, len, "%s: no such PCI device on this host",
		    pre), -1;
	/* The rule is server/rules.c's; the words add what to do. */
	switch (rule_device(d, -1)) {
	case RULE_OK:
		return 0;
	case RULE_NOT_OFFERED:
		return snprintf(msg, len, "%s: not offered by the filter%s",
		    pre, of ? "; offer it too, or it cannot share the group "
		    "with a VM" : ""), -1;
	case RULE_CRITICAL:
		return snprintf(msg, len, "%s: host-critical: %s", pre,
		    d->critical), -1;
	case RULE_BRIDGE:
		return snprintf(msg, len, "%s: a bridge", pre), -1;
	case RULE_NO_GROUP:
		return snprintf(msg, len, "%s: no IOMMU group (is the IOMMU "
		    "on? see pcipass-host host check)", pre), -1;
	case RULE_VGPU_STUCK:
		return snprintf(msg, len, "%s: vGPU %s still there: %s", pre,
		    d->vgpu, dev_extra(d)->stuck), -1;
	case RULE_VFS_ENABLED:
	default:
		return snprintf(msg, len, "%s: an SR-IOV PF with %d VFs "
		    "enabled (unbinding it destroys them; give a VF instead)",
		    pre, d->sriov_num), -1;
	}
}

static int
addr_cmp(const void *a, const void *b)
{
	pp_addr	x = *(const pp_addr *)a, y = *(const pp_addr *)b;

	return x < y ? -1 : x > y;
}

/*
 * The devices asked for plus the endpoints of their IOMMU groups that
 * must be bound with them for vmid (-1: no VM; what vmid already holds
 * needs nothing), ascending, each checked against the rules
 * (server/rules.c): what a bind would write, without writing. Free *out.
 */
int
bind_plan(const struct pp_inventory *inv, const pp_addr *addr, size_t n,
    int vmid, pp_addr **out, size_t *nout, char *msg, size_t len)
{
	const struct pp_device	*d, *e;
	pp_addr			*v;
	size_t			 i, m, k = 0;
	char			 s1[PP_ADDR_SYSFS_LEN], s2[PP_ADDR_SYSFS_LEN];

	if ((v = calloc(n + inv->nmember + 1, sizeof(*v))) == NULL)
		return snprintf(msg, len, "out of memory"), -1;
	for (i = 0; i < n; i++) {
		if (allowed(inv, addr[i], NULL, msg, len) < 0)
			goto fail;
		d = inventory_find(inv, addr[i]);
		v[k++] = d->addr;
		for (m = rule_group_first(inv, d->iommu); m < inv->nmember &&
		    inv->member[m].group == d->iommu; m++) {
			if (inv->member[m].addr == d->addr)
				continue;
			/* The matcher's rule: what is harmless needs no
			 * bind, what must go along is bound too. */
			e = inventory_find(inv, inv->member[m].addr);
			switch (rule_sibling(e, vmid)) {
			case SIB_FREE:
				continue;
			case SIB_HELD:
				snprintf(msg, len, "%s (IOMMU group %d of %s): "
				    "held by VM %d", addr_fmt(e->addr,
				    ADDR_SYSFS, s1, sizeof(s1)), d->iommu,
				    addr_fmt(d->addr, ADDR_SYSFS, s2,
				    sizeof(s2)), e->vmid);
				goto fail;
			default:
				break;
			}
			if (allowed(inv, inv->member[m].addr, d, msg, len) < 0)
				goto fail;
			v[k++] = inv->member[m].addr;
		}
	}
	qsort(v, k, sizeof(*v), addr_cmp);
	for (i = 0, m = 0; i < k; i++)
		if (m == 0 || v[m - 1] != v[i])
			v[m++] = v[i];
	*out = v;
	*nout = m;
	return 0;
fail:
	free(v);
	return -1;
}

static int
vfio_loaded(const char *root, char *msg, size_t len)
{
	char		path[PATH_MAX];
	struct stat	st;

	snprintf(path, sizeof(path), "%s/bus/pci/drivers/" VFIO_DRIVER, root);
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return 0;
	snprintf(msg, len, "vfio-pci is not loaded (%s is missing); run "
	    "modprobe vfio-pci", path);
	return -1;
}

int
bind_set_add(struct bind_set *set, pp_addr a, const char *drv)
{
	struct bind_item	*nv;

	if ((nv = reallocarray(set->item, set->n + 1, sizeof(*nv))) == NULL)
		return -1;
	set->item = nv;
	nv[set->n].addr = a;
	snprintf(nv[set->n].driver, sizeof(nv[set->n].driver), "%s", drv);
	set->n++;
	return 0;
}

/*
 * Bind the devices at addr, with their IOMMU groups, to vfio-pci, and
 * record their original drivers for vmid (-1: the host tool) in the
 * caller's transaction. What was changed is added to set, for bind_undo
 * if the caller's commit fails. On failure everything this call wrote is
 * undone and msg says why.
 */
int
bind_devices(const char *root, sqlite3 *db, const struct pp_inventory *inv,
    const pp_addr *addr, size_t n, int vmid, struct bind_set *set,
    char *msg, size_t len)
{
	struct bind_set	 mine = { 0, NULL };
	pp_addr		*all = NULL;
	size_t		 nall, i;
	char		 cur[64];
	int		 rc = -1;

	if (bind_plan(inv, addr, n, vmid, &all, &nall, msg, len) < 0 ||
	    vfio_loaded(root, msg, len) < 0)
		goto done;
	for (i = 0; i < nall; i++) {
		current_driver(root, all[i], cur, sizeof(cur));
		if (strcmp(cur, VFIO_DRIVER) == 0)
			continue;
		if (bind_journal_add(db, all[i], cur, msg, len) < 0)
			goto done;
		if (store_origin_put(db, all[i], cur, vmid) < 0) {
			snprintf(msg, len, "database error recording the "
			    "original driver: %s", sqlite3_errmsg(db));
			goto done;
		}
		if (bind_set_add(&mine, all[i], cur) < 0) {
			snprintf(msg, len, "out of memory");
			goto done;
		}
		if (bind_one(root, all[i], cur, msg, len) < 0)
			goto done;
	}
	for (i = 0; i < mine.n; i++)
		if (bind_set_add(set, mine.item[i].addr, mine.item[i].driver) < 0) {
			snprintf(msg, len, "out of memory");
			goto done;
		}
	rc = 0;
done:
	if (rc < 0)
		bind_undo(root, &mine);
	bind_set_free(&mine);
	free(all);
	return rc;
}

/* Give the devices of set back to their original drivers. */
void
bind_undo(const char *root, struct bind_set *set)
{
	char	msg[512];
	size_t	i;

	for (i = set->n; i-- > 0; )
		bind_restore_one(root, set->item[i].addr, set->item[i].driver, msg,
		    sizeof(msg));
}

void
bind_set_free(struct bind_set *set)
{
	if (set == NULL)
		return;
	free(set->item);
	set->item = NULL;
	set->n = 0;
}

/* Restore one recorded device and drop its record. */
static int
restore_recorded(const char *root, sqlite3 *db, const struct bind_item *it,
    char *msg, size_t len)
{
	if (it->driver[0] != '\0' && !sysfs_name_ok(it->driver))
		return snprintf(msg, len, "bad driver name \"%s\" in "
		    "bind_origin", it->driver), -1;
	if (bind_restore_one(root, it->addr, it->driver, msg, len) < 0)
		return -1;
	if (store_origin_forget(db, it->addr) < 0)
		return snprintf(msg, len, "database error: %s",
		    sqlite3_errmsg(db)), -1;
	return 0;
}

/*
 * After vmid gave devices up (release, detach; in the caller's
 * transaction): give back to their drivers the devices bound for vmid
 * whose IOMMU group vmid no longer holds any device of. A device that
 * cannot be restored keeps its record and is logged; the release itself
 * stands, since the VM is gone either way.
 */
int
bind_restore_vm(const char *root, sqlite3 *db, int vmid)
{
	struct bind_set	 set = { 0, NULL };
	char		 msg[512];
	size_t		 i;
	int		 rc;

	rc = store_origins_freed(db, vmid, &set);
	for (i = 0; rc == 0 && i < set.n; i++)
		if (restore_recorded(root, db, &set.item[i], msg,
		    sizeof(msg)) < 0) {
			log_warnx("bind: VM %d: %s", vmid, msg);
			rc = -1;
		}
	bind_set_free(&set);
	return rc;
}

/* The devices at addr and the endpoints of their groups, ascending. */
static int
with_groups(const struct pp_inventory *inv, const pp_addr *addr, size_t n,
    pp_addr **out, size_t *nout)
{
	const struct pp_device	*d, *e;
	pp_addr			*v;
	size_t			 i, m, k = 0;

	if ((v = calloc(n + inv->nmember + 1, sizeof(*v))) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		v[k++] = addr[i];
		if ((d = inventory_find(inv, addr[i])) == NULL || d->iommu < 0)
			continue;
		for (m = rule_group_first(inv, d->iommu); m < inv->nmember &&
		    inv->member[m].group == d->iommu; m++) {
			e = inventory_find(inv, inv->member[m].addr);
			if (e != NULL && !device_is_bridge(e))
				v[k++] = e->addr;
		}
	}
	qsort(v, k, sizeof(*v), addr_cmp);
	for (i = 0, m = 0; i < k; i++)
		if (m == 0 || v[m - 1] != v[i])
			v[m++] = v[i];
	*out = v;
	*nout = m;
	return 0;
}

static int
asked(const pp_addr *addr, size_t n, pp_addr a)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (addr[i] == a)
			return 1;
	return 0;
}

/*
 * Give the devices at addr, and the endpoints of their IOMMU groups that
 * pcipass bound, back to their original drivers, in the caller's
 * transaction. A device asked for that pcipass did not bind but that is
 * on vfio-pci goes to whatever driver the kernel picks. Refuses devices a
 * VM holds. *count: devices restored.
 */
int
unbind_devices(const char *root, sqlite3 *db, const struct pp_inventory *inv,
    const pp_addr *addr, size_t n, int *count, char *msg, size_t len)
{
	struct bind_item	 it;
	pp_addr			*all = NULL;
	size_t			 nall, i;
	char			 s[PP_ADDR_SYSFS_LEN], cur[64];
	int			 rc = -1, vmid, has;

	*count = 0;
	for (i = 0; i < n; i++)
		if (inventory_find(inv, addr[i]) == NULL)
			return snprintf(msg, len, "%s: no such PCI device on "
			    "this host", addr_fmt(addr[i], ADDR_SYSFS, s,
			    sizeof(s))), -1;
	if (with_groups(inv, addr, n, &all, &nall) < 0)
		return snprintf(msg, len, "out of memory"), -1;
	for (i = 0; i < nall; i++)
		if ((vmid = store_held_by(db, all[i])) >= 0) {
			snprintf(msg, len, "%s: held by VM %d; release it "
			    "first", addr_fmt(all[i], ADDR_SYSFS, s, sizeof(s)),
			    vmid);
			goto done;
		}
	for (i = 0; i < nall; i++) {
		if ((has = store_origin_get(db, all[i], &it)) < 0) {
			snprintf(msg, len, "database error: %s",
			    sqlite3_errmsg(db));
			goto done;
		}
		current_driver(root, all[i], cur, sizeof(cur));
		if (has) {
			if (restore_recorded(root, db, &it, msg, len) < 0)
				goto done;
		} else if (asked(addr, n, all[i]) &&
		    strcmp(cur, VFIO_DRIVER) == 0) {
			if (bind_restore_one(root, all[i], "", msg, len) < 0)
				goto done;
		} else
			continue;
		(*count)++;
	}
	rc = 0;
done:
	free(all);
	return rc;
}
