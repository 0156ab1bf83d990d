/*
 * The sqlite store: open and migrate, sync the inventory with a scan,
 * load it back for the matcher. Allocation writes are in store_alloc.c.
 *
 * Every change of state is one BEGIN IMMEDIATE transaction on a database
 * in WAL mode with synchronous=FULL, so a commit is on disk before the
 * caller acknowledges anything.
 */
#include <sys/file.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pcipassd.h"

static const char schema_sql[] =
#include "schema.inc"
;

#define SCHEMA_VERSION	5

static int
exec(sqlite3 *db, const char *sql)
{
	char	*err = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
		log_warnx("store: %s: %s", sql[0] == '\n' ? "schema" : sql,
		    err ? err : sqlite3_errmsg(db));
		sqlite3_free(err);
		return -1;
	}
	return 0;
}

static int
user_version(sqlite3 *db)
{
	sqlite3_stmt	*st;
	int		 v = -1;

	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) !=
	    SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

/*
 * Bring a database of any older version to SCHEMA_VERSION; one with no
 * schema is made only when no ledger mark says one was here.
 */
static int
migrate(sqlite3 *db, const char *path, int marked)
{
	int	v;

	if (exec(db, "BEGIN IMMEDIATE") < 0)
		return -1;
	if ((v = user_version(db)) < 0)
		goto fail;
	if (v == 0 && marked) {
		log_warnx("store: %s: the ledger is gone: the database has no "
		    "schema, and its ledger mark says one was kept here. "
		    "Restore it from a backup; to start an empty ledger on "
		    "purpose, remove the mark (.NAME.ledger beside it)", path);
		goto fail;
	}
	if (v > SCHEMA_VERSION) {
		log_warnx("store: %s: schema version %d is newer than this "
		    "pcipassd's %d", path, v, SCHEMA_VERSION);
		goto fail;
	}
	if (v == 0 && (exec(db, schema_sql) < 0 ||
	    exec(db, "PRAGMA user_version = 5") < 0))
		goto fail;
	/* 1 -> 2: the vGPU facts of a VF; the next scan fills them in. */
	if (v == 1 && (exec(db, "ALTER TABLE device ADD COLUMN mdev_mode "
	    "TEXT NOT NULL DEFAULT ''") < 0 || exec(db, "ALTER TABLE device "
	    "ADD COLUMN profiles TEXT NOT NULL DEFAULT ''") < 0 ||
	    exec(db, "PRAGMA user_version = 2") < 0))
		goto fail;
	/* 2 -> 3: when each holding was taken and when a device was last
	 * freed (reconcile; older ones 0), the vGPU profiles a VF can make
	 * now, a holding's PROFILE. */
	if (v >= 1 && v < 3 && (exec(db, "ALTER TABLE device ADD COLUMN "
	    "taken INTEGER NOT NULL DEFAULT 0") < 0 ||
	    exec(db, "ALTER TABLE device ADD COLUMN creatable TEXT NOT NULL "
	    "DEFAULT ''") < 0 ||
	    exec(db, "ALTER TABLE device ADD COLUMN profile TEXT NOT NULL "
	    "DEFAULT ''") < 0 ||
	    exec(db, "ALTER TABLE device ADD COLUMN freed INTEGER NOT NULL "
	    "DEFAULT 0") < 0 ||
	    exec(db, "PRAGMA user_version = 3") < 0))
		goto fail;
	/* 3 -> 4: the vGPU a VF runs now (the next scan reads it), and a
	 * removal the kernel refused. */
	if (v >= 1 && v < 4 && (exec(db, "ALTER TABLE device ADD COLUMN "
	    "vgpu TEXT NOT NULL DEFAULT ''") < 0 ||
	    exec(db, "ALTER TABLE device ADD COLUMN stuck TEXT NOT NULL "
	    "DEFAULT ''") < 0 ||
	    exec(db, "PRAGMA user_version = 4") < 0))
		goto fail;
	/* 4 -> 5: a bridge's secondary and subordinate bus (the next scan
	 * reads them). */
	if (v >= 1 && v < 5 && (exec(db, "ALTER TABLE device ADD COLUMN "
	    "secondary INTEGER NOT NULL DEFAULT -1") < 0 ||
	    exec(db, "ALTER TABLE device ADD COLUMN subordinate INTEGER NOT "
	    "NULL DEFAULT -1") < 0 ||
	    exec(db, "PRAGMA user_version = 5") < 0))
		goto fail;
	if (exec(db, "COMMIT") < 0)
		goto fail;
	if (v == 0)
		log_info("store: %s: created schema version %d", path,
		    SCHEMA_VERSION);
	else if (v < SCHEMA_VERSION)
		log_info("store: %s: schema version %d migrated to %d", path, v,
		    SCHEMA_VERSION);
	return 0;
fail:
	exec(db, "ROLLBACK");
	return -1;
}

