/*
 * The WAL's watch. sqlite's own checkpoints fail in silence: when the
 * database file cannot be written (chattr +i, a read-only remount, an I/O
 * error), every commit still lands in the -wal file beside it, which
 * then grows until the disk is full. So pcipassd runs the checkpoints
 * itself, as sqlite would (a PASSIVE one once the WAL holds 1000 pages,
 * from a WAL hook, which takes the place of sqlite's): a failed one is
 * logged once, and once the WAL is past WAL_MAX_BYTES with the last
 * checkpoint failed, every write is refused (store_wal_ok) until a
 * checkpoint succeeds again. A checkpoint that finds another one running
 * (SQLITE_BUSY) is neither a failure nor a success.
 */
#include <stdint.h>

#include "pcipassd.h"

#define WAL_CHECKPOINT_PAGES	1000
#define WAL_MAX_BYTES		(8LL * 1024 * 1024)

static int	failed;		/* the last checkpoint's error, 0 none */
static int	pages;		/* in the WAL after the last commit */
static int	page_size = 4096;
static int	refusing;	/* said so in the log */

static void
checkpointed(int rc, const char *db)
{
	if (rc == SQLITE_BUSY)		/* another one runs: says nothing */
		return;
	if (rc == SQLITE_OK) {
		if (__atomic_exchange_n(&failed, 0, __ATOMIC_ACQ_REL) != 0)
			log_info("store: %s: checkpoints succeed again; "
			    "writes are accepted", db);
		__atomic_store_n(&refusing, 0, __ATOMIC_RELEASE);
		return;
	}
	if (__atomic_exchange_n(&failed, rc, __ATOMIC_ACQ_REL) == 0)
		log_warnx("store: %s: checkpoint failed (%s): the database "
		    "file cannot be written, and the WAL beside it grows "
		    "(%d pages); writes are refused past %lld MB",
		    db, sqlite3_errstr(rc), __atomic_load_n(&pages,
		    __ATOMIC_ACQUIRE), WAL_MAX_BYTES >> 20);
}

static int
hook(void *arg, sqlite3 *db, const char *name, int n)
{
	(void)arg;
	__atomic_store_n(&pages, n, __ATOMIC_RELEASE);
	if (n >= WAL_CHECKPOINT_PAGES)
		checkpointed(sqlite3_wal_checkpoint_v2(db, name,
		    SQLITE_CHECKPOINT_PASSIVE, NULL, NULL),
		    sqlite3_db_filename(db, name));
	return SQLITE_OK;
}

/* Watch the commits of db (each connection of the daemon). */
void
store_wal_watch(sqlite3 *db)
{
	sqlite3_stmt	*st;

	if (sqlite3_prepare_v2(db, "PRAGMA page_size", -1, &st, NULL) ==
	    SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			__atomic_store_n(&page_size, sqlite3_column_int(st, 0),
			    __ATOMIC_RELEASE);
		sqlite3_finalize(st);
	}
	sqlite3_wal_hook(db, hook, NULL);
}

/*
 * Before a write transaction (the write token held): 0 to go on, -1
 * (logged once) when the WAL is too big to grow and cannot be
 * checkpointed; a checkpoint is tried first, so a file writable again
 * takes writes again.
 */
int
store_wal_ok(sqlite3 *db)
{
	int64_t	bytes = (int64_t)__atomic_load_n(&pages, __ATOMIC_ACQUIRE) *
	    __atomic_load_n(&page_size, __ATOMIC_ACQUIRE);

	if (__atomic_load_n(&failed, __ATOMIC_ACQUIRE) == 0 ||
	    bytes < WAL_MAX_BYTES)
		return 0;
	checkpointed(sqlite3_wal_checkpoint_v2(db, NULL,
	    SQLITE_CHECKPOINT_PASSIVE, NULL, NULL), sqlite3_db_filename(db,
	    "main"));
	if (__atomic_load_n(&failed, __ATOMIC_ACQUIRE) == 0)
		return 0;
	if (!__atomic_exchange_n(&refusing, 1, __ATOMIC_ACQ_REL))
		log_warnx("store: %s: the WAL holds %lld MB and cannot be "
		    "checkpointed into the database file: every write is "
		    "refused before it fills the disk; make the file writable "
		    "again (lsattr, mount options, disk errors)",
		    sqlite3_db_filename(db, "main"), (long long)(bytes >> 20));
	return -1;
}
