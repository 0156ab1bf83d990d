/*
 * The daemon's state, in one struct pcipassd that main() makes and
 * passes down: configuration, the filter (replaced on SIGHUP), the
 * sqlite connections the calls share, the write batch's connection, and
 * the rescan that keeps the store in line with sysfs.
 */
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pcipassd.h"

/* The daemon whose connections the threads hold: one per process. */
static struct pcipassd	*pool_owner;

/* Back to the idle ones: the next call takes it. */
static void
pool_put(struct pcipassd *pd, sqlite3 *db)
{
	pthread_mutex_lock(&pd->pool_lock);
	pd->idle[pd->nidle++] = db;
	pthread_cond_signal(&pd->pool_free);
	pthread_mutex_unlock(&pd->pool_lock);
}

/* A thread ended with a connection lent to it: it goes back. */
static void
db_destroy(void *db)
{
	if (pool_owner != NULL && db != pool_owner->main_db)
		pool_put(pool_owner, db);
}

/*
 * A connection's thread that called in ends: what its calls parsed and
 * answered goes back to the system now, rather than wait as free chunks
 * in the arena (200 clients calling pci.allocate left 19 MB of those).
 */
static void
thread_end(void *arg)
{
	(void)arg;
	malloc_trim(0);
}

static void
report_log(const char *msg, void *arg)
{
	(void)arg;
	log_warnx("%s", msg);
}

/* Takes f and a, even on failure (service_free gives them back). */
int
service_init(struct pcipassd *pd, const struct pp_config *c,
    struct pp_filter *f, struct auth *a)
{
	sqlite3	*db;

	memset(pd, 0, sizeof(*pd));
	pd->conf = c;
	pd->filter = f;
	pd->auth = a;
	pd->flags = c->bind_vfio ? OP_BIND : 0;
	pthread_mutex_init(&pd->scan_lock, NULL);
	pthread_mutex_init(&pd->pool_lock, NULL);
	pthread_cond_init(&pd->pool_free, NULL);
	if (pthread_key_create(&pd->db_key, db_destroy) != 0)
		return -1;
	if (pthread_key_create(&pd->end_key, thread_end) != 0) {
		pthread_key_delete(pd->db_key);
		return -1;
	}
	pd->have_key = 1;
	pool_owner = pd;
	if ((db = store_open(c->db, 1)) == NULL)
		return -1;
	pd->main_db = db;
	pthread_setspecific(pd->db_key, db);
	/* Writers share one connection, used under the batch lock. */
	if ((pd->writers = store_open(c->db, 0)) == NULL ||
	    (pd->mem = snapshots_new()) == NULL ||
	    (pd->batch = batch_new(pd->writers, pd->mem)) == NULL)
		return -1;
	return 0;
}

/*
 * The connection this thread has, else one lent to it until
 * service_release(): an idle one, a new one while fewer than PP_POOL are
 * open, or else the first given back. A connection per thread held a
 * page cache and parsed schema for every client (200 clients calling
 * pci.allocate: 38 MB). A call holds its connection only while it runs;
 * 16 keep the group commit's batches as full as before at 16 clients,
 * where 8 cost allocate+release 15-20%. NULL on failure.
 */
sqlite3 *
service_db(struct pcipassd *pd)
{
	sqlite3	*db = pthread_getspecific(pd->db_key);

	if (db != NULL)
		return db;
	pthread_setspecific(pd->end_key, pd);
	pthread_mutex_lock(&pd->pool_lock);
	while (pd->nidle == 0 && pd->nopen == PP_POOL)
		pthread_cond_wait(&pd->pool_free, &pd->pool_lock);
	if (pd->nidle > 0)
		db = pd->idle[--pd->nidle];
	else
		pd->nopen++;
	pthread_mutex_unlock(&pd->pool_lock);
	if (db == NULL && (db = store_open(pd->conf->db, 0)) == NULL) {
		pthread_mutex_lock(&pd->pool_lock);
		pd->nopen--;
		pthread_cond_signal(&pd->pool_free);
		pthread_mutex_unlock(&pd->pool_lock);
		store_mark_same();	/* says so when the file is gone */
		return NULL;
	}
	pthread_setspecific(pd->db_key, db);
	return db;
}

/* The end of a request, or of the signal thread's rescan: the connection
 * lent to this thread goes back. */
void
service_release(struct pcipassd *pd)
{
	sqlite3	*db = pthread_getspecific(pd->db_key);

	if (db == NULL || db == pd->main_db)
		return;
	pthread_setspecific(pd->db_key, NULL);
	pool_put(pd, db);
}

/* What ops.c runs with on this thread; -1 when no connection opens. */
int
service_ctx(struct pcipassd *pd, struct op_ctx *x)
{
	x->db = service_db(pd);
	x->flags = pd->flags;
	x->root = pd->conf->sysfs_root;
	x->batch = pd->batch;
	x->mem = pd->mem;
	return x->db != NULL ? 0 : -1;
}

