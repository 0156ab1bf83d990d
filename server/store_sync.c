/*
 * Inventory sync: make the stored inventory what a scan saw, in one
 * transaction, without ever losing or silently re-targeting a holding.
 *
 * New devices come in free. A free device that vanished is removed. A held
 * one that vanished stays, `missing`, with its VM; when a device with the
 * same vendor, device and subsystem ids is back at its address it is used
 * again, and when the ids differ it stays missing with a reason, since a
 * different card in the same slot must never reach that VM silently.
 */
#include <string.h>

#include "pcipassd.h"

#define SCAN_COLS \
	"addr, vendor, device, class, subvendor, subdevice, header, numa, " \
	"iommu, sriov, sriov_num, sriov_total, physfn, boot_vga, driver, " \
	"ifname, vendor_name, device_name, class_name, offered, critical, " \
	"mdev_mode, profiles, creatable, vgpu, secondary, subordinate"

static const char upsert_sql[] =
	"INSERT INTO device (" SCAN_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, "
	"?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, "
	"?21, ?22, ?23, ?24, ?25, ?26, ?27) ON CONFLICT (addr) DO UPDATE SET "
	"vendor = ?2, "
	"device = ?3, "
	"class = ?4, subvendor = ?5, subdevice = ?6, header = ?7, numa = ?8, "
	"iommu = ?9, sriov = ?10, sriov_num = ?11, sriov_total = ?12, "
	"physfn = ?13, boot_vga = ?14, driver = ?15, ifname = ?16, "
	"vendor_name = ?17, device_name = ?18, class_name = ?19, "
	"offered = ?20, critical = ?21, mdev_mode = ?22, profiles = ?23, "
	"creatable = ?24, vgpu = ?25, secondary = ?26, subordinate = ?27, "
	/* A refused vGPU removal ends when the vGPU is gone, however. */
	"stuck = CASE WHEN ?25 = '' THEN '' ELSE stuck END, "
	"present = 1, reason = ''";

struct sync {
	sqlite3			*db;
	sqlite3_stmt		*upsert, *del, *missing, *member;
	struct sync_counts	*c;
};

