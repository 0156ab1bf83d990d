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
	int			 refs;
	struct pp_inventory	 inv;
};

static pthread_mutex_t	 snap_lock = PTHREAD_MUTEX_INITIALIZER;
static struct snapshot	*snap;

void
snapshot_put(struct snapshot *sn)
{
	int	last;

	if (sn == NULL)
		return;
	pthread_mutex_lock(&snap_lock);
	last = --sn->refs == 0;
	pthread_mutex_unlock(&snap_lock);
	if (last) {
		inventory_free(&sn->inv);
		free(sn);
	}
}

/* A reference to the current snapshot; NULL if it cannot be read. */
struct snapshot *
snapshot_get(sqlite3 *db, int flags)
{
	uint64_t		 gen = store_generation();
	struct snapshot		*sn, *old = NULL;

	pthread_mutex_lock(&snap_lock);
	if ((sn = snap) != NULL && sn->gen == gen)
		sn->refs++;
	else
		sn = NULL;
	pthread_mutex_unlock(&snap_lock);
	if (sn != NULL)
		return sn;
	if ((sn = calloc(1, sizeof(*sn))) == NULL)
		return NULL;
	if (store_read(db, &sn->inv) < 0) {
		inventory_free(&sn->inv);
		free(sn);
		return NULL;
	}
	match_states(&sn->inv, flags & OP_BIND ? MATCH_BIND : 0);
	sn->gen = gen;
	sn->refs = 2;		/* ours and the caller's */
	pthread_mutex_lock(&snap_lock);
	if (snap == NULL || snap->gen <= gen) {
		old = snap;
		snap = sn;
	} else
		sn->refs--;
	pthread_mutex_unlock(&snap_lock);
	snapshot_put(old);
	return sn;
}

const struct pp_inventory *
snapshot_inv(const struct snapshot *sn)
{
	return &sn->inv;
}


/* The writers' copy. */
static struct pp_inventory	cache;
static uint64_t			cache_gen;	/* 0: none */

struct pp_inventory *
cache_current(sqlite3 *db)
{
	if (cache_gen != 0 && cache_gen == store_generation())
		return &cache;
	inventory_free(&cache);
	cache_gen = 0;
	if (store_load(db, &cache) < 0)
		return NULL;
	cache_gen = store_generation();
	return &cache;
}

/* After a commit at generation gen whose changes are in the cache. */
void
cache_committed_at(uint64_t gen)
{
	cache_gen = gen;
}

/* After a failed batch: the cache holds changes that are not stored. */
void
cache_invalidate(void)
{
	cache_gen = 0;
}

/* Both copies, at the end. */
void
snapshot_free_all(void)
{
	snapshot_put(snap);
	snap = NULL;
	inventory_free(&cache);
	cache_gen = 0;
}
