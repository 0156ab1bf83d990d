/*
 * The core operations behind the RPC methods, on the store: each one is
 * a BEGIN IMMEDIATE transaction that reads the inventory, decides with
 * the matcher and writes, so two callers never get the same device and a
 * failed call changes nothing. Nothing here knows XML-RPC.
 */
#include <stdlib.h>
#include <string.h>

#include "pcipassd.h"

static int
fail(struct pp_result *res, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fail(struct pp_result *res, int err, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(res->msg, sizeof(res->msg), fmt, ap);
	va_end(ap);
	res->err = err;
	return -1;
}

static int
internal(sqlite3 *db, struct pp_result *res, const char *what)
{
	log_warnx("%s: %s", what, sqlite3_errmsg(db));
	store_rollback(db);
	return fail(res, PP_ERR_INTERNAL, "database error while %s; nothing "
	    "changed", what);
}

void
result_free(struct pp_result *res)
{
	inventory_free(&res->inv);
}

static int
begin_load(sqlite3 *db, struct pp_result *res, int write)
{
	memset(res, 0, sizeof(*res));
	if ((write ? store_begin(db) : sqlite3_exec(db, "BEGIN", NULL, NULL,
	    NULL)) != 0)
		return internal(db, res, "starting a transaction");
	if (store_load(db, &res->inv) < 0)
		return internal(db, res, "reading the inventory");
	return 0;
}

static int
exec_bound(sqlite3 *db, const char *sql, int vmid, sqlite3_int64 a,
    int *changes)
{
	sqlite3_stmt	*st;
	int		 rc;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int(st, 1, vmid);
	sqlite3_bind_int64(st, 2, a);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (changes != NULL)
		*changes = sqlite3_changes(db);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* A consistent read of the whole inventory with STATE set. */
int
op_snapshot(sqlite3 *db, int flags, struct pp_result *res)
{
	if (begin_load(db, res, 0) < 0)
		return -1;
	store_rollback(db);
	match_states(&res->inv, flags & OP_BIND ? MATCH_BIND : 0);
	return 0;
}

static int
hold(sqlite3 *db, pp_addr a, int vmid, int req_index,
    const struct pp_nic *nic)
{
	sqlite3_stmt	*st;
	int		 rc;

	if (sqlite3_prepare_v2(db, "UPDATE device SET vmid = ?1, "
	    "req_index = ?2, nic = ?3, mac = ?4, ip = ?5, ip6 = ?6, "
	    "vlan_id = ?7, network = ?8 WHERE addr = ?9 AND vmid = -1", -1,
	    &st, NULL) != SQLITE_OK)
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
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE && sqlite3_changes(db) == 1 ? 0 : -1;
}

/* The normalised request list, one request per line. */
static char *
norm_list(const struct pp_request *req, size_t n)
{
	char	*buf = NULL, line[1024];
	size_t	 len = 0, i;
	FILE	*fp;

	if ((fp = open_memstream(&buf, &len)) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		request_norm(&req[i], line, sizeof(line));
		fprintf(fp, "%s\n", line);
	}
	if (fclose(fp) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

static int
last_requests(sqlite3 *db, int vmid, char **out)
{
	sqlite3_stmt	*st;
	int		 rc;

	*out = NULL;
	if (sqlite3_prepare_v2(db, "SELECT requests FROM vm_request WHERE "
	    "vmid = ?1", -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int(st, 1, vmid);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		*out = strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

static int
save_requests(sqlite3 *db, int vmid, const char *norm)
{
	sqlite3_stmt	*st;
	int		 rc;

	if (sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO vm_request "
	    "(vmid, requests) VALUES (?1, ?2)", -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int(st, 1, vmid);
	sqlite3_bind_text(st, 2, norm, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

static size_t
held_count(const struct pp_inventory *inv, int vmid)
{
	size_t	i, n = 0;

	for (i = 0; i < inv->ndev; i++)
		n += inv->dev[i].vmid == vmid;
	return n;
}

/*
 * A retried allocate: the VM holds exactly what its last allocate with
 * these requests gave it. Fills res->idx in request order.
 */
static int
same_allocation(struct pp_result *res, int vmid, size_t nreq)
{
	size_t	i;
	int	r;

	if (held_count(&res->inv, vmid) != nreq)
		return 0;
	for (i = 0; i < res->inv.ndev; i++) {
		if (res->inv.dev[i].vmid != vmid)
			continue;
		r = res->inv.dev[i].req_index;
		if (r < 0 || (size_t)r >= nreq)
			return 0;
		res->idx[r] = i;
	}
	res->nidx = nreq;
	return 1;
}

/* Record the new holdings in the snapshot the caller will encode. */
static void
mark_held(struct pp_result *res, const struct pp_request *req, int vmid,
    int flags)
{
	size_t	i;

	for (i = 0; i < res->nidx; i++) {
		res->inv.dev[res->idx[i]].vmid = vmid;
		res->inv.dev[res->idx[i]].req_index = (int)i;
		res->inv.dev[res->idx[i]].nic = req[i].nic;
	}
	match_states(&res->inv, flags & OP_BIND ? MATCH_BIND : 0);
}

static int
hold_all(sqlite3 *db, struct pp_result *res, const struct pp_request *req,
    size_t nreq, int vmid, int first_index)
{
	size_t	i;

	for (i = 0; i < nreq; i++)
		if (hold(db, res->inv.dev[res->idx[i]].addr, vmid,
		    first_index + (int)i, &req[i].nic) < 0)
			return -1;
	return 0;
}

/* Run the matcher; on no fit, roll back with ALLOCATE and its reason. */
static int
assign(sqlite3 *db, struct pp_result *res, const struct pp_request *req,
    size_t nreq, int vmid, int mflags)
{
	char	*why;
	int	 rc;

	if ((why = malloc(sizeof(res->msg))) == NULL) {
		store_rollback(db);
		return fail(res, PP_ERR_INTERNAL, "out of memory");
	}
	rc = match_assign(&res->inv, req, nreq, vmid, mflags, res->idx, why,
	    sizeof(res->msg));
	if (rc != MATCH_OK) {
		store_rollback(db);
		rc = rc < 0 ? fail(res, PP_ERR_INTERNAL, "out of memory") :
		    fail(res, PP_ERR_ALLOCATE, "%s", why);
	}
	free(why);
	return rc;
}

/*
 * With --bind vfio, bind what this call holds (with the rest of its IOMMU
 * groups) to vfio-pci after the database update and before COMMIT, so a
 * failed bind changes nothing; undo the bind if the COMMIT fails.
 */
static int
commit_bound(sqlite3 *db, struct pp_result *res, int vmid, int flags,
    const char *what)
{
	struct bind_set	 set = { 0, NULL };
	pp_addr		 a[PP_MAXREQ];
	char		 why[1024];
	size_t		 i;

	for (i = 0; i < res->nidx && (flags & OP_BIND); i++)
		a[i] = res->inv.dev[res->idx[i]].addr;
	if ((flags & OP_BIND) && bind_devices(service_conf()->sysfs_root, db,
	    &res->inv, a, res->nidx, vmid, &set, why, sizeof(why)) < 0) {
		store_rollback(db);
		return fail(res, PP_ERR_INTERNAL, "binding to vfio-pci failed; "
		    "nothing changed: %s", why);
	}
	if (store_commit(db) < 0) {
		bind_undo(service_conf()->sysfs_root, &set);
		bind_set_free(&set);
		return internal(db, res, what);
	}
	bind_set_free(&set);
	return 0;
}

/* Devices pcipass bound for vmid go back to their drivers (bind.c). */
static void
restore_bound(sqlite3 *db, int vmid)
{
	if (service_conf() != NULL)
		bind_restore_vm(service_conf()->sysfs_root, db, vmid);
}

static int
matchflags(int flags)
{
	return (flags & OP_BIND ? MATCH_BIND : 0) |
	    (flags & OP_NEW ? MATCH_NEW : 0);
}

int
op_allocate(sqlite3 *db, int vmid, const struct pp_request *req,
    size_t nreq, int flags, struct pp_result *res)
{
	char	*norm = NULL, *last = NULL;
	int	 rc;

	if (begin_load(db, res, 1) < 0)
		return -1;
	if ((norm = norm_list(req, nreq)) == NULL ||
	    last_requests(db, vmid, &last) < 0) {
		rc = internal(db, res, "reading the VM's requests");
		goto done;
	}
	if (held_count(&res->inv, vmid) > 0) {
		store_rollback(db);
		if (last != NULL && strcmp(last, norm) == 0 &&
		    same_allocation(res, vmid, nreq)) {
			match_states(&res->inv, matchflags(flags));
			rc = 0;
		} else
			rc = fail(res, PP_ERR_ACTION, "VM %d already holds "
			    "%zu device(s) here from other requests; use "
			    "pci.attach to add one or pci.release first",
			    vmid, held_count(&res->inv, vmid));
		goto done;
	}
	if ((rc = assign(db, res, req, nreq, vmid, matchflags(flags))) < 0)
		goto done;
	res->nidx = nreq;
	if (hold_all(db, res, req, nreq, vmid, 0) < 0 ||
	    save_requests(db, vmid, norm) < 0) {
		rc = internal(db, res, "recording the allocation");
		goto done;
	}
	if ((rc = commit_bound(db, res, vmid, flags, "recording the "
	    "allocation")) < 0)
		goto done;
	mark_held(res, req, vmid, flags);
	rc = 0;
done:
	free(norm);
	free(last);
	return rc;
}

int
op_attach(sqlite3 *db, int vmid, const struct pp_request *req, int flags,
    struct pp_result *res)
{
	size_t	i;
	int	next = 0;

	if (begin_load(db, res, 1) < 0)
		return -1;
	for (i = 0; i < res->inv.ndev; i++)
		if (res->inv.dev[i].vmid == vmid &&
		    res->inv.dev[i].req_index >= next)
			next = res->inv.dev[i].req_index + 1;
	if (assign(db, res, req, 1, vmid, matchflags(flags | OP_NEW)) < 0)
		return -1;
	res->nidx = 1;
	if (hold_all(db, res, req, 1, vmid, next) < 0 ||
	    exec_bound(db, "DELETE FROM vm_request WHERE vmid = ?1", vmid, 0,
	    NULL) < 0)
		return internal(db, res, "recording the attach");
	if (commit_bound(db, res, vmid, flags, "recording the attach") < 0)
		return -1;
	mark_held(res, req, vmid, flags);
	res->inv.dev[res->idx[0]].req_index = next;
	return 0;
}

int
op_detach(sqlite3 *db, int vmid, pp_addr a, struct pp_result *res)
{
	char	buf[PP_ADDR_SYSFS_LEN];
	int	n;

	memset(res, 0, sizeof(*res));
	if (store_begin(db) < 0)
		return internal(db, res, "starting a transaction");
	if (exec_bound(db, "UPDATE device SET vmid = -1, req_index = -1, "
	    "nic = 0, mac = '', ip = '', ip6 = '', vlan_id = '', "
	    "network = '' WHERE vmid = ?1 AND addr = ?2", vmid,
	    (sqlite3_int64)a, &n) < 0)
		return internal(db, res, "detaching");
	if (n == 0) {
		store_rollback(db);
		return fail(res, PP_ERR_NO_EXISTS, "VM %d does not hold %s",
		    vmid, addr_fmt(a, ADDR_ONE, buf, sizeof(buf)));
	}
	if (exec_bound(db, "DELETE FROM device WHERE present = 0 AND "
	    "vmid = -1", 0, 0, NULL) < 0 ||
	    exec_bound(db, "DELETE FROM vm_request WHERE vmid = ?1", vmid, 0,
	    NULL) < 0)
		return internal(db, res, "detaching");
	restore_bound(db, vmid);
	if (store_commit(db) < 0)
		return internal(db, res, "detaching");
	res->count = 1;
	return 0;
}

int
op_release(sqlite3 *db, int vmid, struct pp_result *res)
{
	int	n;

	memset(res, 0, sizeof(*res));
	if (store_begin(db) < 0)
		return internal(db, res, "starting a transaction");
	if (exec_bound(db, "UPDATE device SET vmid = -1, req_index = -1, "
	    "nic = 0, mac = '', ip = '', ip6 = '', vlan_id = '', "
	    "network = '' WHERE vmid = ?1", vmid, 0, &n) < 0 ||
	    exec_bound(db, "DELETE FROM device WHERE present = 0 AND "
	    "vmid = -1", 0, 0, NULL) < 0 ||
	    exec_bound(db, "DELETE FROM vm_request WHERE vmid = ?1", vmid, 0,
	    NULL) < 0)
		return internal(db, res, "releasing");
	restore_bound(db, vmid);
	if (store_commit(db) < 0)
		return internal(db, res, "releasing");
	res->count = n;
	return 0;
}

int
op_test(sqlite3 *db, int vmid, const struct pp_request *req, size_t nreq,
    int flags, struct pp_test *t, struct pp_result *res)
{
	if (op_snapshot(db, flags, res) < 0)
		return -1;
	if (match_test(&res->inv, req, nreq, vmid, matchflags(flags), t) < 0)
		return fail(res, PP_ERR_INTERNAL, "out of memory");
	return 0;
}
