/*
 * The core operations behind the RPC methods: each change decides with
 * the matcher and writes inside a write transaction shared with the calls
 * of its batch (ops_batch.c), within its own savepoint, and answers once
 * that transaction is on disk; so two callers never get the same device
 * and a failed call changes nothing. Nothing here knows XML-RPC.
 *
 * Writers keep a copy of the stored inventory (snapshot.c), which the
 * store's verbs change with the rows, so an allocation does not reread
 * every row.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

void
result_free(struct pp_result *res)
{
	inventory_free(&res->inv);
}

static int
db_error(sqlite3 *db, struct pp_result *res, const char *what)
{
	log_warnx("%s: %s", what, sqlite3_errmsg(db));
	return fail(res, PP_ERR_INTERNAL, "database error while %s; nothing "
	    "changed", what);
}

/* Join the write batch with a current writers' copy; NULL with res set. */
static struct pp_inventory *
begin_write(const struct op_ctx *x, sqlite3 **bdb, struct pp_result *res)
{
	struct pp_inventory	*inv;

	memset(res, 0, sizeof(*res));
	if ((*bdb = batch_join(x->batch, x->db)) == NULL) {
		db_error(x->db, res, "starting a transaction");
		return NULL;
	}
	if ((inv = batch_inventory(x->batch)) == NULL) {
		db_error(*bdb, res, "reading the inventory");
		batch_leave(x->batch, 0, 0);
	}
	return inv;
}

/* Leave the batch without a change, answering with res as it is. */
static int
leave_unchanged(const struct op_ctx *x, struct pp_result *res, int wait)
{
	if (batch_leave(x->batch, 0, wait) < 0)
		return fail(res, PP_ERR_INTERNAL, "database error while "
		    "committing; nothing changed");
	return res->err ? -1 : 0;
}

