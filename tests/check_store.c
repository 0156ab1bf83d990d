/*
 * check_store.c: a real sqlite file kept in line with real scans
 * (server/store.c, server/store_sync.c), and the core operations on it
 * (server/ops.c).
 */
#include <sys/stat.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pcipassd.h"
#include "harness.h"

static const char two_gpus[] =
    "01:00.0 3D controller [0302]: NVIDIA Corporation GV100GL [10de:1db4]\n"
    "\tSubsystem: NVIDIA Corporation Device [10de:1214]\n"
    "\tKernel driver in use: vfio-pci\n"
    "\tIOMMU group: 1\n"
    "02:00.0 3D controller [0302]: NVIDIA Corporation GV100GL [10de:1db4]\n"
    "\tSubsystem: NVIDIA Corporation Device [10de:1214]\n"
    "\tKernel driver in use: vfio-pci\n"
    "\tIOMMU group: 2\n";

struct env {
	const char		*root;
	char			 db_path[600];
	sqlite3			*db;
	struct pp_filter	*filter;
	struct pp_config	 conf;
	struct snapshots	*mem;
	struct batch		*batch;
	struct op_ctx		 x;
};

/* The core's context for e: its connection, no flags, no sysfs writes. */
static const struct op_ctx *
ledger(struct env *e)
{
	e->x.db = e->db;
	e->x.flags = 0;
	e->x.root = NULL;
	e->x.mem = e->mem;
	e->x.batch = e->batch;
	return &e->x;
}

static void
nothing(const char *msg, void *arg)
{
	(void)arg;
	ck_abort_msg("filter: %s", msg);
}

static void
env_open(struct env *e, const char *dump)
{
	char	conf[600];
	const char *dir = scratch_dir();

	memset(e, 0, sizeof(*e));
	e->root = tree_text(dump);
	snprintf(e->db_path, sizeof(e->db_path), "%s/pcipass.db", dir);
	snprintf(conf, sizeof(conf), "%s/pci.conf", dir);
	write_file(conf, ":filter: '*:*'\n");
	e->filter = filter_load(conf, nothing, NULL);
	ck_assert_ptr_nonnull(e->filter);
	e->conf.sysfs_root = e->root;
	e->db = store_open(e->db_path, 1);
	ck_assert_ptr_nonnull(e->db);
	ck_assert_ptr_nonnull(e->mem = snapshots_new());
	ck_assert_ptr_nonnull(e->batch = batch_new(NULL, e->mem));
}

static void
env_close(struct env *e)
{
	batch_free(e->batch);
	snapshots_free(e->mem);
	store_close(e->db);
	filter_free(e->filter);
}

static struct sync_counts
rescan(struct env *e)
{
	struct pp_inventory	inv;
	struct sync_counts	c;

	ck_assert_int_eq(inventory_scan(&e->conf, e->filter, &inv), 0);
	ck_assert_int_eq(store_sync(e->db, &inv, &c), 0);
	inventory_free(&inv);
	return c;
}

static void
sh(const char *fmt, const char *root)
{
	char	cmd[2048];

	snprintf(cmd, sizeof(cmd), fmt, root, root, root);
	ck_assert_msg(system(cmd) == 0, "%s", cmd);
}

/*
 * The stored row of addr, or fails. What it would own (REASON, the
 * extra) is kept here, in the last row's storage: it owns nothing.
 */
static struct pp_device
row(struct env *e, const char *addr)
{
	static char		 reason[PP_REASON_LEN];
	static struct pp_extra	 extra;
	struct pp_inventory	 inv;
	struct pp_device	*d, copy;
	pp_addr			 a;

	ck_assert_int_eq(addr_parse(addr, ADDR_SYSFS, &a), 0);
	ck_assert_int_eq(store_load(e->db, &inv), 0);
	d = inventory_find(&inv, a);
	ck_assert_msg(d != NULL, "%s not stored", addr);
	copy = *d;
	snprintf(reason, sizeof(reason), "%s", dev_reason(d));
	extra = *dev_extra(d);
	copy.reason = reason;
	copy.extra = &extra;
	inventory_free(&inv);
	return copy;
}