/*
 * Open the database; with create, also make or migrate the schema (the
 * daemon does this once at start, worker threads do not).
 */
sqlite3 *
store_open(const char *path, int create)
{
	sqlite3	*db;
	int	 marked = 0;

	/* Only the start makes a database; worker connections never do. */
	if (create && store_mark_check(path, &marked) < 0)
		return NULL;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE |
	    (create ? SQLITE_OPEN_CREATE : 0) | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK) {
		log_warnx("store: %s: %s", path, db ? sqlite3_errmsg(db) :
		    "out of memory");
		sqlite3_close(db);
		return NULL;
	}
	sqlite3_busy_timeout(db, 5000);
	store_wal_watch(db);
	/*
	 * A page cache of 256 KB, not sqlite's 2 MB: each busy thread has a
	 * connection, and the whole device table (724 KB at 4096 devices)
	 * read once for a snapshot would stay in each. Reads then come from
	 * the kernel's page cache; bench/ saw no change in throughput.
	 */
	if ((create && exec(db, "PRAGMA journal_mode = WAL") < 0) ||
	    exec(db, "PRAGMA synchronous = FULL") < 0 ||
	    exec(db, "PRAGMA cache_size = -256") < 0 ||
	    (create && migrate(db, path, marked) < 0) ||
	    (!create && user_version(db) != SCHEMA_VERSION) ||
	    (create && store_mark_write(path) < 0)) {
		sqlite3_close(db);
		return NULL;
	}
	if (create)
		store_mark_opened(path);
	return db;
}

/*
 * One daemon per database: each trusts its own copy of the inventory, so
 * two would split IOMMU groups between their VMs. An exclusive flock on
 * DB.lock beside the database, taken before anything opens the database
 * (a second daemon must not migrate it under the first) and released by
 * the kernel when the process dies; not on the database file itself,
 * whose descriptors sqlite's POSIX locks must not see closed. The host
 * tool does not take it. Returns the descriptor to keep open, or -1,
 * logged.
 */