static int
step(sqlite3_stmt *st)
{
	int	rc = sqlite3_step(st);

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int
upsert(struct sync *s, const struct pp_device *d)
{
	sqlite3_stmt	*st = s->upsert;

	sqlite3_bind_int64(st, 1, (sqlite3_int64)d->addr);
	sqlite3_bind_int(st, 2, (int)d->vendor);
	sqlite3_bind_int(st, 3, (int)d->device);
	sqlite3_bind_int(st, 4, (int)d->class);
	sqlite3_bind_int(st, 5, (int)d->subvendor);
	sqlite3_bind_int(st, 6, (int)d->subdevice);
	sqlite3_bind_int(st, 7, d->header);
	sqlite3_bind_int(st, 8, d->numa);
	sqlite3_bind_int(st, 9, d->iommu);
	sqlite3_bind_int(st, 10, (int)d->sriov);
	sqlite3_bind_int(st, 11, d->sriov_num);
	sqlite3_bind_int(st, 12, d->sriov_total);
	sqlite3_bind_int64(st, 13, (sqlite3_int64)d->physfn);
	sqlite3_bind_int(st, 14, d->boot_vga);
	sqlite3_bind_text(st, 15, d->driver, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 16, d->ifname, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 17, d->vendor_name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 18, d->device_name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 19, d->class_name, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 20, d->offered);
	sqlite3_bind_text(st, 21, d->critical, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 22, d->mdev_mode, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 23, d->profiles, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 24, d->creatable, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 25, d->vgpu, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 26, d->secondary);
	sqlite3_bind_int(st, 27, d->subordinate);
	return step(st);
}

static int
mark_missing(struct sync *s, pp_addr a, const char *reason)
{
	sqlite3_bind_text(s->missing, 1, reason, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s->missing, 2, (sqlite3_int64)a);
	return step(s->missing);
}

/* Same scan facts: nothing to write. */
static int
same_scan(const struct pp_device *a, const struct pp_device *b)
{
	return a->vendor == b->vendor && a->device == b->device &&
	    a->class == b->class && a->subvendor == b->subvendor &&
	    a->subdevice == b->subdevice && a->header == b->header &&
	    a->secondary == b->secondary &&
	    a->subordinate == b->subordinate &&
	    a->numa == b->numa && a->iommu == b->iommu &&
	    a->sriov == b->sriov && a->sriov_num == b->sriov_num &&
	    a->sriov_total == b->sriov_total && a->physfn == b->physfn &&
	    a->boot_vga == b->boot_vga && a->offered == b->offered &&
	    strcmp(a->driver, b->driver) == 0 &&
	    strcmp(a->ifname, b->ifname) == 0 &&
	    strcmp(a->vendor_name, b->vendor_name) == 0 &&
	    strcmp(a->device_name, b->device_name) == 0 &&
	    strcmp(a->class_name, b->class_name) == 0 &&
	    strcmp(a->critical, b->critical) == 0 &&
	    strcmp(a->mdev_mode, b->mdev_mode) == 0 &&
	    strcmp(a->profiles, b->profiles) == 0 &&
	    strcmp(a->creatable, b->creatable) == 0 &&
	    strcmp(a->vgpu, b->vgpu) == 0;
}

static int
same_card(const struct pp_device *a, const struct pp_device *b)
{
	return a->vendor == b->vendor && a->device == b->device &&
	    a->subvendor == b->subvendor && a->subdevice == b->subdevice;
}

/* A device in both the store and the scan. */
static int
sync_both(struct sync *s, const struct pp_device *old,
    const struct pp_device *now)
{
	char	reason[PP_REASON_LEN];

	if (old->vmid >= 0 && !same_card(old, now)) {
		snprintf(reason, sizeof(reason), "slot now holds "
		    "%04x:%04x (subsystem %04x:%04x), not the held "
		    "%04x:%04x (subsystem %04x:%04x)", now->vendor,
		    now->device, now->subvendor, now->subdevice, old->vendor,
		    old->device, old->subvendor, old->subdevice);
		if (!old->present && strcmp(dev_reason(old), reason) == 0)
			return 0;
		s->c->changed++;
		return mark_missing(s, old->addr, reason);
	}
	if (old->present && same_scan(old, now))
		return 0;
	s->c->changed++;
	return upsert(s, now);
}

/* A device the store has and the scan does not. */
static int
sync_gone(struct sync *s, const struct pp_device *old)
{
	static const char	gone[] = "gone from sysfs";

	if (old->vmid < 0) {
		s->c->removed++;
		sqlite3_bind_int64(s->del, 1, (sqlite3_int64)old->addr);
		return step(s->del);
	}
	if (!old->present && strcmp(dev_reason(old), gone) == 0)
		return 0;
	s->c->changed++;
	return mark_missing(s, old->addr, gone);
}

static int
sync_devices(struct sync *s, const struct pp_inventory *old,
    const struct pp_inventory *now)
{
	size_t	i = 0, j = 0;
	int	rc = 0;

	while (rc == 0 && (i < old->ndev || j < now->ndev)) {
		if (j == now->ndev || (i < old->ndev &&
		    old->dev[i].addr < now->dev[j].addr))
			rc = sync_gone(s, &old->dev[i++]);
		else if (i == old->ndev || now->dev[j].addr <
		    old->dev[i].addr) {
			s->c->added++;
			rc = upsert(s, &now->dev[j++]);
		} else
			rc = sync_both(s, &old->dev[i++], &now->dev[j++]);
	}
	return rc;
}

static int
same_members(const struct pp_inventory *a, const struct pp_inventory *b)
{
	size_t	i;

	if (a->nmember != b->nmember)
		return 0;
	for (i = 0; i < a->nmember; i++)
		if (a->member[i].group != b->member[i].group ||
		    a->member[i].addr != b->member[i].addr)
			return 0;
	return 1;
}

static int
sync_members(struct sync *s, const struct pp_inventory *old,
    const struct pp_inventory *now)
{
	size_t	i;

	if (same_members(old, now))
		return 0;
	s->c->regrouped = 1;
	if (sqlite3_exec(s->db, "DELETE FROM iommu_member", NULL, NULL,
	    NULL) != SQLITE_OK)
		return -1;
	for (i = 0; i < now->nmember; i++) {
		sqlite3_bind_int(s->member, 1, now->member[i].group);
		sqlite3_bind_int64(s->member, 2,
		    (sqlite3_int64)now->member[i].addr);
		if (step(s->member) < 0)
			return -1;
	}
	return 0;
}

static int
prepare(struct sync *s)
{
	return sqlite3_prepare_v2(s->db, upsert_sql, -1, &s->upsert, NULL) |
	    sqlite3_prepare_v2(s->db, "DELETE FROM device WHERE addr = ?1",
	    -1, &s->del, NULL) |
	    sqlite3_prepare_v2(s->db, "UPDATE device SET present = 0, "
	    "reason = ?1 WHERE addr = ?2", -1, &s->missing, NULL) |
	    sqlite3_prepare_v2(s->db, "INSERT OR IGNORE INTO iommu_member "
	    "(grp, addr) VALUES (?1, ?2)", -1, &s->member, NULL);
}

/*
 * Make the store match the scan `now` (offered flags already set) in one
 * transaction; counts what changed in *c. A scan that changed nothing is
 * rolled back: no fsync, and the snapshot and the shared answers stay
 * current (the generation does not move).
 */
int
store_sync(sqlite3 *db, const struct pp_inventory *now,
    struct sync_counts *c)
{
	struct sync		 s = { .db = db, .c = c };
	struct pp_inventory	 old;
	int			 rc = -1;

	memset(c, 0, sizeof(*c));
	if (store_begin(db) < 0)
		return -1;
	if (prepare(&s) != SQLITE_OK || store_load(db, &old) < 0)
		goto done;
	rc = sync_devices(&s, &old, now);
	if (rc == 0)
		rc = sync_members(&s, &old, now);
	inventory_free(&old);
done:
	sqlite3_finalize(s.upsert);
	sqlite3_finalize(s.del);
	sqlite3_finalize(s.missing);
	sqlite3_finalize(s.member);
	if (rc < 0) {
		log_warnx("store: sync: %s", sqlite3_errmsg(db));
		store_rollback(db);
		return -1;
	}
	if (!c->added && !c->removed && !c->changed && !c->regrouped) {
		store_rollback(db);
		return 0;
	}
	return store_commit(db);
}
