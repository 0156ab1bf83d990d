/*
 * check_reconcile.c: pci.reconcile on the real daemon over real HTTP
 * (API.md "Reconcile"): leaked, recent, missing (adopted or refused by
 * a rule), conflict; apply as one transaction; read-only users; bad
 * views refused with nothing changed.
 */
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "harness.h"

static const char tree[] =
    "00:01.0 PCI bridge [0604]: Intel Corporation Device [8086:1901]\n"
    "\tKernel driver in use: pcieport\n"
    "\tIOMMU group: 1\n"
    "01:00.0 3D controller [0302]: NVIDIA Corporation GV100GL [10de:1db4]\n"
    "\tKernel driver in use: vfio-pci\n"
    "\tIOMMU group: 2\n"
    "02:00.0 3D controller [0302]: NVIDIA Corporation GV100GL [10de:1db4]\n"
    "\tKernel driver in use: vfio-pci\n"
    "\tIOMMU group: 3\n"
    "03:00.0 VGA compatible controller [0300]: NVIDIA Corporation "
    "GA107M [10de:25e2]\n"
    "\tKernel driver in use: nouveau\n"
    "\tIOMMU group: 4\n"
    "03:00.1 Audio device [0403]: NVIDIA Corporation Device [10de:2291]\n"
    "\tKernel driver in use: snd_hda_intel\n"
    "\tIOMMU group: 4\n"
    "05:00.0 Non-Volatile memory controller [0108]: Samsung Electronics "
    "Co Ltd Device [144d:a808]\n"
    "\tKernel driver in use: nvme\n"
    "\tIOMMU group: 6\n";

#define FILTER	":filter: '10de:*'\n"
#define RO	"reader:read-secret"

static struct daemon	d;

static void
up(void)
{
	daemon_start(&d, tree_text(tree), FILTER, NULL);
}

static void
down(void)
{
	if (d.pid > 0)
		daemon_stop(&d);
	cleanup_dirs();
}

/*
 * The params after the session: "5=0000:01:00:0,0000:02:00:0;7=..." as
 * the holdings array, then as_of and apply.
 */
static char *
params(const char *view, long long as_of, int apply)
{
	char	*buf = NULL, *copy = strdup(view), *h, *a, *s1, *s2, *eq;
	size_t	 len = 0;
	FILE	*fp = open_memstream(&buf, &len);

	fputs("<param><value><array><data>", fp);
	for (h = strtok_r(copy, ";", &s1); h; h = strtok_r(NULL, ";", &s1)) {
		eq = strchr(h, '=');
		*eq = '\0';
		fprintf(fp, "<value><struct><member><name>VMID</name><value>"
		    "<int>%s</int></value></member><member><name>ADDRESS"
		    "</name><value><array><data>", h);
		for (a = strtok_r(eq + 1, ",", &s2); a;
		    a = strtok_r(NULL, ",", &s2))
			fprintf(fp, "<value><string>%s</string></value>", a);
		fputs("</data></array></value></member></struct></value>",
		    fp);
	}
	fprintf(fp, "</data></array></value></param><param><value><int>%lld"
	    "</int></value></param><param><value><boolean>%d</boolean>"
	    "</value></param>", as_of, apply);
	fclose(fp);
	free(copy);
	return buf;
}

/*
 * The answer as "CLASS VMID ADDRESS" lines, classes in API.md's order;
 * reasons appended to *why when why is not NULL.
 */
static char *
answer(xmlrpc_value *v, char **why)
{
	static const char	*cls[] = { "LEAKED", "RECENT", "MISSING",
				    "CONFLICT" };
	xmlrpc_env		 env;
	xmlrpc_value		*arr, *it;
	char			*buf = NULL, *wbuf = NULL;
	size_t			 len = 0, wlen = 0, k;
	FILE			*fp = open_memstream(&buf, &len);
	FILE			*wp = open_memstream(&wbuf, &wlen);
	int			 i, n;

	xmlrpc_env_init(&env);
	ck_assert_int_eq(xmlrpc_struct_size(&env, v), 4);
	for (k = 0; k < 4; k++) {
		xmlrpc_struct_find_value(&env, v, cls[k], &arr);
		ck_assert_msg(arr != NULL, "no %s", cls[k]);
		n = xmlrpc_array_size(&env, arr);
		for (i = 0; i < n; i++) {
			xmlrpc_array_read_item(&env, arr, (unsigned)i, &it);
			fprintf(fp, "%s %d %s\n", cls[k], field_int(it,
			    "VMID"), field_str(it, "ADDRESS"));
			fprintf(wp, "%s %s: %s\n", cls[k], field_str(it,
			    "ADDRESS"), field_str(it, "REASON"));
			xmlrpc_DECREF(it);
		}
		xmlrpc_DECREF(arr);
	}
	xmlrpc_env_clean(&env);
	fclose(fp);
	fclose(wp);
	if (why != NULL)
		*why = wbuf;
	else
		free(wbuf);
	return buf;
}