/*
 * After a rescan that changed something: the held devices of a group the
 * kernel regrouped under two VMs, whose REASON the snapshot's
 * match_states() set (match_split).
 */
static void
log_splits(struct pcipassd *pd, sqlite3 *db)
{
	struct snapshot			*sn;
	const struct pp_inventory	*inv;
	const struct pp_device		*d;
	char				 a[PP_ADDR_SYSFS_LEN];
	size_t				 i;

	if ((sn = snapshot_get(pd->mem, db, pd->flags)) == NULL)
		return;
	inv = snapshot_inv(sn);
	for (i = 0; i < inv->ndev; i++) {
		d = &inv->dev[i];
		if (d->vmid >= 0 && d->present && d->reason != NULL)
			log_warnx("rescan: %s, held by VM %d: %s",
			    addr_fmt(d->addr, ADDR_ONE, a, sizeof(a)), d->vmid,
			    d->reason);
	}
	snapshot_put(sn);
}

/* Scan sysfs and sync the store. */
int
service_rescan(struct pcipassd *pd, struct sync_counts *c)
{
	struct pp_inventory	 inv;
	sqlite3			*db;
	int			 rc = -1;

	memset(c, 0, sizeof(*c));
	if ((db = service_db(pd)) == NULL)
		return -1;
	pthread_mutex_lock(&pd->scan_lock);
	if (inventory_scan(pd->conf, pd->filter, &inv) == 0) {
		rc = store_sync(db, &inv, c);
		inventory_free(&inv);
	}
	pthread_mutex_unlock(&pd->scan_lock);
	if (rc == 0 && (c->added || c->removed || c->changed ||
	    c->regrouped)) {
		log_info("rescan: %d added, %d removed, %d changed", c->added,
		    c->removed, c->changed);
		log_splits(pd, db);
	}
	return rc;
}

/*
 * At start with --bind vfio: mend what a stop between a sysfs write and
 * its commit left (op_mend), then read sysfs again.
 */
int
service_mend(struct pcipassd *pd)
{
	struct op_ctx		x;
	struct pp_result	res;
	struct sync_counts	c;
	int			n;

	memset(&res, 0, sizeof(res));
	if (service_db(pd) == NULL)
		return -1;
	if (bind_journal_mend(pd->conf->sysfs_root, service_db(pd), &n) < 0)
		log_warnx("mend: some devices of the bind journal could not be "
		    "given back; see above");
	else if (n > 0)
		log_info("mend: %d device(s) bound by calls that never "
		    "committed given back to their drivers", n);
	/* Their drivers changed: the inventory reads them again. */
	if (n > 0 && service_rescan(pd, &c) < 0)
		return -1;
	if (!(pd->flags & OP_BIND))
		return 0;
	if (service_ctx(pd, &x) < 0 || op_mend(&x, &n, &res) < 0) {
		log_warnx("mend: %s", res.msg);
		result_free(&res);
		return -1;
	}
	result_free(&res);
	if (n > 0)
		log_info("mend: %d vGPU(s) put in line with the ledger", n);
	return n > 0 ? service_rescan(pd, &c) : 0;
}

/*
 * SIGHUP: read the filter file again; on any error keep the old one.
 * Held devices the new filter does not offer stay held until released.
 */
int
service_reload(struct pcipassd *pd)
{
	struct pp_filter	*f;
	struct sync_counts	 c;

	if ((f = filter_load(pd->conf->filter, report_log, NULL)) == NULL) {
		log_warnx("reload: %s has errors; keeping the old filter",
		    pd->conf->filter);
		return -1;
	}
	pthread_mutex_lock(&pd->scan_lock);
	filter_free(pd->filter);
	pd->filter = f;
	pthread_mutex_unlock(&pd->scan_lock);
	log_info("reload: filter %s loaded", pd->conf->filter);
	return service_rescan(pd, &c);
}

void
service_free(struct pcipassd *pd)
{
	int	i;

	if (pd->have_key)
		pthread_setspecific(pd->db_key, NULL);
	store_close(pd->main_db);
	pd->main_db = NULL;
	/* Calls in flight still answer (rpc_stop): all are given back. */
	for (i = 0; i < pd->nidle; i++)
		store_close(pd->idle[i]);
	pd->nidle = pd->nopen = 0;
	pool_owner = NULL;
	filter_free(pd->filter);
	pd->filter = NULL;
	auth_free(pd->auth);
	pd->auth = NULL;
	batch_free(pd->batch);
	pd->batch = NULL;
	snapshots_free(pd->mem);
	pd->mem = NULL;
	store_close(pd->writers);
	pd->writers = NULL;
}
