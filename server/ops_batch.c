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
#include <string.h>

#include "pcipassd.h"

#define BATCH_MAX	64	/* calls in one commit at most */
#define RESULTS		256	/* outcomes kept for late waiters */

static pthread_mutex_t	lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	cv = PTHREAD_COND_INITIALIZER;
static sqlite3		*wdb;		/* the writers' connection */
static sqlite3		*bdb;		/* the open batch's connection */
static int		 open_;		/* a transaction is open */
static int		 committing;
static int		 pending;	/* calls with writes in the batch */
static int		 arrivals;	/* calls in or on their way in */
static uint64_t		 seq;		/* the open (or last) batch */
static uint64_t		 done_seq;	/* the last finished batch */
static int		 result[RESULTS];

/* The daemon's own connection for writers; tests run without one. */
void
batch_set_db(sqlite3 *db)
{
	wdb = db;
}

/*
 * Join the open transaction, opening one if none is. Returns its
 * connection with the batch lock held, or NULL (lock not held).
 */
sqlite3 *
batch_join(sqlite3 *db)
{
	__atomic_add_fetch(&arrivals, 1, __ATOMIC_ACQ_REL);
	pthread_mutex_lock(&lock);
	while (committing)
		pthread_cond_wait(&cv, &lock);
	if (!open_) {
		bdb = wdb != NULL ? wdb : db;
		if (store_txn_begin(bdb) < 0) {
			__atomic_sub_fetch(&arrivals, 1, __ATOMIC_ACQ_REL);
			pthread_mutex_unlock(&lock);
			return NULL;
		}
		open_ = 1;
		pending = 0;
		seq++;
	}
	return bdb;
}

/* Commit the batch, lock held on entry and on return. */
static void
commit_batch(void)
{
	uint64_t	my = seq, gen = 0;
	sqlite3		*b = bdb;
	int		 rc;

	committing = 1;
	pthread_mutex_unlock(&lock);
	rc = store_txn_end(b, pending > 0, &gen);
	pthread_mutex_lock(&lock);
	if (rc == 0 && pending > 0)
		cache_committed_at(gen);
	else if (rc < 0)
		cache_invalidate();
	result[my % RESULTS] = rc;
	done_seq = my;
	open_ = 0;
	committing = 0;
	pthread_cond_broadcast(&cv);
}

/*
 * Leave the batch. wrote: this call's changes are in it; wait: its
 * answer depends on the batch reaching disk (it wrote, or it read what
 * others wrote). Returns 0, or -1 when the batch's commit failed.
 * Releases the batch lock.
 */
int
batch_leave(int wrote, int wait)
{
	uint64_t	my = seq;
	int		left, rc = 0;

	left = __atomic_sub_fetch(&arrivals, 1, __ATOMIC_ACQ_REL);
	pending += wrote;
	if (open_ && !committing && (left == 0 || pending >= BATCH_MAX)) {
		commit_batch();
		rc = result[my % RESULTS];
	} else if (open_ && (wrote || (wait && pending > 0))) {
		while (done_seq < my)
			pthread_cond_wait(&cv, &lock);
		rc = result[my % RESULTS];
	}
	pthread_mutex_unlock(&lock);
	return (wrote || wait) ? rc : 0;
}

/* A call's own savepoint inside the batch. */
int
batch_savepoint(sqlite3 *db)
{
	return store_savepoint(db);
}

/*
 * Keep (1) or undo (0) what the call wrote since its savepoint. Undone,
 * the writers' copy no longer matches the rows: it is reloaded.
 */
int
batch_savepoint_end(sqlite3 *db, int keep)
{
	if (!keep)
		cache_invalidate();
	return store_savepoint_end(db, keep);
}