/* A reconcile that must succeed: its answer lines (and reasons). */
static char *
reconcile(const char *session, const char *view, long long as_of,
    int apply, char **why)
{
	xmlrpc_value	*v;
	const char	*msg = NULL;
	char		*p = params(view, as_of, apply), *s;
	int		 code;

	ck_assert_msg(rpc_ok(rpc_as(&d, session, "pci.reconcile", p), &v,
	    &code, &msg), "reconcile: %d %s", code, msg ? msg : "");
	free(p);
	s = answer(v, why);
	xmlrpc_DECREF(v);
	return s;
}

/* A reconcile that must fail: its code, message in *msg. */
static int
reconcile_fails(const char *session, const char *raw_params,
    const char **msg)
{
	xmlrpc_value	*v = NULL;
	int		 code = 0;

	if (rpc_ok(rpc_as(&d, session, "pci.reconcile", raw_params), &v,
	    &code, msg))
		ck_abort_msg("reconcile did not fail: %s", answer(v, NULL));
	return code;
}

static void
allocate(int vmid, const char *addr)
{
	char	p[600];
	int	code;

	snprintf(p, sizeof(p), "<param><value><int>%d</int></value></param>"
	    "<param><value><array><data><value><struct><member><name>ADDRESS"
	    "</name><value><string>%s</string></value></member></struct>"
	    "</value></data></array></value></param>", vmid, addr);
	ck_assert_msg(rpc_ok(rpc(&d, "pci.allocate", p), NULL, &code, NULL),
	    "allocate %s for VM %d: %d", addr, vmid, code);
}

static long long
later(void)
{
	return (long long)time(NULL) + 3600;
}

/* Held here, not in the view, taken before as_of: released with apply. */
START_TEST(leaked_released_only_with_apply)
{
	char	*before, *dry, *why, *done;

	allocate(5, "0000:01:00:0");
	before = list_summary(&d);
	dry = reconcile(SESSION, "", later(), 0, &why);
	ck_assert_str_eq(dry, "LEAKED 5 0000:01:00:0\n");
	ck_assert_msg(strstr(why, "not in the frontend's view") != NULL,
	    "%s", why);
	ck_assert_str_eq(list_summary(&d), before);
	/* apply answers exactly what the dry run did, and acts. */
	done = reconcile(SESSION, "", later(), 1, NULL);
	ck_assert_str_eq(done, dry);
	ck_assert_msg(strstr(list_summary(&d), "0000:01:00:0 -1 free\n") !=
	    NULL, "%s", list_summary(&d));
	/* Now both ledgers agree: nothing to report. */
	ck_assert_str_eq(reconcile(SESSION, "", later(), 1, NULL), "");
}
END_TEST

/* Taken at or after as_of (a deploy in flight): reported, never freed. */
START_TEST(recent_never_released)
{
	char	*before;

	allocate(5, "0000:01:00:0");
	before = list_summary(&d);
	ck_assert_str_eq(reconcile(SESSION, "", 0, 1, NULL),
	    "RECENT 5 0000:01:00:0\n");
	ck_assert_str_eq(list_summary(&d), before);
	ck_assert_str_eq(reconcile(SESSION, "", (long long)time(NULL) - 60, 1,
	    NULL), "RECENT 5 0000:01:00:0\n");
	ck_assert_str_eq(list_summary(&d), before);
}
END_TEST

/*
 * The view says VM 7 holds a device that is free here: taken with
 * apply; afterwards the deploy's address-only allocate re-asserts it.
 */
