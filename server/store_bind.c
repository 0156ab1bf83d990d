/*
 * The store's verbs for bindings: the driver each device had before
 * pcipass bound it to vfio-pci (table bind_origin), for whom, and who
 * holds a device. bind.c writes sysfs and asks these for the record; each
 * runs inside the caller's transaction, none commits.
 */
#include <string.h>

#include "pcipassd.h"

/* Record a's original driver drv for vmid (-1: the host tool). */
int
store_origin_put(sqlite3 *db, pp_addr a, const char *drv, int vmid)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = store_stmt(db, "INSERT OR IGNORE INTO bind_origin "
	    "(addr, driver, vmid) VALUES (?1, ?2, ?3)")) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)a);
	sqlite3_bind_text(st, 2, drv, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, vmid);
	rc = sqlite3_step(st);
	store_stmt_done(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

int
store_origin_forget(sqlite3 *db, pp_addr a)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = store_stmt(db, "DELETE FROM bind_origin WHERE addr = ?1")) ==
	    NULL)
		return -1;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)a);
	rc = sqlite3_step(st);
	store_stmt_done(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* The rows (addr, driver) of st, added to set. */
static int
collect(sqlite3_stmt *st, struct bind_set *set)
{
	int	rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (bind_set_add(set, (pp_addr)sqlite3_column_int64(st, 0),
		    (const char *)sqlite3_column_text(st, 1)) < 0) {
			rc = SQLITE_NOMEM;
			break;
		}
	store_stmt_done(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

/*
 * The devices bound for vmid whose IOMMU group vmid no longer holds any
 * device of, ascending: those to give back after a release or detach.
 */
int
store_origins_freed(sqlite3 *db, int vmid, struct bind_set *set)
{
	sqlite3_stmt	*st;

	if ((st = store_stmt(db, "SELECT b.addr, b.driver FROM bind_origin "
	    "b WHERE b.vmid = ?1 AND NOT EXISTS (SELECT 1 FROM iommu_member "
	    "m1 JOIN iommu_member m2 ON m2.grp = m1.grp JOIN device d ON "
	    "d.addr = m2.addr WHERE m1.addr = b.addr AND d.vmid = ?1) "
	    "ORDER BY b.addr")) == NULL)
		return -1;
	sqlite3_bind_int(st, 1, vmid);
	return collect(st, set);
}

/* a's record: 1 with it, 0 none, -1 error. */
int
store_origin_get(sqlite3 *db, pp_addr a, struct bind_item *it)
{
	struct bind_set	 set = { 0, NULL };
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = store_stmt(db, "SELECT addr, driver FROM bind_origin "
	    "WHERE addr = ?1")) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)a);
	rc = collect(st, &set);
	if (rc == 0 && set.n == 1)
		*it = set.item[0];
	rc = rc < 0 ? -1 : (int)set.n;
	bind_set_free(&set);
	return rc;
}

/* The VM holding a; -1 for none, no such row or an error. */
int
store_held_by(sqlite3 *db, pp_addr a)
{
	sqlite3_stmt	*st;
	int		 vmid = -1;

	if ((st = store_stmt(db, "SELECT vmid FROM device WHERE addr = ?1")) ==
	    NULL)
		return -1;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)a);
	if (sqlite3_step(st) == SQLITE_ROW)
		vmid = sqlite3_column_int(st, 0);
	store_stmt_done(st);
	return vmid;
}
