/*
 * The store's verbs for holdings: who holds which device, the requests
 * of each VM's last allocate, the driver a bind left. Each is one SQL
 * statement (or two) run inside the caller's transaction or savepoint;
 * none commits. ops.c decides, these write: each changes the row and,
 * when given one, the writers' copy of the inventory (snapshot.c)
 * together, so the two cannot drift; a savepoint rolled back makes that
 * copy reload (batch_savepoint_end).
 */
#include <stdlib.h>
#include <string.h>

#include "pcipassd.h"

static int
exec_bound(sqlite3 *db, const char *sql, int vmid, sqlite3_int64 a,
    int64_t t, int *changes)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = store_stmt(db, sql)) == NULL)
		return -1;
	sqlite3_bind_int(st, 1, vmid);
	sqlite3_bind_int64(st, 2, a);
	if (sqlite3_bind_parameter_count(st) >= 3)
		sqlite3_bind_int64(st, 3, t);
	rc = sqlite3_step(st);
	store_stmt_done(st);
	if (changes != NULL)
		*changes = sqlite3_changes(db);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* vmid takes free device a; fails unless exactly that row changed. */
int
store_hold(sqlite3 *db, struct pp_inventory *inv, pp_addr a, int vmid,
    int req_index, const struct pp_nic *nic, const char *profile,
    int64_t taken)
{
	struct pp_device	*d;
	struct pp_extra		*x;
	sqlite3_stmt		*st;
	int			 rc;

	if ((st = store_stmt(db, "UPDATE device SET vmid = ?1, "
	    "req_index = ?2, nic = ?3, mac = ?4, ip = ?5, ip6 = ?6, "
	    "vlan_id = ?7, network = ?8, taken = ?10, profile = ?11 WHERE "
	    "addr = ?9 AND vmid = -1")) == NULL)
		return -1;
	sqlite3_bind_int(st, 1, vmid);
	sqlite3_bind_int(st, 2, req_index);
	sqlite3_bind_int(st, 3, nic->nic);
	sqlite3_bind_text(st, 4, nic->mac, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, nic->ip, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, nic->ip6, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, nic->vlan_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 8, nic->network, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 9, (sqlite3_int64)a);
	sqlite3_bind_int64(st, 10, taken);
	sqlite3_bind_text(st, 11, profile, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	store_stmt_done(st);
	if (rc != SQLITE_DONE || sqlite3_changes(db) != 1)
		return -1;
	if (inv != NULL && (d = inventory_find(inv, a)) != NULL) {
		d->vmid = vmid;
		d->req_index = req_index;
		d->taken = taken;
		if (nic->nic || profile[0] != '\0' || d->extra != NULL) {
			/* The row changed and the copy cannot follow: the
			 * caller's savepoint is rolled back, and the copy
			 * read again. */
			if ((x = dev_extra_w(d)) == NULL) {
				log_warnx("store: hold: out of memory");
				return -1;
			}
			x->nic = *nic;
			snprintf(x->profile, sizeof(x->profile), "%s",
			    profile);
		}
	}
	return 0;
}

/* What store_free() did to the rows, done to the writers' copy. */
static void
free_in(struct pp_inventory *inv, int vmid, pp_addr a, int one, int64_t now)
{
	size_t	i, j;

	for (i = j = 0; i < inv->ndev; i++) {
		struct pp_device	*d = &inv->dev[i];

		if (d->vmid == vmid && (!one || d->addr == a)) {
			if (!d->present) {
				device_clear(d);	/* its row deleted */
				continue;
			}
			d->vmid = -1;
			d->req_index = -1;
			d->taken = 0;
			d->freed = now;
			if (d->extra != NULL) {
				d->extra->profile[0] = '\0';
				memset(&d->extra->nic, 0, sizeof(d->extra->nic));
				dev_extra_tidy(d);
			}
		}
		if (i != j)
			inv->dev[j] = *d;
		j++;
	}
	inv->ndev = j;
}

/*
 * vmid gives up what it holds (only address a when one): rows of devices
 * gone from sysfs are deleted, the others freed, and the VM's last
 * requests forgotten. Returns how many devices, or -1.
 */
int
store_free(sqlite3 *db, struct pp_inventory *inv, int vmid, pp_addr a,
    int one, int64_t now)
{
	int	gone, freed;

	if (exec_bound(db, one ? "DELETE FROM device WHERE vmid = ?1 AND "
	    "addr = ?2 AND present = 0" : "DELETE FROM device WHERE "
	    "vmid = ?1 AND present = 0", vmid, (sqlite3_int64)a, 0, &gone) < 0 ||
	    exec_bound(db, one ? "UPDATE device SET vmid = -1, "
	    "req_index = -1, nic = 0, mac = '', ip = '', ip6 = '', "
	    "vlan_id = '', network = '', taken = 0, profile = '', "
	    "freed = ?3 WHERE vmid = ?1 AND addr = ?2" : "UPDATE device SET "
	    "vmid = -1, req_index = -1, nic = 0, mac = '', ip = '', "
	    "ip6 = '', vlan_id = '', network = '', taken = 0, profile = '', "
	    "freed = ?3 WHERE vmid = ?1",
	    vmid, (sqlite3_int64)a, now, &freed) < 0 ||
	    store_requests_forget(db, vmid) < 0)
		return -1;
	if (inv != NULL)
		free_in(inv, vmid, a, one, now);
	return gone + freed;
}

/* The normalised request list of vmid's last allocate; *out NULL if none. */
int
store_requests_get(sqlite3 *db, int vmid, char **out)
{
	sqlite3_stmt	*st;
	int		 rc;

	*out = NULL;
	if ((st = store_stmt(db, "SELECT requests FROM vm_request WHERE "
	    "vmid = ?1")) == NULL)
		return -1;
	sqlite3_bind_int(st, 1, vmid);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW &&
	    (*out = strdup((const char *)sqlite3_column_text(st, 0))) == NULL)
		rc = SQLITE_NOMEM;
	store_stmt_done(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

int
store_requests_put(sqlite3 *db, int vmid, const char *norm)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = store_stmt(db, "INSERT OR REPLACE INTO vm_request "
	    "(vmid, requests) VALUES (?1, ?2)")) == NULL)
		return -1;
	sqlite3_bind_int(st, 1, vmid);
	sqlite3_bind_text(st, 2, norm, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	store_stmt_done(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* vmid's holdings no longer come from one allocate (attach, reconcile). */
int
store_requests_forget(sqlite3 *db, int vmid)
{
	return exec_bound(db, "DELETE FROM vm_request WHERE vmid = ?1", vmid,
	    0, 0, NULL);
}

/*
 * A vGPU removal the kernel refused (why): the device stays blocked with
 * it until a scan finds the vGPU gone (store_sync clears it).
 */
int
store_stuck(sqlite3 *db, struct pp_inventory *inv, pp_addr a,
    const char *why)
{
	struct pp_device	*d;
	struct pp_extra		*x;
	sqlite3_stmt		*st;
	int			 rc;

	if ((st = store_stmt(db, "UPDATE device SET stuck = ?2 WHERE "
	    "addr = ?1")) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)a);
	sqlite3_bind_text(st, 2, why, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	store_stmt_done(st);
	if (rc != SQLITE_DONE)
		return -1;
	if (inv != NULL && (d = inventory_find(inv, a)) != NULL) {
		if ((x = dev_extra_w(d)) == NULL) {
			log_warnx("store: stuck: out of memory");
			return -1;	/* as store_hold() says */
		}
		snprintf(x->stuck, sizeof(x->stuck), "%s", why);
	}
	return 0;
}

/* What a bind did: the device's DRIVER is now driver. */
int
store_driver(sqlite3 *db, struct pp_inventory *inv, pp_addr a,
    const char *driver)
{
	struct pp_device	*d;
	sqlite3_stmt		*st;
	int		 rc;

	if ((st = store_stmt(db, "UPDATE device SET driver = ?2 WHERE "
	    "addr = ?1")) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)a);
	sqlite3_bind_text(st, 2, driver, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	store_stmt_done(st);
	if (rc != SQLITE_DONE)
		return -1;
	if (inv != NULL && (d = inventory_find(inv, a)) != NULL)
		d->driver = intern(driver);
	return 0;
}

/*
 * vmid now holds device a: the drivers pcipass recorded for a's IOMMU
 * group (bind_origin) are restored when vmid lets the group go, not when
 * their former VM does (reconcile adopting what another VM leaked).
 */
int
store_bind_reown(sqlite3 *db, pp_addr a, int vmid)
{
	return exec_bound(db, "UPDATE bind_origin SET vmid = ?1 WHERE vmid "
	    ">= 0 AND addr IN (SELECT m.addr FROM iommu_member m, "
	    "iommu_member g WHERE g.addr = ?2 AND m.grp = g.grp)", vmid,
	    (sqlite3_int64)a, 0, NULL);
}