START_TEST(missing_adopted)
{
	char	*before, *s;

	before = list_summary(&d);
	ck_assert_str_eq(reconcile(SESSION, "7=0000:02:00:0", later(), 0,
	    NULL), "MISSING 7 0000:02:00:0\n");
	ck_assert_str_eq(list_summary(&d), before);
	ck_assert_str_eq(reconcile(SESSION, "7=0000:02:00.0", later(), 1,
	    NULL), "MISSING 7 0000:02:00:0\n");
	s = list_summary(&d);
	ck_assert_msg(strstr(s, "0000:02:00:0 7 used\n") != NULL, "%s", s);
	allocate(7, "0000:02:00:0");
	ck_assert_str_eq(list_summary(&d), s);
	/* In step: the same view again finds nothing. */
	ck_assert_str_eq(reconcile(SESSION, "7=0000:02:00:0", later(), 1,
	    NULL), "");
}
END_TEST

/*
 * The IOMMU rule: 03:00.0's group has 03:00.1 on snd_hda_intel, so VM 9
 * may take 03:00.0 only with it. Alone it is a CONFLICT naming the
 * sibling and nothing changes; with its sibling both are adopted.
 */
START_TEST(missing_refused_by_rule)
{
	char	*before, *why, *s;

	before = list_summary(&d);
	ck_assert_str_eq(reconcile(SESSION, "9=0000:03:00:0", later(), 1,
	    &why), "CONFLICT 9 0000:03:00:0\n");
	ck_assert_msg(strstr(why, "0000:03:00:1") != NULL &&
	    strstr(why, "snd_hda_intel") != NULL, "%s", why);
	ck_assert_str_eq(list_summary(&d), before);
	/* Not offered by pci.conf: a rule too. */
	ck_assert_str_eq(reconcile(SESSION, "9=0000:05:00:0", later(), 1,
	    &why), "CONFLICT 9 0000:05:00:0\n");
	ck_assert_str_eq(list_summary(&d), before);
	ck_assert_str_eq(reconcile(SESSION, "9=0000:03:00:1,0000:03:00:0",
	    later(), 1, NULL), "MISSING 9 0000:03:00:0\n"
	    "MISSING 9 0000:03:00:1\n");
	s = list_summary(&d);
	ck_assert_msg(strstr(s, "0000:03:00:0 9 used\n0000:03:00:1 9 used\n")
	    != NULL, "%s", s);
}
END_TEST

/*
 * The view gives VM 6 what VM 5 holds here, or a device this host does
 * not have: CONFLICT, and VM 5's holding is neither leaked nor freed.
 */
START_TEST(conflict_never_changed)
{
	char	*before, *why;

	allocate(5, "0000:01:00:0");
	before = list_summary(&d);
	ck_assert_str_eq(reconcile(SESSION, "6=0000:01:00:0,0000:0a:00:0",
	    later(), 1, &why), "CONFLICT 6 0000:01:00:0\n"
	    "CONFLICT 6 0000:0a:00:0\n");
	ck_assert_msg(strstr(why, "CONFLICT 0000:01:00:0: held here by VM 5")
	    != NULL, "%s", why);
	ck_assert_msg(strstr(why, "CONFLICT 0000:0a:00:0: no device "
	    "0000:0a:00:0 on this host") != NULL, "%s", why);
	ck_assert_str_eq(list_summary(&d), before);
}
END_TEST

/*
 * Everything apply changes is one transaction: a leak and an adoption
 * together, and when the adoption cannot be carried out (--bind vfio
 * must bind 03:00.0 and its sibling, and the sibling's driver_override
 * cannot be written) the leak is not released either.
 */
START_TEST(apply_is_one_transaction)
{
	char		*before, *s;
	const char	*msg;
	char		*p, path[600];

	allocate(5, "0000:01:00:0");
	daemon_stop(&d);
	snprintf(path, sizeof(path), "%s/bus/pci/devices/0000:03:00.1/"
	    "driver_override", d.sysfs);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	daemon_restart(&d, "--bind vfio");
	before = list_summary(&d);
	p = params("9=0000:03:00:0,0000:03:00:1", later(), 1);
	ck_assert_int_eq(reconcile_fails(SESSION, p, &msg), 0x2000);
	ck_assert_msg(strstr(msg, "binding to vfio-pci failed; nothing "
	    "changed") != NULL, "%s", msg);
	ck_assert_str_eq(list_summary(&d), before);
	free(p);
	/* Without the failing bind both happen, in one answer. */
	daemon_stop(&d);
	daemon_restart(&d, NULL);
	ck_assert_str_eq(reconcile(SESSION, "7=0000:02:00:0", later(), 1,
	    NULL), "LEAKED 5 0000:01:00:0\nMISSING 7 0000:02:00:0\n");
	s = list_summary(&d);
	ck_assert_msg(strstr(s, "0000:01:00:0 -1 free\n0000:02:00:0 7 used\n")
	    != NULL, "%s", s);
	/* And it is on disk: a kill -9 loses none of it. */
	daemon_kill9(&d);
	daemon_restart(&d, NULL);
	ck_assert_str_eq(list_summary(&d), s);
}
END_TEST

