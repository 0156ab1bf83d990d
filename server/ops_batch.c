/*
 * Group commit for the write operations. Every allocation waits for one
 * fsync (synchronous=FULL), so one transaction per call caps a host at the
 * disk's commit rate, and the queue behind it sets the latency. Here the
 * calls that arrive while a commit is on its way to disk join one new
 * transaction, each inside its own savepoint; the last of them commits
 * for all, and each answers only after that commit: an acknowledged
 * change is still on disk before its answer, and a failed commit fails
 * every call of its batch, changing nothing.
 *
 * The batch lock also guards the writers' copy of the inventory
 * (snapshot.c), which carries the batch's uncommitted changes, so each
 * call decides on what the calls before it in the batch did.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "pcipassd.h"

#define BATCH_MAX	64	/* calls in one commit at most */
#define RESULTS		256	/* outcomes kept for late waiters */

struct batch {
	pthread_mutex_t		 lock;
	pthread_cond_t		 cv;
	sqlite3			*wdb;		/* the writers' connection */
	struct snapshots	*mem;		/* its writers' copy */
	sqlite3			*bdb;		/* the open batch's connection */
	int			 open_;		/* a transaction is open */
	int			 committing;
	int			 pending;	/* calls with writes in it */
	int			 arrivals;	/* calls in or on their way */
	uint64_t		 seq;		/* the open (or last) batch */
	uint64_t		 done_seq;	/* the last finished batch */
	int			 result[RESULTS];
};

/*
 * The batch of writers on connection wdb (NULL: each batch uses the
 * connection of the call that opens it, as tests do), keeping mem's
 * writers' copy current.
 */
struct batch *
batch_new(sqlite3 *wdb, struct snapshots *mem)
{
	struct batch	*b;

	if ((b = calloc(1, sizeof(*b))) == NULL)
		return NULL;
	pthread_mutex_init(&b->lock, NULL);
	pthread_cond_init(&b->cv, NULL);
	b->wdb = wdb;
	b->mem = mem;
	return b;
}

void
batch_free(struct batch *b)
{
	if (b == NULL)
		return;
	pthread_mutex_destroy(&b->lock);
	pthread_cond_destroy(&b->cv);
	free(b);
}

/*
 * Join the open transaction, opening one if none is. Returns its
 * connection with the batch lock held, or NULL (lock not held).
 */
sqlite3 *
batch_join(struct batch *b, sqlite3 *db)
{
	__atomic_add_fetch(&b->arrivals, 1, __ATOMIC_ACQ_REL);
	pthread_mutex_lock(&b->lock);
	while (b->committing)
		pthread_cond_wait(&b->cv, &b->lock);
	if (!b->open_) {
		b->bdb = b->wdb != NULL ? b->wdb : db;
		if (store_txn_begin(b->bdb) < 0) {
			__atomic_sub_fetch(&b->arrivals, 1, __ATOMIC_ACQ_REL);
			pthread_mutex_unlock(&b->lock);
			return NULL;
		}
		b->open_ = 1;
		b->pending = 0;
		b->seq++;
	}
	return b->bdb;
}

/* The writers' copy, current for the open batch; NULL on a read error. */
struct pp_inventory *
batch_inventory(struct batch *b)
{
	return cache_current(b->mem, b->bdb);
}

/* Commit the batch, lock held on entry and on return. */
static void
commit_batch(struct batch *b)
{
	uint64_t	my = b->seq, gen = 0;
	int		rc;

	b->committing = 1;
	pthread_mutex_unlock(&b->lock);
	rc = store_txn_end(b->bdb, b->pending > 0, &gen);
	pthread_mutex_lock(&b->lock);
	if (rc == 0 && b->pending > 0) {
		cache_committed_at(b->mem, gen);
		bind_journal_clear(b->bdb);	/* its binds are recorded */
	}
	else if (rc < 0)
		cache_invalidate(b->mem);
	b->result[my % RESULTS] = rc;
	b->done_seq = my;
	b->open_ = 0;
	b->committing = 0;
	pthread_cond_broadcast(&b->cv);
}

/*
 * Leave the batch. wrote: this call's changes are in it; wait: its
 * answer depends on the batch reaching disk (it wrote, or it read what
 * others wrote). Returns 0, or -1 when the batch's commit failed.
 * Releases the batch lock.
 */
int
batch_leave(struct batch *b, int wrote, int wait)
{
	uint64_t	my = b->seq;
	int		left, rc = 0;

	left = __atomic_sub_fetch(&b->arrivals, 1, __ATOMIC_ACQ_REL);
	b->pending += wrote;
	if (b->open_ && !b->committing && (left == 0 ||
	    b->pending >= BATCH_MAX)) {
		commit_batch(b);
		rc = b->result[my % RESULTS];
	} else if (b->open_ && (wrote || (wait && b->pending > 0))) {
		while (b->done_seq < my)
			pthread_cond_wait(&b->cv, &b->lock);
		rc = b->result[my % RESULTS];
	}
	pthread_mutex_unlock(&b->lock);
	return (wrote || wait) ? rc : 0;
}

/* A call's own savepoint inside the batch. */
int
batch_savepoint(struct batch *b, sqlite3 *db)
{
	(void)b;
	return store_savepoint(db);
}

/*
 * Keep (1) or undo (0) what the call wrote since its savepoint. Undone,
 * the writers' copy no longer matches the rows: it is reloaded.
 */
int
batch_savepoint_end(struct batch *b, sqlite3 *db, int keep)
{
	if (!keep)
		cache_invalidate(b->mem);
	return store_savepoint_end(db, keep);
}