static size_t
rows(struct env *e)
{
	struct pp_inventory	inv;
	size_t			n;

	ck_assert_int_eq(store_load(e->db, &inv), 0);
	n = inv.ndev;
	inventory_free(&inv);
	return n;
}

static struct pp_request
gpu(void)
{
	struct pp_request	r;

	memset(&r, 0, sizeof(r));
	r.vendor = 0x10de;
	r.device = r.class = r.numa = -1;
	return r;
}

START_TEST(schema_created_once)
{
	struct env	 e;
	sqlite3		*again;
	sqlite3_stmt	*st;

	env_open(&e, two_gpus);
	ck_assert_int_eq(sqlite3_prepare_v2(e.db, "PRAGMA user_version", -1,
	    &st, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	ck_assert_int_eq(sqlite3_column_int(st, 0), 5);
	sqlite3_finalize(st);
	ck_assert_int_eq(sqlite3_prepare_v2(e.db, "PRAGMA journal_mode", -1,
	    &st, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	ck_assert_str_eq((const char *)sqlite3_column_text(st, 0), "wal");
	sqlite3_finalize(st);
	again = store_open(e.db_path, 1);
	ck_assert_ptr_nonnull(again);
	store_close(again);
	/* A worker thread's connection: durable commits, WAL. */
	again = store_open(e.db_path, 0);
	ck_assert_ptr_nonnull(again);
	ck_assert_int_eq(sqlite3_prepare_v2(again, "PRAGMA synchronous", -1,
	    &st, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	ck_assert_int_eq(sqlite3_column_int(st, 0), 2);	/* FULL */
	sqlite3_finalize(st);
	ck_assert_int_eq(sqlite3_prepare_v2(again, "PRAGMA journal_mode", -1,
	    &st, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	ck_assert_str_eq((const char *)sqlite3_column_text(st, 0), "wal");
	sqlite3_finalize(st);
	store_close(again);
	/* A newer schema than ours is refused, not clobbered. */
	ck_assert_int_eq(sqlite3_exec(e.db, "PRAGMA user_version = 9", NULL,
	    NULL, NULL), SQLITE_OK);
	ck_assert_ptr_null(store_open(e.db_path, 1));
	env_close(&e);
}
END_TEST

/*
 * An older database, made by undoing the later migrations with sql, is
 * migrated in place to version 5 on open: VM 7's holding is kept and
 * the row matches kept (an SQL condition on the columns).
 */
static void
migrates(const char *sql, const char *kept)
{
	struct env	 e;
	sqlite3		*db;
	sqlite3_stmt	*st;
	char		*q;

	env_open(&e, two_gpus);
	rescan(&e);
	ck_assert_int_eq(sqlite3_exec(e.db, sql, NULL, NULL, NULL), SQLITE_OK);
	ck_assert_ptr_nonnull(db = store_open(e.db_path, 1));
	ck_assert_int_gt(asprintf(&q, "SELECT (SELECT user_version FROM "
	    "pragma_user_version), count(*), sum(%s) FROM device WHERE "
	    "vmid = 7", kept), 0);
	ck_assert_int_eq(sqlite3_prepare_v2(db, q, -1, &st, NULL), SQLITE_OK);
	free(q);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	ck_assert_int_eq(sqlite3_column_int(st, 0), 5);
	ck_assert_int_eq(sqlite3_column_int(st, 1), 1);
	ck_assert_int_eq(sqlite3_column_int(st, 2), 1);
	sqlite3_finalize(st);
	store_close(db);
	env_close(&e);
}

#define HOLD7	"UPDATE device SET vmid = 7, profiles = 'kept', profile = " \
		"'nvidia-558' WHERE addr = (SELECT min(addr) FROM device);"
#define DROP(c)	"ALTER TABLE device DROP COLUMN " c ";"

/* Version 1: before the vGPU columns. */
START_TEST(migrates_version_1)
{
	migrates("UPDATE device SET vmid = 7 WHERE addr = (SELECT min(addr) "
	    "FROM device);" DROP("mdev_mode") DROP("profiles") DROP("taken")
	    DROP("creatable") DROP("profile") DROP("freed") DROP("vgpu")
	    DROP("stuck") DROP("secondary") DROP("subordinate") "PRAGMA user_version = 1",
	    "mdev_mode = '' AND profiles = '' AND taken = 0");
}
END_TEST

/* Version 2: before holdings had a time (taken 0: reconcile counts them
 * as old). */
START_TEST(migrates_version_2)
{
	migrates(HOLD7 DROP("taken") DROP("creatable") DROP("profile")
	    DROP("freed") DROP("vgpu") DROP("stuck") DROP("secondary") DROP("subordinate") 
	    "PRAGMA user_version = 2",
	    "profiles = 'kept' AND taken = 0 AND creatable = '' AND "
	    "profile = ''");
}
END_TEST

/* Version 3: before a VF's running vGPU and a refused removal were kept;
 * the holding's PROFILE stays. */
START_TEST(migrates_version_3)
{
	migrates(HOLD7 DROP("vgpu") DROP("stuck") DROP("secondary") DROP("subordinate") 
	    "PRAGMA user_version = 3",
	    "profile = 'nvidia-558' AND vgpu = '' AND stuck = ''");
}
END_TEST

/* Version 4: before a bridge's buses were kept (-1 until the next scan). */
START_TEST(migrates_version_4)
{
	migrates(HOLD7 DROP("secondary") DROP("subordinate")
	    "PRAGMA user_version = 4",
	    "profile = 'nvidia-558' AND secondary = -1 AND subordinate = -1");
}
END_TEST

/*
 * The ledger mark (docs/RELIABILITY.md): a first start makes the state
 * directory, the database and .NAME.ledger beside it; once marked, a
 * missing, emptied or schema-less database is refused, never made anew;
 * a database from before the mark is taken and marked.
 */
START_TEST(ledger_mark)
{
	char		 dir[600], path[700], mark[800], cmd[2000];
	sqlite3		*db;
	struct stat	 st;
	int		 fd;

	snprintf(dir, sizeof(dir), "%s/state/pcipass", scratch_dir());
	snprintf(path, sizeof(path), "%s/pcipass.db", dir);
	store_mark_path(path, mark, sizeof(mark));
	snprintf(cmd, sizeof(cmd), "%s/.pcipass.db.ledger", dir);
	ck_assert_str_eq(mark, cmd);
	/* The daemon locks first: that makes the missing state directory
	 * (a start without systemd's StateDirectory; the .deb test found
	 * it failing). */
	ck_assert_int_ge(fd = store_lock(path), 0);
	close(fd);
	ck_assert_int_eq(stat(dir, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0700);
	ck_assert_ptr_nonnull(db = store_open(path, 1));
	store_close(db);
	ck_assert_int_eq(stat(mark, &st), 0);
	/* rm pcipass.db*: refused, and nothing made in its place. */
	snprintf(cmd, sizeof(cmd), "rm -f '%s'*", path);
	ck_assert_int_eq(system(cmd), 0);
	ck_assert_ptr_null(store_open(path, 1));
	ck_assert_int_ne(stat(path, &st), 0);
	/* Emptied to 0 bytes, or a database without the schema: refused. */
	write_file(path, "");
	ck_assert_ptr_null(store_open(path, 1));
	unlink(path);
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, "CREATE TABLE x (y)", NULL, NULL,
	    NULL), SQLITE_OK);
	sqlite3_close(db);
	ck_assert_ptr_null(store_open(path, 1));
	/* Removing the mark is the reset on purpose. */
	unlink(path);
	ck_assert_int_eq(unlink(mark), 0);
	ck_assert_ptr_nonnull(db = store_open(path, 1));
	store_close(db);
	/* A database from before the mark: taken, and marked. */
	ck_assert_int_eq(unlink(mark), 0);
	ck_assert_ptr_nonnull(db = store_open(path, 1));
	store_close(db);
	ck_assert_int_eq(stat(mark, &st), 0);
	/* A worker's connection never makes a database. */
	snprintf(cmd, sizeof(cmd), "%s/other.db", dir);
	ck_assert_ptr_null(store_open(cmd, 0));
	ck_assert_int_ne(stat(cmd, &st), 0);
}
END_TEST

START_TEST(rescan_adds_removes_changes)
{
	struct env		e;
	struct sync_counts	c;

	env_open(&e, two_gpus);
	c = rescan(&e);
	ck_assert_int_eq(c.added, 2);
	c = rescan(&e);
	ck_assert_int_eq(c.added + c.removed + c.changed, 0);
	/* A free device's driver changes: refreshed, not frozen. */
	sh("ln -sfn ../../drivers/nvidia %s/bus/pci/devices/0000:02:00.0/"
	    "driver && mkdir -p %s/bus/pci/drivers/nvidia", e.root);
	c = rescan(&e);
	ck_assert_int_eq(c.changed, 1);
	ck_assert_str_eq(row(&e, "0000:02:00.0").driver, "nvidia");
	/* A free device vanishes: removed. */
	sh("rm -rf %s/bus/pci/devices/0000:02:00.0", e.root);
	c = rescan(&e);
	ck_assert_int_eq(c.removed, 1);
	ck_assert_uint_eq(rows(&e), 1);
	env_close(&e);
}
END_TEST

/*
 * A rescan that finds nothing new writes nothing: the generation stays,
 * so the snapshot and the shared answers stay current. A change to a
 * group's listing alone is still written.
 */
START_TEST(unchanged_rescan_commits_nothing)
{
	struct env		e;
	struct sync_counts	c;
	struct pp_inventory	inv;
	uint64_t		gen;

	env_open(&e, two_gpus);
	c = rescan(&e);
	ck_assert_int_eq(c.added, 2);
	gen = store_generation();
	c = rescan(&e);
	ck_assert_int_eq(c.added + c.removed + c.changed + c.regrouped, 0);
	ck_assert_uint_eq(store_generation(), gen);
	/* 02:00.0 stays in group 2, but the group no longer lists it. */
	sh("rm %s/kernel/iommu_groups/2/devices/0000:02:00.0", e.root);
	c = rescan(&e);
	ck_assert_int_eq(c.added + c.removed + c.changed, 0);
	ck_assert_int_eq(c.regrouped, 1);
	ck_assert_uint_eq(store_generation(), gen + 1);
	ck_assert_int_eq(store_load(e.db, &inv), 0);
	ck_assert_uint_eq(inv.nmember, 1);
	ck_assert_int_eq(inv.member[0].group, 1);
	inventory_free(&inv);
	env_close(&e);
}
END_TEST

START_TEST(held_device_vanishes_and_returns)
{
	struct env		e;
	struct pp_request	r = gpu();
	struct pp_result	res;
	struct pp_device	d;
	struct sync_counts	c;
	struct snapshot		*sn;

	env_open(&e, two_gpus);
	rescan(&e);
	ck_assert_int_eq(op_allocate(ledger(&e), 42, &r, 1, &res), 0);
	ck_assert_uint_eq(res.inv.dev[res.idx[0]].addr, PP_ADDR(0, 1, 0, 0));
	result_free(&res);
	sh("mv %s/bus/pci/devices/0000:01:00.0 %s/saved", e.root);
	c = rescan(&e);
	ck_assert_int_eq(c.changed, 1);
	d = row(&e, "0000:01:00.0");
	ck_assert_int_eq(d.present, 0);
	ck_assert_int_eq(d.vmid, 42);
	ck_assert_str_eq(dev_reason(&d), "gone from sysfs");
	sn = snapshot_get(e.mem, e.db, 0);
	ck_assert_ptr_nonnull(sn);
	ck_assert_str_eq(snapshot_inv(sn)->dev[0].state, "missing");
	snapshot_put(sn);
	/* Back with the same ids: used again by the same VM. */
	sh("mv %s/saved %s/bus/pci/devices/0000:01:00.0", e.root);
	c = rescan(&e);
	ck_assert_int_eq(c.changed, 1);
	d = row(&e, "0000:01:00.0");
	ck_assert_int_eq(d.present, 1);
	ck_assert_int_eq(d.vmid, 42);
	ck_assert_str_eq(dev_reason(&d), "");
	env_close(&e);
}
END_TEST

START_TEST(different_card_in_held_slot_stays_missing)
{
	struct env		e;
	struct pp_request	r = gpu();
	struct pp_result	res;
	struct pp_device	d;

	env_open(&e, two_gpus);
	rescan(&e);
	ck_assert_int_eq(op_allocate(ledger(&e), 42, &r, 1, &res), 0);
	result_free(&res);
	sh("printf '0x2204\\n' > %s/bus/pci/devices/0000:01:00.0/device",
	    e.root);
	rescan(&e);
	d = row(&e, "0000:01:00.0");
	ck_assert_int_eq(d.present, 0);
	ck_assert_int_eq(d.vmid, 42);
	ck_assert_uint_eq(d.device, 0x1db4);
	ck_assert_str_eq(dev_reason(&d), "slot now holds 10de:2204 (subsystem "
	    "10de:1214), not the held 10de:1db4 (subsystem 10de:1214)");
	/* Stable: a second rescan changes nothing more. */
	ck_assert_int_eq(rescan(&e).changed, 0);
	/* Release: the row goes, and the next scan brings the new card. */
	ck_assert_int_eq(op_release(ledger(&e), 42, &res), 0);
	ck_assert_int_eq(res.count, 1);
	ck_assert_uint_eq(rows(&e), 1);
	ck_assert_int_eq(rescan(&e).added, 1);
	d = row(&e, "0000:01:00.0");
	ck_assert_uint_eq(d.device, 0x2204);
	ck_assert_int_eq(d.vmid, -1);
	env_close(&e);
}
END_TEST

START_TEST(retry_same_requests_same_devices)
{
	struct env		e;
	struct pp_request	r[2] = { gpu(), gpu() };
	struct pp_result	res;
	pp_addr			first[2];

	env_open(&e, two_gpus);
	rescan(&e);
	ck_assert_int_eq(op_allocate(ledger(&e), 3, r, 2, &res), 0);
	first[0] = res.inv.dev[res.idx[0]].addr;
	first[1] = res.inv.dev[res.idx[1]].addr;
	result_free(&res);
	ck_assert_int_eq(op_allocate(ledger(&e), 3, r, 2, &res), 0);
	ck_assert_uint_eq(res.inv.dev[res.idx[0]].addr, first[0]);
	ck_assert_uint_eq(res.inv.dev[res.idx[1]].addr, first[1]);
	result_free(&res);
	/* Different NIC fields: a different request list. */
	r[1].nic.nic = 1;
	ck_assert_int_eq(op_allocate(ledger(&e), 3, r, 2, &res), -1);
	ck_assert_int_eq(res.err, PP_ERR_ACTION);
	result_free(&res);
	env_close(&e);
}
END_TEST

START_TEST(failed_allocate_changes_nothing)
{
	struct env		e;
	struct pp_request	r[3] = { gpu(), gpu(), gpu() };
	struct pp_result	res;
	struct pp_inventory	inv;
	size_t			i;

	env_open(&e, two_gpus);
	rescan(&e);
	ck_assert_int_eq(op_allocate(ledger(&e), 3, r, 3, &res), -1);
	ck_assert_int_eq(res.err, PP_ERR_ALLOCATE);
	result_free(&res);
	ck_assert_int_eq(store_load(e.db, &inv), 0);
	for (i = 0; i < inv.ndev; i++)
		ck_assert_int_eq(inv.dev[i].vmid, -1);
	inventory_free(&inv);
	env_close(&e);
}
END_TEST

static void
teardown(void)
{
	cleanup_dirs();
}

Suite *
store_suite(void)
{
	Suite	*s = suite_create("store");
	TCase	*tc = tcase_create("sqlite");

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, schema_created_once);
	tcase_add_test(tc, migrates_version_1);
	tcase_add_test(tc, migrates_version_2);
	tcase_add_test(tc, migrates_version_3);
	tcase_add_test(tc, migrates_version_4);
	tcase_add_test(tc, ledger_mark);
	tcase_add_test(tc, rescan_adds_removes_changes);
	tcase_add_test(tc, unchanged_rescan_commits_nothing);
	tcase_add_test(tc, held_device_vanishes_and_returns);
	tcase_add_test(tc, different_card_in_held_slot_stays_missing);
	tcase_add_test(tc, retry_same_requests_same_devices);
	tcase_add_test(tc, failed_allocate_changes_nothing);
	suite_add_tcase(s, tc);
	return s;
}