/*
 * A VM's devices that cannot all be taken together are judged one by
 * one: the free GPU is adopted, the NVMe pci.conf does not offer is not.
 */
START_TEST(partial_adoption_judges_each)
{
	char	*why, *s;

	ck_assert_str_eq(reconcile(SESSION, "9=0000:02:00:0,0000:05:00:0",
	    later(), 0, &why), "MISSING 9 0000:02:00:0\n"
	    "CONFLICT 9 0000:05:00:0\n");
	ck_assert_msg(strstr(why, "CONFLICT 0000:05:00:0: free here, but VM 9 "
	    "may not take it") != NULL, "%s", why);
	ck_assert_str_eq(reconcile(SESSION, "9=0000:02:00:0,0000:05:00:0",
	    later(), 1, NULL), "MISSING 9 0000:02:00:0\n"
	    "CONFLICT 9 0000:05:00:0\n");
	s = list_summary(&d);
	ck_assert_msg(strstr(s, "0000:02:00:0 9 used\n") != NULL &&
	    strstr(s, "0000:05:00:0 9") == NULL, "%s", s);
}
END_TEST

/*
 * With --bind vfio, VM 5 leaked 03:00.0 (its audio sibling bound along)
 * and the view gives the sibling to VM 9: apply answers what the dry run
 * did, and the group's recorded drivers now go back when VM 9 lets it go
 * (nothing is handed to snd_hda_intel under VM 9).
 */
START_TEST(leak_and_adoption_in_one_group)
{
	char	*dry, *log, path[400], *before;

	daemon_stop(&d);
	daemon_restart(&d, "--bind vfio");
	allocate(5, "0000:03:00:0");
	dry = reconcile(SESSION, "9=0000:03:00:1", later(), 0, NULL);
	ck_assert_str_eq(dry, "LEAKED 5 0000:03:00:0\nMISSING 9 0000:03:00:1\n");
	snprintf(path, sizeof(path), "%s/daemon.log", d.dir);
	before = read_file(path);
	ck_assert_str_eq(reconcile(SESSION, "9=0000:03:00:1", later(), 1, NULL),
	    dry);
	log = read_file(path);
	ck_assert_msg(strstr(log + strlen(before), "snd_hda_intel/bind") ==
	    NULL, "%s", log + strlen(before));
	ck_assert_msg(strstr(list_summary(&d), "0000:03:00:1 9 used\n") != NULL,
	    "%s", list_summary(&d));
	/* The drivers recorded for the group are VM 9's to give back. */
	{
		sqlite3		*db;
		sqlite3_stmt	*st;

		ck_assert_int_eq(sqlite3_open(d.db, &db), SQLITE_OK);
		ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT group_concat("
		    "printf('%x:%s:%d', addr, driver, vmid), ' ') FROM (SELECT "
		    "* FROM bind_origin ORDER BY addr)", -1, &st, NULL),
		    SQLITE_OK);
		ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
		ck_assert_str_eq((const char *)sqlite3_column_text(st, 0),
		    "300:nouveau:9 301:snd_hda_intel:9");
		sqlite3_finalize(st);
		sqlite3_close(db);
	}
}
END_TEST

/*
 * A device let go here after the view was read (a VM on its way out that
 * oned still lists) is not taken back: CONFLICT, nothing changed; a view
 * read after the release adopts it.
 */
START_TEST(released_after_the_view)
{
	char	*before, *why;
	int	 code;

	allocate(5, "0000:01:00:0");
	ck_assert(rpc_ok(rpc(&d, "pci.release", P_INT(5)), NULL, &code, NULL));
	before = list_summary(&d);
	ck_assert_str_eq(reconcile(SESSION, "5=0000:01:00:0",
	    (long long)time(NULL) - 60, 1, &why), "CONFLICT 5 0000:01:00:0\n");
	ck_assert_msg(strstr(why, "not before as_of") != NULL, "%s", why);
	ck_assert_str_eq(list_summary(&d), before);
	ck_assert_str_eq(reconcile(SESSION, "5=0000:01:00:0", later(), 1,
	    NULL), "MISSING 5 0000:01:00:0\n");
}
END_TEST