int
store_lock(const char *path)
{
	char	lock[PATH_MAX];
	int	fd;

	snprintf(lock, sizeof(lock), "%s.lock", path);
	/* A first start without systemd's StateDirectory makes it. */
	if (store_make_dir(lock) < 0 ||
	    (fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0) {
		log_warn("store: %s", lock);
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK)
			log_warnx("store: %s: another pcipassd is running on "
			    "this database; one daemon per database", path);
		else
			log_warn("store: %s: flock", lock);
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Prepared statements kept per connection: parsing SQL cost more than
 * running it on the allocation path. The key is the SQL text's address,
 * so callers pass string literals. A connection is used by one thread at
 * a time (lent to one call at a time by service.c, and the writers' one
 * under the batch lock), so a statement handed out is not shared; the
 * table itself is global because connections move between threads.
 */
#define STMT_CACHE	32

struct stmt_cache {
	sqlite3			*db;
	size_t			 n;
	struct {
		const char	*sql;
		sqlite3_stmt	*st;
	}			 s[STMT_CACHE];
	struct stmt_cache	*next;
};

static pthread_mutex_t	 stmt_mu = PTHREAD_MUTEX_INITIALIZER;
static struct stmt_cache *stmt_caches;

static struct stmt_cache *
stmt_cache_of(sqlite3 *db, int create)
{
	struct stmt_cache	*c;

	for (c = stmt_caches; c != NULL; c = c->next)
		if (c->db == db)
			return c;
	if (!create || (c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->db = db;
	c->next = stmt_caches;
	stmt_caches = c;
	return c;
}

sqlite3_stmt *
store_stmt(sqlite3 *db, const char *sql)
{
	struct stmt_cache	*c;
	sqlite3_stmt		*st = NULL;
	size_t			 i;

	pthread_mutex_lock(&stmt_mu);
	if ((c = stmt_cache_of(db, 1)) != NULL)
		for (i = 0; i < c->n; i++)
			if (c->s[i].sql == sql) {
				st = c->s[i].st;
				break;
			}
	pthread_mutex_unlock(&stmt_mu);
	if (st != NULL) {
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		return st;
	}
	if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st,
	    NULL) != SQLITE_OK)
		return NULL;
	pthread_mutex_lock(&stmt_mu);
	if (c != NULL && c->n < STMT_CACHE) {
		c->s[c->n].sql = sql;
		c->s[c->n++].st = st;
	}
	pthread_mutex_unlock(&stmt_mu);
	return st;
}

/* A statement from store_stmt() is done with: reset or finalize it. */
void
store_stmt_done(sqlite3_stmt *st)
{
	struct stmt_cache	*c;
	size_t			 i;
	int			 kept = 0;

	pthread_mutex_lock(&stmt_mu);
	if ((c = stmt_cache_of(sqlite3_db_handle(st), 0)) != NULL)
		for (i = 0; i < c->n && !kept; i++)
			kept = c->s[i].st == st;
	pthread_mutex_unlock(&stmt_mu);
	if (kept)
		sqlite3_reset(st);
	else
		sqlite3_finalize(st);
}

void
store_close(sqlite3 *db)
{
	struct stmt_cache	**cp, *c;
	size_t			 i;

	if (db == NULL)
		return;
	pthread_mutex_lock(&stmt_mu);
	for (cp = &stmt_caches; (c = *cp) != NULL; cp = &c->next)
		if (c->db == db) {
			*cp = c->next;
			for (i = 0; i < c->n; i++)
				sqlite3_finalize(c->s[i].st);
			free(c);
			break;
		}
	pthread_mutex_unlock(&stmt_mu);
	sqlite3_close(db);
}

/*
 * Writers in this process queue for a write token before BEGIN IMMEDIATE:
 * sqlite's own busy handler sleeps 1 to 100 ms between retries, which
 * under load turns into tails of a second; the token is handed over at
 * once. It is not owned by a thread, so that a batch of allocations
 * opened by one thread can be committed by another (ops_batch.c).
 * busy_timeout still covers writers in other processes.
 */
static pthread_mutex_t	token_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	token_cv = PTHREAD_COND_INITIALIZER;
static int		token_taken;
static __thread int	write_held;
static uint64_t		generation = 1;	/* commits by this process */

/*
 * Bumped by every commit of this process, with the write token held: a
 * copy of the inventory taken at generation g is current while it is
 * still g.
 */
uint64_t
store_generation(void)
{
	return __atomic_load_n(&generation, __ATOMIC_ACQUIRE);
}

static void
token_take(void)
{
	pthread_mutex_lock(&token_mu);
	while (token_taken)
		pthread_cond_wait(&token_cv, &token_mu);
	token_taken = 1;
	pthread_mutex_unlock(&token_mu);
}

static void
token_give(void)
{
	pthread_mutex_lock(&token_mu);
	token_taken = 0;
	pthread_cond_signal(&token_cv);
	pthread_mutex_unlock(&token_mu);
}

/* A write transaction that any thread may end with store_txn_end(). */
int
store_txn_begin(sqlite3 *db)
{
	if (store_mark_same() < 0)
		return -1;
	token_take();
	if (store_wal_ok(db) == 0 && exec(db, "BEGIN IMMEDIATE") == 0)
		return 0;
	token_give();
	return -1;
}

/*
 * Commit (commit != 0) or roll back; gives the token back. On a commit,
 * *gen is the generation it made. Returns 0, or -1 when the commit
 * failed and was rolled back.
 */
int
store_txn_end(sqlite3 *db, int commit, uint64_t *gen)
{
	int	rc = 0;

	if (commit && exec(db, "COMMIT") < 0)
		rc = -1;
	if ((!commit || rc < 0) && !sqlite3_get_autocommit(db))
		exec(db, "ROLLBACK");
	if (commit) {
		uint64_t g = __atomic_add_fetch(&generation, 1,
		    __ATOMIC_RELEASE);

		if (gen != NULL)
			*gen = g;
	}
	token_give();
	return rc;
}

int
store_begin(sqlite3 *db)
{
	if (store_txn_begin(db) < 0)
		return -1;
	write_held = 1;
	return 0;
}

int
store_commit(sqlite3 *db)
{
	if (!write_held)
		return -1;
	write_held = 0;
	return store_txn_end(db, 1, NULL);
}

void
store_rollback(sqlite3 *db)
{
	if (write_held) {
		write_held = 0;
		store_txn_end(db, 0, NULL);
	} else if (!sqlite3_get_autocommit(db))
		exec(db, "ROLLBACK");
}

static void
col_text(sqlite3_stmt *st, int i, char *buf, size_t len)
{
	const unsigned char	*s = sqlite3_column_text(st, i);
	size_t			 n = (size_t)sqlite3_column_bytes(st, i);

	if (s == NULL)
		n = 0;
	if (n >= len)
		n = len - 1;
	if (n > 0)
		memcpy(buf, s, n);
	buf[n] = '\0';
}

/* Column i, interned, cut as a buffer of len bytes would cut it. */
static const char *
col_intern(sqlite3_stmt *st, int i, size_t len)
{
	char	buf[PP_PROFILES_LEN];

	col_text(st, i, buf, len < sizeof(buf) ? len : sizeof(buf));
	return intern(buf);
}

#define DEVICE_COLS \
	"addr, vendor, device, class, subvendor, subdevice, header, numa, " \
	"iommu, sriov, sriov_num, sriov_total, physfn, boot_vga, driver, " \
	"ifname, vendor_name, device_name, class_name, offered, critical, " \
	"present, reason, vmid, nic, mac, ip, ip6, vlan_id, network, " \
	"req_index, mdev_mode, profiles, taken, creatable, profile, freed, " \
	"vgpu, stuck, secondary, subordinate"

/*
 * The extra of row st, made when it has one: a NIC flag or text in one
 * of its columns. -1 out of memory.
 */
static int
row_extra(sqlite3_stmt *st, struct pp_device *d)
{
	static const int	 text[] = { 25, 26, 27, 28, 29, 35, 38 };
	struct pp_extra		*x;
	size_t			 i;

	for (i = 0; i < sizeof(text) / sizeof(text[0]); i++)
		if (sqlite3_column_bytes(st, text[i]) > 0)
			break;
	if (i == sizeof(text) / sizeof(text[0]) &&
	    sqlite3_column_int(st, 24) == 0)
		return 0;
	if ((x = dev_extra_w(d)) == NULL)
		return -1;
	x->nic.nic = sqlite3_column_int(st, 24);
	col_text(st, 25, x->nic.mac, sizeof(x->nic.mac));
	col_text(st, 26, x->nic.ip, sizeof(x->nic.ip));
	col_text(st, 27, x->nic.ip6, sizeof(x->nic.ip6));
	col_text(st, 28, x->nic.vlan_id, sizeof(x->nic.vlan_id));
	col_text(st, 29, x->nic.network, sizeof(x->nic.network));
	col_text(st, 35, x->profile, sizeof(x->profile));
	col_text(st, 38, x->stuck, sizeof(x->stuck));
	return 0;
}

/* Row st into d, uninitialised; -1 out of memory (d then owns nothing). */
static int
row_device(sqlite3_stmt *st, struct pp_device *d)
{
	char	reason[PP_REASON_LEN];

	memset(d, 0, sizeof(*d));
	device_strings_init(d);
	d->addr = (pp_addr)sqlite3_column_int64(st, 0);
	d->vendor = (unsigned)sqlite3_column_int(st, 1);
	d->device = (unsigned)sqlite3_column_int(st, 2);
	d->class = (unsigned)sqlite3_column_int(st, 3);
	d->subvendor = (unsigned)sqlite3_column_int(st, 4);
	d->subdevice = (unsigned)sqlite3_column_int(st, 5);
	d->header = sqlite3_column_int(st, 6);
	d->numa = sqlite3_column_int(st, 7);
	d->iommu = sqlite3_column_int(st, 8);
	d->sriov = (enum pp_sriov)sqlite3_column_int(st, 9);
	d->sriov_num = sqlite3_column_int(st, 10);
	d->sriov_total = sqlite3_column_int(st, 11);
	d->physfn = (pp_addr)sqlite3_column_int64(st, 12);
	d->boot_vga = sqlite3_column_int(st, 13);
	d->driver = col_intern(st, 14, PP_DRIVER_LEN);
	col_text(st, 15, d->ifname, sizeof(d->ifname));
	d->vendor_name = col_intern(st, 16, PP_VENDOR_NAME_LEN);
	d->device_name = col_intern(st, 17, PP_DEVICE_NAME_LEN);
	d->class_name = col_intern(st, 18, PP_CLASS_NAME_LEN);
	d->offered = sqlite3_column_int(st, 19);
	d->critical = col_intern(st, 20, PP_CRITICAL_LEN);
	d->present = sqlite3_column_int(st, 21);
	d->vmid = sqlite3_column_int(st, 23);
	d->req_index = sqlite3_column_int(st, 30);
	col_text(st, 31, d->mdev_mode, sizeof(d->mdev_mode));
	d->profiles = col_intern(st, 32, PP_PROFILES_LEN);
	d->taken = sqlite3_column_int64(st, 33);
	d->creatable = col_intern(st, 34, PP_PROFILES_LEN);
	d->freed = sqlite3_column_int64(st, 36);
	d->vgpu = col_intern(st, 37, PP_VGPU_LEN);
	d->secondary = sqlite3_column_int(st, 39);
	d->subordinate = sqlite3_column_int(st, 40);
	col_text(st, 22, reason, sizeof(reason));
	if (dev_set_reason(d, reason) < 0)
		return -1;
	if (row_extra(st, d) < 0) {
		device_clear(d);
		return -1;
	}
	return 0;
}

/* A load stopped by want of memory, not by sqlite. */
#define LOAD_NOMEM	(-2)

static int
load_devices(sqlite3 *db, struct pp_inventory *inv)
{
	sqlite3_stmt		*st;
	struct pp_device	*nv;
	size_t			 cap = 0;
	int			 rc;

	if (sqlite3_prepare_v2(db, "SELECT " DEVICE_COLS " FROM device "
	    "ORDER BY addr", -1, &st, NULL) != SQLITE_OK)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (inv->ndev == cap) {
			cap = cap ? cap * 2 : 64;
			if ((nv = reallocarray(inv->dev, cap, sizeof(*nv))) ==
			    NULL)
				break;
			inv->dev = nv;
		}
		if (row_device(st, &inv->dev[inv->ndev]) < 0)
			break;
		inv->ndev++;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : rc == SQLITE_ROW ? LOAD_NOMEM : -1;
}

static int
load_members(sqlite3 *db, struct pp_inventory *inv)
{
	sqlite3_stmt		*st;
	struct pp_member	*nv;
	size_t			 cap = 0;
	int			 rc;

	if (sqlite3_prepare_v2(db, "SELECT grp, addr FROM iommu_member "
	    "ORDER BY grp, addr", -1, &st, NULL) != SQLITE_OK)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (inv->nmember == cap) {
			cap = cap ? cap * 2 : 64;
			if ((nv = reallocarray(inv->member, cap,
			    sizeof(*nv))) == NULL)
				break;
			inv->member = nv;
		}
		inv->member[inv->nmember].group = sqlite3_column_int(st, 0);
		inv->member[inv->nmember].addr =
		    (pp_addr)sqlite3_column_int64(st, 1);
		inv->nmember++;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : rc == SQLITE_ROW ? LOAD_NOMEM : -1;
}

/* The whole inventory as stored; free with inventory_free(). */
/* A consistent read of the whole inventory, in its own read transaction. */
int
store_read(sqlite3 *db, struct pp_inventory *inv)
{
	int	rc;

	if (exec(db, "BEGIN") < 0)
		return -1;
	rc = store_load(db, inv);
	exec(db, "ROLLBACK");
	return rc;
}

/* A call's own savepoint inside an open write transaction. */
int
store_savepoint(sqlite3 *db)
{
	return exec(db, "SAVEPOINT op");
}

/* Keep (1) or undo (0) what was written since the savepoint. */
int
store_savepoint_end(sqlite3 *db, int keep)
{
	if (!keep && exec(db, "ROLLBACK TO op") < 0)
		return -1;
	return exec(db, "RELEASE op");
}

int
store_load(sqlite3 *db, struct pp_inventory *inv)
{
	int	rc;

	memset(inv, 0, sizeof(*inv));
	if ((rc = load_devices(db, inv)) < 0 ||
	    (rc = load_members(db, inv)) < 0) {
		log_warnx("store: load: %s", rc == LOAD_NOMEM ?
		    "out of memory" : sqlite3_errmsg(db));
		inventory_free(inv);
		return -1;
	}
	return 0;
}