/* Undo this call's writes and leave the batch. */
static int
abandon(const struct op_ctx *x, sqlite3 *db, struct pp_result *res,
    const char *what)
{
	if (what != NULL)
		db_error(db, res, what);
	batch_savepoint_end(x->batch, db, 0);
	batch_leave(x->batch, 0, 0);
	return -1;
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

static size_t
held_count(const struct pp_inventory *inv, int vmid)
{
	size_t	i, n = 0;

	for (i = 0; i < inv->ndev; i++)
		n += inv->dev[i].vmid == vmid;
	return n;
}

/*
 * The result of a change: copies of the devices idx[0..n) in that order,
 * as they are now, in res->inv with res->idx[i] = i.
 */
static int
copy_result(struct pp_result *res, const struct pp_inventory *inv,
    const size_t *idx, size_t n)
{
	size_t	i;

	if ((res->inv.dev = calloc(n ? n : 1, sizeof(*res->inv.dev))) ==
	    NULL)
		return fail(res, PP_ERR_INTERNAL, "out of memory");
	for (i = 0; i < n; i++) {
		if (device_copy(&res->inv.dev[i], &inv->dev[idx[i]]) < 0) {
			res->inv.ndev = i;
			return fail(res, PP_ERR_INTERNAL, "out of memory");
		}
		snprintf(res->inv.dev[i].state, sizeof(res->inv.dev[i].state),
		    "%s", res->inv.dev[i].present ? "used" : "missing");
		if (res->inv.dev[i].present)
			dev_set_reason(&res->inv.dev[i], "");
		res->idx[i] = i;
	}
	res->inv.ndev = n;
	res->nidx = n;
	return 0;
}

/*
 * A retried allocate: the VM holds exactly what its last allocate with
 * these requests gave it. Fills idx in request order.
 */
static int
same_allocation(const struct pp_inventory *inv, int vmid, size_t nreq,
    size_t *idx)
{
	size_t	i;
	int	r;

	if (held_count(inv, vmid) != nreq)
		return 0;
	for (i = 0; i < inv->ndev; i++) {
		if (inv->dev[i].vmid != vmid)
			continue;
		r = inv->dev[i].req_index;
		if (r < 0 || (size_t)r >= nreq)
			return 0;
		idx[r] = i;
	}
	return 1;
}

/*
 * A deploy re-asserting oned's choice: only address requests, naming
 * exactly what the VM holds here, however it was taken (API.md). Fills
 * idx in request order.
 */
static int
same_addresses(const struct pp_inventory *inv, int vmid,
    const struct pp_request *req, size_t nreq, size_t *idx)
{
	const struct pp_device	*d;
	size_t			 i;

	if (held_count(inv, vmid) != nreq)
		return 0;
	for (i = 0; i < nreq; i++) {
		if (!req[i].has_addr ||
		    (d = inventory_find(inv, req[i].addr)) == NULL ||
		    d->vmid != vmid)
			return 0;
		idx[i] = (size_t)(d - inv->dev);
	}
	return 1;
}

static int
matchflags(int flags)
{
	return (flags & OP_BIND ? MATCH_BIND : 0) |
	    (flags & OP_NEW ? MATCH_NEW : 0);
}

/* Run the matcher; on no fit, ALLOCATE and its reason in res. */
static int
assign(struct pp_result *res, const struct pp_inventory *inv,
    const struct pp_request *req, size_t nreq, int vmid, int mflags,
    size_t *idx)
{
	int	rc;

	rc = match_assign(inv, req, nreq, vmid, mflags, idx, res->msg,
	    sizeof(res->msg));
	if (rc == MATCH_OK)
		return 0;
	if (rc < 0)
		return fail(res, PP_ERR_INTERNAL, "out of memory");
	res->err = PP_ERR_ALLOCATE;
	return -1;
}

/*
 * With --bind vfio, bind the new holdings (with the rest of their IOMMU
 * groups) to vfio-pci after the database update and before COMMIT, so a
 * failed bind changes nothing (bind.c undoes its own writes).
 */
static int
bind_held(sqlite3 *db, const char *root, struct pp_result *res,
    const struct pp_inventory *inv, const size_t *idx, size_t n, int vmid,
    struct bind_set *set)
{
	pp_addr	a[PP_MAXREQ];
	char	why[1024];
	size_t	i;

	for (i = 0; i < n; i++)
		a[i] = inv->dev[idx[i]].addr;
	if (bind_devices(root, db, inv, a, n, vmid, set, why, sizeof(why)) == 0)
		return 0;
	return fail(res, PP_ERR_INTERNAL, "binding to vfio-pci failed; "
	    "nothing changed: %s", why);
}

/* What a bind did, in the inventory: DRIVER is vfio-pci now. */
static int
record_bound(sqlite3 *db, struct pp_result *res, struct pp_inventory *inv,
    const struct bind_set *set)
{
	size_t	i;

	for (i = 0; i < set->n; i++)
		if (store_driver(db, inv, set->item[i].addr, "vfio-pci") < 0)
			return db_error(db, res, "recording the binding");
	return 0;
}

/*
 * What one call made of vGPUs, to remove if the call fails: the address
 * and layout of each, not a pointer into the writers' copy, which the
 * next batch may reload once a failed commit has let go of the lock.
 */
struct made {
	struct made_vgpu {
		pp_addr	addr;
		char	mdev_mode[8];
	}	dev[PP_MAXREQ];
	size_t	n;
};

/* Remove the vGPUs a failing call made, newest first. */
static void
vgpu_undo(const struct op_ctx *x, struct made *m)
{
	struct pp_device	*d;
	char			 msg[512];

	if (m->n == 0 || (d = calloc(1, sizeof(*d))) == NULL)
		return;
	device_strings_init(d);
	while (m->n > 0) {
		m->n--;
		d->addr = m->dev[m->n].addr;
		memcpy(d->mdev_mode, m->dev[m->n].mdev_mode,
		    sizeof(d->mdev_mode));
		if (vgpu_remove(x->root, d, msg, sizeof(msg)) < 0)
			log_warnx("vgpu: undoing a failed call: %s", msg);
	}
	free(d);
}

/*
 * With --bind vfio, make the vGPU of each request with a PROFILE, before
 * COMMIT like a bind; one that was already there counts as made but is
 * not this call's to undo.
 */
static int
vgpu_held(const struct op_ctx *x, struct pp_result *res,
    const struct pp_inventory *inv, const struct pp_request *req,
    const size_t *idx, size_t nreq, struct made *m)
{
	char	msg[512];
	size_t	i;
	int	rc;

	for (i = 0; i < nreq; i++) {
		if (req[i].profile[0] == '\0')
			continue;
		if ((rc = vgpu_make(x->root, &inv->dev[idx[i]], req[i].profile,
		    msg, sizeof(msg))) < 0)
			return fail(res, PP_ERR_INTERNAL, "making the vGPU of "
			    "request %zu failed; nothing changed: %s", i, msg);
		if (rc == 1) {
			m->dev[m->n].addr = inv->dev[idx[i]].addr;
			memcpy(m->dev[m->n].mdev_mode, inv->dev[idx[i]].mdev_mode,
			    sizeof(m->dev[m->n].mdev_mode));
			m->n++;
		}
		res->rescan = 1;
	}
	return 0;
}

/* The requests without a PROFILE: the devices to bind to vfio-pci. */
static size_t
no_profile(const struct pp_request *req, const size_t *idx, size_t nreq,
    size_t *out)
{
	size_t	i, n = 0;

	for (i = 0; i < nreq; i++)
		if (req[i].profile[0] == '\0')
			out[n++] = idx[i];
	return n;
}

/*
 * Write the holdings in this call's savepoint, make their vGPUs and bind
 * the rest (OP_BIND), then leave the batch once it is on disk, undoing
 * what was made and bound if the call or its commit failed.
 */
static int
hold_commit(const struct op_ctx *x, sqlite3 *db, struct pp_result *res,
    struct pp_inventory *inv, const struct pp_request *req, size_t nreq,
    int vmid, int first, const size_t *idx, const char *norm)
{
	struct bind_set	set = { 0, NULL };
	struct made	made = { .n = 0 };
	int64_t		now = (int64_t)time(NULL);
	size_t		i, bidx[PP_MAXREQ], nb;
	int		copied;

	if (batch_savepoint(x->batch, db) < 0) {
		db_error(db, res, "recording the holding");
		batch_leave(x->batch, 0, 0);
		return -1;
	}
	for (i = 0; i < nreq; i++)
		if (store_hold(db, inv, inv->dev[idx[i]].addr, vmid,
		    first + (int)i, &req[i].nic, req[i].profile, now) < 0)
			return abandon(x, db, res, "recording the holding");
	if ((norm != NULL ? store_requests_put(db, vmid, norm) :
	    store_requests_forget(db, vmid)) < 0)
		return abandon(x, db, res, "recording the requests");
	nb = no_profile(req, idx, nreq, bidx);
	if ((x->flags & OP_BIND) && (vgpu_held(x, res, inv, req, idx, nreq,
	    &made) < 0 || (nb > 0 && bind_held(db, x->root, res, inv, bidx,
	    nb, vmid, &set) < 0) || record_bound(db, res, inv, &set) < 0))
		goto undo;
	if (batch_savepoint_end(x->batch, db, 1) < 0) {
		db_error(db, res, "recording the holding");
		goto undo;
	}
	/* The answer is copied while the batch lock is held; the batch is
	 * left whatever happens, or every writer would wait for ever. */
	copied = copy_result(res, inv, idx, nreq);
	if (batch_leave(x->batch, 1, 1) < 0) {
		fail(res, PP_ERR_INTERNAL, "database error while committing; "
		    "nothing changed");
		if (x->flags & OP_BIND) {
			vgpu_undo(x, &made);
			bind_undo(x->root, &set);
		}
		bind_set_free(&set);
		return -1;
	}
	bind_set_free(&set);
	if (copied < 0)
		return fail(res, PP_ERR_INTERNAL, "out of memory for the "
		    "answer; the holding is recorded: call again");
	return 0;
undo:
	vgpu_undo(x, &made);
	bind_undo(x->root, &set);
	bind_set_free(&set);
	return abandon(x, db, res, NULL);
}

static int
allocate(const struct op_ctx *x, int vmid, const struct pp_request *req,
    size_t nreq, struct pp_result *res)
{
	struct pp_inventory	*inv;
	size_t			 idx[PP_MAXREQ];
	char			*norm = NULL, *last = NULL;
	sqlite3			*b;
	int			 rc = -1;

	if ((inv = begin_write(x, &b, res)) == NULL)
		return -1;
	if ((norm = norm_list(req, nreq)) == NULL ||
	    store_requests_get(b, vmid, &last) < 0) {
		db_error(b, res, "reading the VM's requests");
		rc = leave_unchanged(x, res, 0);
	} else if (held_count(inv, vmid) > 0) {
		/* A retry answers what may still be in this batch: it waits
		 * for the batch to be on disk like the call it repeats. */
		if ((last != NULL && strcmp(last, norm) == 0 &&
		    same_allocation(inv, vmid, nreq, idx)) ||
		    same_addresses(inv, vmid, req, nreq, idx)) {
			copy_result(res, inv, idx, nreq);
			rc = leave_unchanged(x, res, 1);
		} else {
			fail(res, PP_ERR_ACTION, "VM %d already holds %zu "
			    "device(s) here from other requests; use "
			    "pci.attach to add one or pci.release first",
			    vmid, held_count(inv, vmid));
			rc = leave_unchanged(x, res, 0);
		}
	} else if (assign(res, inv, req, nreq, vmid, matchflags(x->flags),
	    idx) < 0)
		rc = leave_unchanged(x, res, 0);
	else
		rc = hold_commit(x, b, res, inv, req, nreq, vmid, 0, idx, norm);
	free(norm);
	free(last);
	return rc;
}

static int
attach(const struct op_ctx *x, int vmid, const struct pp_request *req,
    struct pp_result *res)
{
	struct pp_inventory	*inv;
	size_t			 i, idx[1];
	sqlite3			*b;
	int			 next = 0;

	if ((inv = begin_write(x, &b, res)) == NULL)
		return -1;
	for (i = 0; i < inv->ndev; i++)
		if (inv->dev[i].vmid == vmid && inv->dev[i].req_index >= next)
			next = inv->dev[i].req_index + 1;
	if (assign(res, inv, req, 1, vmid, matchflags(x->flags | OP_NEW),
	    idx) < 0)
		return leave_unchanged(x, res, 0);
	return hold_commit(x, b, res, inv, req, 1, vmid, next, idx, NULL);
}

static void
devices_free(struct pp_device *v, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		device_clear(&v[i]);
	free(v);
}

/*
 * With --bind vfio, copies of the vGPUs vmid holds (only a when one),
 * taken before store_free() forgets their profiles; -1 out of memory.
 */
static ssize_t
vgpus_held(const struct op_ctx *x, const struct pp_inventory *inv, int vmid,
    pp_addr a, int one, struct pp_device **out)
{
	struct pp_device	*v;
	size_t			 i, n = 0;

	*out = NULL;
	for (i = 0; (x->flags & OP_BIND) && x->root != NULL && i < inv->ndev;
	    i++) {
		const struct pp_device	*d = &inv->dev[i];

		if (d->vmid != vmid || (one && d->addr != a) || !d->present ||
		    dev_extra(d)->profile[0] == '\0' ||
		    d->mdev_mode[0] == '\0')
			continue;
		if ((v = reallocarray(*out, n + 1, sizeof(*v))) == NULL ||
		    device_copy(&v[n], d) < 0) {
			devices_free(v != NULL ? v : *out, n);
			*out = NULL;
			return -1;
		}
		n++;
		*out = v;
	}
	return (ssize_t)n;
}

/*
 * Remove the vGPUs of devices just freed in this savepoint. One the
 * kernel refuses to remove leaves its device stuck: blocked, the
 * kernel's error its REASON, never silently free; the release stands.
 */
static int
vgpu_release(const struct op_ctx *x, sqlite3 *db, struct pp_result *res,
    struct pp_inventory *inv, const struct pp_device *v, size_t n)
{
	char	msg[512], s[PP_ADDR_SYSFS_LEN];
	size_t	i;
	int	rc;

	for (i = 0; i < n; i++) {
		if ((rc = vgpu_remove(x->root, &v[i], msg, sizeof(msg))) != 0)
			res->rescan = 1;
		if (rc >= 0)
			continue;
		log_warnx("release: VM %d: %s keeps its vGPU: %s", v[i].vmid,
		    addr_fmt(v[i].addr, ADDR_SYSFS, s, sizeof(s)), msg);
		if (store_stuck(db, inv, v[i].addr, msg) < 0)
			return db_error(db, res, "recording a vGPU left");
	}
	return 0;
}

/* A release that was not recorded: its vGPUs are made again. */
static void
vgpu_remake(const struct op_ctx *x, const struct pp_device *v, size_t n)
{
	char	msg[512];
	size_t	i;

	for (i = 0; i < n; i++)
		if (vgpu_make(x->root, &v[i], dev_extra(&v[i])->profile, msg,
		    sizeof(msg)) < 0)
			log_warnx("vgpu: a release not recorded: %s", msg);
}

static int
release(const struct op_ctx *x, int vmid, pp_addr a, int one,
    struct pp_result *res)
{
	struct pp_inventory	*inv;
	struct pp_device	*d, *v;
	char			 buf[PP_ADDR_SYSFS_LEN], why[512];
	int64_t			 now = (int64_t)time(NULL);
	sqlite3			*b;
	ssize_t			 nv;
	int			 n;

	if ((inv = begin_write(x, &b, res)) == NULL)
		return -1;
	if (one && (d = inventory_find(inv, a)) != NULL && d->vmid == vmid &&
	    match_detach_splits(inv, d, vmid, why, sizeof(why))) {
		fail(res, PP_ERR_ACTION, "%s", why);
		return leave_unchanged(x, res, 0);
	}
	if ((nv = vgpus_held(x, inv, vmid, a, one, &v)) < 0) {
		fail(res, PP_ERR_INTERNAL, "out of memory");
		return leave_unchanged(x, res, 0);
	}
	if (batch_savepoint(x->batch, b) < 0) {
		devices_free(v, (size_t)nv);
		db_error(b, res, "releasing");
		return leave_unchanged(x, res, 0);
	}
	if ((n = store_free(b, inv, vmid, a, one, now)) < 0) {
		devices_free(v, (size_t)nv);
		return abandon(x, b, res, "releasing");
	}
	if (one && n == 0) {
		devices_free(v, (size_t)nv);
		fail(res, PP_ERR_NO_EXISTS, "VM %d does not hold %s", vmid,
		    addr_fmt(a, ADDR_ONE, buf, sizeof(buf)));
		return abandon(x, b, res, NULL);
	}
	/* vGPUs made for vmid go; devices bound for it go back to their
	 * drivers. If the release is not recorded after all, the vGPUs are
	 * made again: the ledger still says the VM holds them. */
	if (vgpu_release(x, b, res, inv, v, (size_t)nv) < 0) {
		vgpu_remake(x, v, (size_t)nv);
		devices_free(v, (size_t)nv);
		return abandon(x, b, res, NULL);
	}
	if (x->root != NULL)
		bind_restore_vm(x->root, b, vmid);
	if (batch_savepoint_end(x->batch, b, 1) < 0) {
		vgpu_remake(x, v, (size_t)nv);
		devices_free(v, (size_t)nv);
		return abandon(x, b, res, "releasing");
	}
	if (batch_leave(x->batch, 1, 1) < 0) {
		vgpu_remake(x, v, (size_t)nv);
		devices_free(v, (size_t)nv);
		return fail(res, PP_ERR_INTERNAL, "database error while "
		    "committing; nothing changed");
	}
	devices_free(v, (size_t)nv);
	res->count = n;
	return 0;
}

/* The write operations. */
int
op_allocate(const struct op_ctx *x, int vmid, const struct pp_request *req,
    size_t nreq, struct pp_result *res)
{
	return allocate(x, vmid, req, nreq, res);
}

int
op_attach(const struct op_ctx *x, int vmid, const struct pp_request *req,
    struct pp_result *res)
{
	return attach(x, vmid, req, res);
}

int
op_detach(const struct op_ctx *x, int vmid, pp_addr a, struct pp_result *res)
{
	return release(x, vmid, a, 1, res);
}

int
op_release(const struct op_ctx *x, int vmid, struct pp_result *res)
{
	return release(x, vmid, 0, 0, res);
}

/* pci.test reads the readers' shared snapshot (snapshot.c). */
int
op_test(const struct op_ctx *x, int vmid, const struct pp_request *req,
    size_t nreq, struct pp_test *t, struct pp_result *res)
{
	struct snapshot	*sn;
	int		 rc;

	memset(res, 0, sizeof(*res));
	if ((sn = snapshot_get(x->mem, x->db, x->flags)) == NULL)
		return fail(res, PP_ERR_INTERNAL, "cannot read the inventory");
	rc = match_test(snapshot_inv(sn), req, nreq, vmid,
	    matchflags(x->flags), t);
	snapshot_put(sn);
	return rc < 0 ? fail(res, PP_ERR_INTERNAL, "out of memory") : 0;
}

/*
 * Write a reconcile plan (reconcile.c) in this call's savepoint: leaked
 * holdings freed and their drivers restored first, then missing ones
 * taken and, with --bind vfio, bound, judged on the planned inventory w
 * (a group whose leak is let go is free for its new VM). The verbs
 * change the writers' copy inv with the rows.
 */
static int
reconcile_write(const struct op_ctx *x, sqlite3 *db, struct pp_result *res,
    struct pp_inventory *inv, const struct pp_inventory *w,
    const struct rc_plan *p)
{
	const char		*root = x->root;
	int			 flags = x->flags;
	struct pp_device	*v;
	ssize_t			 nv;
	const struct rc_item	*it;
	const struct pp_device	*d;
	struct bind_set		 set = { 0, NULL };
	struct pp_nic		 none;
	int64_t			 now = (int64_t)time(NULL);
	char			 why[1024];
	size_t			 i;

	memset(&none, 0, sizeof(none));
	if (batch_savepoint(x->batch, db) < 0) {
		db_error(db, res, "reconciling");
		batch_leave(x->batch, 0, 0);
		return -1;
	}
	for (i = 0; i < p->n[RC_LEAKED]; i++) {
		it = &p->item[RC_LEAKED][i];
		if ((nv = vgpus_held(x, inv, it->vmid, it->addr, 1, &v)) < 0) {
			fail(res, PP_ERR_INTERNAL, "out of memory");
			return abandon(x, db, res, NULL);
		}
		if (store_free(db, inv, it->vmid, it->addr, 1, now) != 1 ||
		    vgpu_release(x, db, res, inv, v, (size_t)nv) < 0) {
			devices_free(v, (size_t)nv);
			return abandon(x, db, res, res->err ? NULL :
			    "releasing a leaked holding");
		}
		devices_free(v, (size_t)nv);
	}
	/* A group that changes hands keeps its binding: its recorded
	 * drivers go back when the new VM lets it go. */
	for (i = 0; i < p->n[RC_MISSING]; i++)
		if (store_bind_reown(db, p->item[RC_MISSING][i].addr,
		    p->item[RC_MISSING][i].vmid) < 0)
			return abandon(x, db, res, "recording an adopted holding");
	for (i = 0; i < p->n[RC_LEAKED] && root != NULL; i++)
		bind_restore_vm(root, db, p->item[RC_LEAKED][i].vmid);
	for (i = 0; i < p->n[RC_MISSING]; i++) {
		it = &p->item[RC_MISSING][i];
		d = inventory_find(w, it->addr);
		if (store_hold(db, inv, it->addr, it->vmid, d->req_index,
		    &none, "", d->taken) < 0 ||
		    store_requests_forget(db, it->vmid) < 0)
			return abandon(x, db, res, "recording an adopted holding");
		if ((flags & OP_BIND) && root != NULL &&
		    bind_devices(root, db, w, &it->addr, 1, it->vmid, &set,
		    why, sizeof(why)) < 0) {
			fail(res, PP_ERR_INTERNAL, "binding to vfio-pci failed; "
			    "nothing changed: %s", why);
			goto undo;
		}
	}
	if (record_bound(db, res, inv, &set) < 0)
		goto undo;
	if (batch_savepoint_end(x->batch, db, 1) < 0) {
		db_error(db, res, "reconciling");
		goto undo;
	}
	if (batch_leave(x->batch, 1, 1) < 0) {
		if (root != NULL)
			bind_undo(root, &set);
		bind_set_free(&set);
		return fail(res, PP_ERR_INTERNAL, "database error while "
		    "committing; nothing changed");
	}
	bind_set_free(&set);
	return 0;
undo:
	if (root != NULL)
		bind_undo(root, &set);
	bind_set_free(&set);
	return abandon(x, db, res, NULL);
}

/*
 * pci.reconcile: plan on a copy of the writers' inventory; with apply,
 * write the plan as one change of the batch. The plan is the answer in
 * both cases.
 */
int
op_reconcile(const struct op_ctx *x, const struct rc_holding *view,
    size_t nh, int64_t as_of, int apply, struct rc_plan *plan,
    struct pp_result *res)
{
	struct pp_inventory	*inv, w;
	sqlite3			*b;
	int			 rc;

	memset(plan, 0, sizeof(*plan));
	if ((inv = begin_write(x, &b, res)) == NULL)
		return -1;
	if (inventory_copy(&w, inv) < 0 ||
	    reconcile_plan(&w, view, nh, as_of, (int64_t)time(NULL),
	    matchflags(x->flags), plan) < 0) {
		inventory_free(&w);
		fail(res, PP_ERR_INTERNAL, "out of memory");
		return leave_unchanged(x, res, 0);
	}
	/* Like a retry, the answer may rest on the open batch's changes: it
	 * waits for them to be on disk. */
	if (!apply || plan->n[RC_LEAKED] + plan->n[RC_MISSING] == 0)
		rc = leave_unchanged(x, res, 1);
	else
		rc = reconcile_write(x, b, res, inv, &w, plan);
	inventory_free(&w);
	if (rc < 0)
		reconcile_plan_free(plan);
	return rc;
}

/*
 * At start with --bind vfio, where the ledger and sysfs disagree on a
 * vGPU after pcipassd stopped between a sysfs write and its commit:
 * a held device whose vGPU is gone gets it made again (the VM holds it);
 * an offered device no VM holds that still runs the vGPU named by its
 * UUID (legacy) or a type (nvidia) has it removed, as its release would
 * have; a removal the kernel refuses leaves the device stuck. pcipassd
 * owns the vGPUs of the devices it offers when it binds. *count: mended.
 */
int
op_mend(const struct op_ctx *x, int *count, struct pp_result *res)
{
	struct pp_inventory	*inv;
	struct pp_device	*d;
	char			 msg[512], s[PP_ADDR_SYSFS_LEN];
	sqlite3			*b;
	size_t			 i;
	int			 rc;

	*count = 0;
	if (!(x->flags & OP_BIND) || x->root == NULL)
		return 0;
	if ((inv = begin_write(x, &b, res)) == NULL)
		return -1;
	if (batch_savepoint(x->batch, b) < 0) {
		db_error(b, res, "mending");
		return leave_unchanged(x, res, 0);
	}
	for (i = 0; i < inv->ndev; i++) {
		d = &inv->dev[i];
		if (!d->present || d->mdev_mode[0] == '\0')
			continue;
		addr_fmt(d->addr, ADDR_SYSFS, s, sizeof(s));
		if (d->vmid >= 0 && dev_extra(d)->profile[0] != '\0' &&
		    d->vgpu[0] == '\0') {
			const char	*pr = dev_extra(d)->profile;

			if ((rc = vgpu_make(x->root, d, pr, msg,
			    sizeof(msg))) < 0)
				log_warnx("mend: VM %d holds %s, whose vGPU %s "
				    "is gone and cannot be made: %s", d->vmid,
				    s, pr, msg);
			else if (rc == 1)
				log_info("mend: VM %d holds %s, whose vGPU %s "
				    "was gone: made again", d->vmid, s, pr);
			*count += rc == 1;
		} else if (d->vmid < 0 && d->offered && d->vgpu[0] != '\0' &&
		    dev_extra(d)->stuck[0] == '\0') {
			if ((rc = vgpu_remove(x->root, d, msg,
			    sizeof(msg))) < 0) {
				log_warnx("mend: %s: no VM holds it and its "
				    "vGPU %s cannot be removed: %s", s,
				    d->vgpu, msg);
				if (store_stuck(b, inv, d->addr, msg) < 0)
					return abandon(x, b, res, "mending");
			} else if (rc == 1)
				log_info("mend: %s: no VM holds it: its vGPU %s, "
				    "left by a stop between the kernel and the "
				    "ledger, removed", s, d->vgpu);
			*count += rc != 0;
		}
	}
	if (batch_savepoint_end(x->batch, b, 1) < 0)
		return abandon(x, b, res, "mending");
	if (batch_leave(x->batch, 1, 1) < 0)
		return fail(res, PP_ERR_INTERNAL, "database error while "
		    "committing the mend");
	return 0;
}