/* A read-only user may look, not act. */
START_TEST(read_only_users)
{
	char		*before, *p;
	const char	*msg;

	allocate(5, "0000:01:00:0");
	before = list_summary(&d);
	ck_assert_str_eq(reconcile(RO, "", later(), 0, NULL),
	    "LEAKED 5 0000:01:00:0\n");
	p = params("", later(), 1);
	ck_assert_int_eq(reconcile_fails(RO, p, &msg), 0x0200);
	ck_assert_msg(strstr(msg, "[pci.reconcile] user reader is read-only")
	    != NULL, "%s", msg);
	free(p);
	ck_assert_str_eq(list_summary(&d), before);
}
END_TEST

/* Every malformed view is RPC_API, says what is wrong, changes nothing. */
START_TEST(bad_views_change_nothing)
{
	static const struct {
		const char	*params;
		const char	*msg;
	} bad[] = {
		{ "7=0000:02:00", "ADDRESS \"0000:02:00\": expected" },
		{ "7=02:00.0", "ADDRESS \"02:00.0\": expected" },
		{ "-1=0000:02:00:0", "VMID -1: expected 0 to 2147483647" },
		{ "7=0000:02:00:0;8=0000:02:00.0",
		    "address 0000:02:00:0 given twice (VMs 7 and 8)" },
	};
	char		*before, *p;
	const char	*msg;
	size_t		 i;

	allocate(5, "0000:01:00:0");
	before = list_summary(&d);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		p = params(bad[i].params, later(), 1);
		ck_assert_int_eq(reconcile_fails(SESSION, p, &msg), 0x1000);
		ck_assert_msg(strstr(msg, bad[i].msg) != NULL, "%s: %s",
		    bad[i].params, msg);
		free(p);
	}
	ck_assert_int_eq(reconcile_fails(SESSION, "<param><value><array>"
	    "<data><value><struct><member><name>VMID</name><value><int>7"
	    "</int></value></member><member><name>ADDRESSES</name><value>"
	    "<array><data/></array></value></member></struct></value></data>"
	    "</array></value></param>" P_INT(0) "<param><value><boolean>1"
	    "</boolean></value></param>", &msg), 0x1000);
	ck_assert_msg(strstr(msg, "unknown field \"ADDRESSES\"") != NULL, "%s",
	    msg);
	ck_assert_int_eq(reconcile_fails(SESSION, "<param><value><array>"
	    "<data><value><int>7</int></value></data></array></value></param>"
	    P_INT(0) "<param><value><boolean>1</boolean></value></param>",
	    &msg), 0x1000);
	ck_assert_msg(strstr(msg, "holding 0: a holding must be a struct") !=
	    NULL, "%s", msg);
	p = params("", -5, 1);
	ck_assert_int_eq(reconcile_fails(SESSION, p, &msg), 0x1000);
	ck_assert_msg(strstr(msg, "as_of -5") != NULL, "%s", msg);
	free(p);
	ck_assert_str_eq(list_summary(&d), before);
	/* Wrong types are xmlrpc-c's type fault, as for every method. */
	ck_assert_int_eq(rpc_fault(&d, "<?xml version=\"1.0\"?><methodCall>"
	    "<methodName>pci.reconcile</methodName><params><param><value>"
	    "<string>" SESSION "</string></value></param><param><value><array>"
	    "<data/></array></value></param>" P_INT(0) P_INT(1) "</params>"
	    "</methodCall>"), -501);
	ck_assert_str_eq(list_summary(&d), before);
}
END_TEST

Suite *
reconcile_suite(void)
{
	Suite	*s = suite_create("reconcile");
	TCase	*tc = tcase_create("reconcile");

	tcase_add_checked_fixture(tc, up, down);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, leaked_released_only_with_apply);
	tcase_add_test(tc, recent_never_released);
	tcase_add_test(tc, missing_adopted);
	tcase_add_test(tc, missing_refused_by_rule);
	tcase_add_test(tc, conflict_never_changed);
	tcase_add_test(tc, apply_is_one_transaction);
	tcase_add_test(tc, partial_adoption_judges_each);
	tcase_add_test(tc, leak_and_adoption_in_one_group);
	tcase_add_test(tc, released_after_the_view);
	tcase_add_test(tc, read_only_users);
	tcase_add_test(tc, bad_views_change_nothing);
	suite_add_tcase(s, tc);
	return s;
}
