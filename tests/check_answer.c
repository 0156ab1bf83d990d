/*
 * check_answer.c: the shared listings (server/answer.c), kept as LZ4
 * blocks, give back byte for byte what the encoder writes, across block
 * boundaries, from a real scan in a real sqlite file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rpc.h"
#include "harness.h"

struct env {
	char			 db_path[600];
	sqlite3			*db;
	struct snapshots	*mem;
	struct answers		*as;
};

static void
nothing(const char *msg, void *arg)
{
	(void)arg;
	ck_abort_msg("filter: %s", msg);
}

/* The store of a fixture's scan, every device offered. */
static void
env_open(struct env *e, const char *fixture)
{
	struct pp_config	 conf = { 0 };
	struct pp_inventory	 inv;
	struct pp_filter	*f;
	struct sync_counts	 c;
	char			 path[600];
	const char		*dir = scratch_dir();

	memset(e, 0, sizeof(*e));
	snprintf(path, sizeof(path), "%s/pci.conf", dir);
	write_file(path, ":filter: '*:*'\n");
	ck_assert_ptr_nonnull(f = filter_load(path, nothing, NULL));
	conf.sysfs_root = tree_fixture(fixture);
	ck_assert_int_eq(inventory_scan(&conf, f, &inv), 0);
	snprintf(e->db_path, sizeof(e->db_path), "%s/pcipass.db", dir);
	ck_assert_ptr_nonnull(e->db = store_open(e->db_path, 1));
	ck_assert_int_eq(store_sync(e->db, &inv, &c), 0);
	inventory_free(&inv);
	filter_free(f);
	ck_assert_ptr_nonnull(e->mem = snapshots_new());
	ck_assert_ptr_nonnull(e->as = answers_new());
}

static void
env_close(struct env *e)
{
	answers_free(e->as);
	snapshots_free(e->mem);
	store_close(e->db);
}

static int
to_file(void *fp, const char *buf, size_t n)
{
	return fwrite(buf, 1, n, fp) == n ? 0 : -1;
}

/* The answer's bytes as answer_write gives them. */
static char *
given(const struct answer *a, size_t *len)
{
	char	*buf;
	FILE	*fp;

	ck_assert_ptr_nonnull(fp = open_memstream(&buf, len));
	ck_assert_int_eq(answer_write(a, to_file, fp), 0);
	ck_assert_int_eq(fclose(fp), 0);
	return buf;
}

/* pci.list's value as the encoder writes it from the same snapshot. */
static char *
encoded(struct env *e, size_t *len)
{
	struct snapshot	*sn;
	char		*buf;
	FILE		*fp;

	ck_assert_ptr_nonnull(sn = snapshot_get(e->mem, e->db, 0));
	ck_assert_ptr_nonnull(fp = open_memstream(&buf, len));
	rv_ok_begin(fp);
	rv_devices(fp, snapshot_inv(sn), NULL, 0, -1);
	rv_ok_end(fp);
	ck_assert_int_eq(fclose(fp), 0);
	snapshot_put(sn);
	return buf;
}

START_TEST(listing_is_the_encoding)
{
	struct answer	*a;
	struct env	 e;
	char		*got, *want;
	size_t		 ngot, nwant, i;

	/* Every fixture: from a few blocks of 16 KB to 20 and more. */
	for (i = 0; i < nfixtures; i++) {
		env_open(&e, fixture_names[i]);
		a = answer_get(e.as, e.mem, e.db, ANSWER_LIST, 0);
		ck_assert_ptr_nonnull(a);
		got = given(a, &ngot);
		want = encoded(&e, &nwant);
		ck_assert_msg(nwant > 16 * 1024, "%s: a %zu-byte listing "
		    "tests no block boundary", fixture_names[i], nwant);
		ck_assert_uint_eq(answer_len(a), nwant);
		ck_assert_uint_eq(ngot, nwant);
		ck_assert_msg(memcmp(got, want, nwant) == 0,
		    "%s: the shared listing differs from its encoding",
		    fixture_names[i]);
		/* The same answer is shared, not built again. */
		ck_assert_ptr_eq(answer_current(e.as, ANSWER_LIST), a);
		answer_put(a);
		answer_put(a);
		free(got);
		free(want);
		env_close(&e);
	}
}
END_TEST

struct counted {
	size_t	calls;
	size_t	bytes;
};

/* A client that goes away after its first block. */
static int
gone_after_one(void *arg, const char *buf, size_t n)
{
	struct counted	*c = arg;

	(void)buf;
	c->calls++;
	c->bytes += n;
	return c->calls == 1 ? 0 : -1;
}

START_TEST(client_gone_stops_the_answer)
{
	struct counted	 c = { 0 };
	struct answer	*a;
	struct env	 e;

	env_open(&e, "asrockrack-e3c256d4u-2l2t-x710-sriov.txt");
	ck_assert_ptr_nonnull(a = answer_get(e.as, e.mem, e.db,
	    ANSWER_INFO, 0));
	ck_assert_uint_gt(answer_len(a), 2 * 16 * 1024);
	ck_assert_int_eq(answer_write(a, gone_after_one, &c), -1);
	ck_assert_uint_eq(c.calls, 2);
	ck_assert_uint_eq(c.bytes, 2 * 16 * 1024);
	answer_put(a);
	env_close(&e);
}
END_TEST

Suite *
answer_suite(void)
{
	Suite	*s = suite_create("answer");
	TCase	*tc = tcase_create("core");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, listing_is_the_encoding);
	tcase_add_test(tc, client_gone_stops_the_answer);
	suite_add_tcase(s, tc);
	return s;
}
