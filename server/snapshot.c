/*
 * The inventory as the daemon holds it in memory, in two copies, each
 * current for one store generation (store.c bumps it at every commit of
 * this process):
 *
 * - the readers' snapshot, with STATE set, shared by pci.test and the
 *   listings while the generation stays the same; nothing writes it;
 * - the writers' copy, only touched under the batch lock (ops_batch.c),
 *   carrying the open batch's uncommitted changes. The store's verbs
 *   (store_alloc.c) change a row and this copy together; a savepoint
 *   rolled back, a failed batch or a commit that did not go through the
 *   verbs (a rescan) makes the next writer reload it.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "pcipassd.h"

struct snapshot {
	uint64_t		 gen;
	int			 refs;		/* atomic */
	struct pp_inventory	 inv;
};

struct snapshots {
	pthread_mutex_t		 lock;		/* guards snap, building */
	pthread_cond_t		 built;
	int			 building;
	struct snapshot		*snap;		/* the readers' */
	struct pp_inventory	 cache;		/* the writers' (batch lock) */
	uint64_t		 cache_gen;	/* 0: none */
};

struct snapshots *
snapshots_new(void)
{
	struct snapshots	*m;

	if ((m = calloc(1, sizeof(*m))) == NULL)
		return NULL;
	pthread_mutex_init(&m->lock, NULL);
	pthread_cond_init(&m->built, NULL);
	return m;
}

/* Both copies, at the end. */
void
snapshots_free(struct snapshots *m)
{
	if (m == NULL)
		return;
	snapshot_put(m->snap);
	inventory_free(&m->cache);
	pthread_mutex_destroy(&m->lock);
	pthread_cond_destroy(&m->built);
	free(m);
}

void
snapshot_put(struct snapshot *sn)
{
	if (sn != NULL && __atomic_sub_fetch(&sn->refs, 1,
	    __ATOMIC_ACQ_REL) == 0) {
		inventory_free(&sn->inv);
		free(sn);
	}
}

static struct snapshot *
build(sqlite3 *db, int flags, uint64_t gen)
{
	struct snapshot	*sn;

	if ((sn = calloc(1, sizeof(*sn))) == NULL)
		return NULL;
	if (store_read(db, &sn->inv) < 0 ||
	    match_states(&sn->inv, flags & OP_BIND ? MATCH_BIND : 0) < 0) {
		inventory_free(&sn->inv);
		free(sn);
		return NULL;
	}
	sn->gen = gen;
	sn->refs = 2;		/* ours and the caller's */
	return sn;
}

/*
 * A reference to the current snapshot; NULL if it cannot be read. One
 * thread builds a new one; the others wait for it rather than each read
 * the whole store at once after every commit (a rescan of a big host
 * under load).
 */
struct snapshot *
snapshot_get(struct snapshots *m, sqlite3 *db, int flags)
{
	uint64_t		 gen = store_generation();
	struct snapshot		*sn, *old = NULL;

	pthread_mutex_lock(&m->lock);
	for (;;) {
		if ((sn = m->snap) != NULL && sn->gen >= gen) {
			__atomic_add_fetch(&sn->refs, 1, __ATOMIC_ACQ_REL);
			pthread_mutex_unlock(&m->lock);
			return sn;
		}
		if (!m->building)
			break;
		pthread_cond_wait(&m->built, &m->lock);
	}
	m->building = 1;
	pthread_mutex_unlock(&m->lock);
	sn = build(db, flags, gen);
	pthread_mutex_lock(&m->lock);
	m->building = 0;
	if (sn != NULL && (m->snap == NULL || m->snap->gen <= gen)) {
		old = m->snap;
		m->snap = sn;
	} else if (sn != NULL)
		sn->refs--;
	pthread_cond_broadcast(&m->built);
	pthread_mutex_unlock(&m->lock);
	snapshot_put(old);
	return sn;
}

const struct pp_inventory *
snapshot_inv(const struct snapshot *sn)
{
	return &sn->inv;
}

/* The writers' copy, current for the store's generation. */
struct pp_inventory *
cache_current(struct snapshots *m, sqlite3 *db)
{
	if (m->cache_gen != 0 && m->cache_gen == store_generation())
		return &m->cache;
	inventory_free(&m->cache);
	m->cache_gen = 0;
	if (store_load(db, &m->cache) < 0)
		return NULL;
	m->cache_gen = store_generation();
	return &m->cache;
}

/* After a commit at generation gen whose changes are in the copy. */
void
cache_committed_at(struct snapshots *m, uint64_t gen)
{
	m->cache_gen = gen;
}

/* After a failed batch or savepoint: the copy holds what is not stored. */
void
cache_invalidate(struct snapshots *m)
{
	m->cache_gen = 0;
}
