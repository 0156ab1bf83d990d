/*
 * check_bind.c: binding to vfio-pci and back (server/bind.c) through
 * pcipass-host and through the daemon's --bind vfio.
 *
 * The fake tree's sysfs attributes are plain files and bind.c opens them
 * with O_APPEND, so each file keeps every value written to it; the order
 * across files comes from the "sysfs: echo ..." line bind.c logs before
 * each write. Tests check both. The fake kernel does nothing on a write:
 * where a test needs the kernel's reaction (the device moving to
 * vfio-pci), it re-points the driver link itself.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pcipassd.h"
#include "harness.h"

static const char dump[] =
    "00:02.0 VGA compatible controller [0300]: Intel Corporation HD "
    "Graphics 630 [8086:5912] (rev 04)\n"
    "\tKernel driver in use: i915\n\tIOMMU group: 0\n"
    "\tX-pcipass-boot-vga: 1\n"
    "00:17.0 SATA controller [0106]: Intel Corporation 200 Series PCH SATA "
    "controller [AHCI mode] [8086:a282]\n"
    "\tKernel driver in use: ahci\n\tIOMMU group: 2\n"
    "01:00.0 VGA compatible controller [0300]: NVIDIA Corporation GP106 "
    "[GeForce GTX 1060 6GB] [10de:1c03] (rev a1)\n"
    "\tKernel driver in use: nouveau\n\tIOMMU group: 1\n"
    "01:00.1 Audio device [0403]: NVIDIA Corporation GP106 High "
    "Definition Audio Controller [10de:10f1] (rev a1)\n"
    "\tKernel driver in use: snd_hda_intel\n\tIOMMU group: 1\n"
    "05:00.0 USB controller [0c03]: ASMedia Technology Inc. ASM1142 "
    "USB 3.1 Host Controller [1b21:1242]\n"
    "\tKernel driver in use: xhci_hcd\n\tIOMMU group: 7\n"
    "05:00.1 SATA controller [0106]: ASMedia Technology Inc. ASM1062 "
    "Serial ATA Controller [1b21:0612] (rev 02)\n"
    "\tKernel driver in use: ahci\n\tIOMMU group: 7\n";

#define FILTER	":filter:\n  - '10de:*'\n  - '1b21:1242'\n  - '8086:5912'\n"

#define BIND_GPU \
    "sysfs: echo 'vfio-pci' > bus/pci/devices/0000:01:00.0/driver_override\n" \
    "sysfs: echo '0000:01:00.0' > bus/pci/drivers/nouveau/unbind\n" \
    "sysfs: echo '0000:01:00.0' > bus/pci/drivers_probe\n" \
    "sysfs: echo 'vfio-pci' > bus/pci/devices/0000:01:00.1/driver_override\n" \
    "sysfs: echo '0000:01:00.1' > bus/pci/drivers/snd_hda_intel/unbind\n" \
    "sysfs: echo '0000:01:00.1' > bus/pci/drivers_probe\n"

#define UNBIND_GPU \
    "sysfs: echo '' > bus/pci/devices/0000:01:00.0/driver_override\n" \
    "sysfs: echo '0000:01:00.0' > bus/pci/drivers/vfio-pci/unbind\n" \
    "sysfs: echo '0000:01:00.0' > bus/pci/drivers_probe\n" \
    "sysfs: echo '0000:01:00.0' > bus/pci/drivers/nouveau/bind\n" \
    "sysfs: echo '' > bus/pci/devices/0000:01:00.1/driver_override\n" \
    "sysfs: echo '0000:01:00.1' > bus/pci/drivers/vfio-pci/unbind\n" \
    "sysfs: echo '0000:01:00.1' > bus/pci/drivers_probe\n" \
    "sysfs: echo '0000:01:00.1' > bus/pci/drivers/snd_hda_intel/bind\n"

static struct host_env	env;

static void
setup_env(int vfio)
{
	host_env(&env, tree_text(dump), FILTER);
	if (vfio) {
		env_file(&env, "sys/bus/pci/drivers/vfio-pci/bind", "");
		env_file(&env, "sys/bus/pci/drivers/vfio-pci/unbind", "");
	}
}

static void
teardown(void)
{
	cleanup_dirs();
}

static char *
sys_file(const char *rel)
{
	char	path[1200];
	char	*s;

	snprintf(path, sizeof(path), "%s/%s", env.sys, rel);
	s = read_file(path);
	ck_assert_msg(s != NULL, "%s missing", path);
	return s;
}

/* What the fake kernel would do: the device is now on drv. */
static void
kernel_moves(const char *addr, const char *drv)
{
	char	path[1200], target[200];

	snprintf(path, sizeof(path), "%s/bus/pci/devices/%s/driver", env.sys,
	    addr);
	snprintf(target, sizeof(target), "../../drivers/%s", drv);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(symlink(target, path), 0);
}

/* bind_origin as "ADDR DRIVER VMID" lines. */
static char *
origins(const char *db_path)
{
	sqlite3		*db;
	sqlite3_stmt	*st;
	char		*buf = NULL, a[PP_ADDR_SYSFS_LEN];
	size_t		 len = 0;
	FILE		*fp = open_memstream(&buf, &len);

	ck_assert_int_eq(sqlite3_open(db_path, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT addr, driver, vmid "
	    "FROM bind_origin ORDER BY addr", -1, &st, NULL), SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW)
		fprintf(fp, "%s %s %d\n", addr_fmt((pp_addr)
		    sqlite3_column_int64(st, 0), ADDR_SYSFS, a, sizeof(a)),
		    sqlite3_column_text(st, 1), sqlite3_column_int(st, 2));
	sqlite3_finalize(st);
	sqlite3_close(db);
	fclose(fp);
	return buf;
}

/* Nothing was written anywhere in the tree. */
static void
assert_untouched(const char *err)
{
	ck_assert_str_eq(sysfs_writes(err), "");
	ck_assert_str_eq(sys_file("bus/pci/drivers_probe"), "");
	ck_assert_str_eq(sys_file("bus/pci/devices/0000:01:00.0/"
	    "driver_override"), "\n");
	ck_assert_str_eq(sys_file("bus/pci/devices/0000:05:00.0/"
	    "driver_override"), "\n");
	ck_assert_str_eq(sys_file("bus/pci/drivers/nouveau/unbind"), "");
}

START_TEST(bind_group_writes)
{
	char	*out, *err;

	setup_env(1);
	ck_assert_int_eq(host_run(&env, "bind 0000:01:00.0", &out, &err), 0);
	ck_assert_str_eq(sysfs_writes(err), BIND_GPU);
	ck_assert_str_eq(out, "0000:01:00.0: nouveau -> vfio-pci\n"
	    "0000:01:00.1: snd_hda_intel -> vfio-pci\n");
	ck_assert_str_eq(sys_file("bus/pci/devices/0000:01:00.0/"
	    "driver_override"), "\nvfio-pci\n");
	ck_assert_str_eq(sys_file("bus/pci/devices/0000:01:00.1/"
	    "driver_override"), "\nvfio-pci\n");
	ck_assert_str_eq(sys_file("bus/pci/drivers/nouveau/unbind"),
	    "0000:01:00.0\n");
	ck_assert_str_eq(sys_file("bus/pci/drivers/snd_hda_intel/unbind"),
	    "0000:01:00.1\n");
	ck_assert_str_eq(sys_file("bus/pci/drivers_probe"),
	    "0000:01:00.0\n0000:01:00.1\n");
	ck_assert_str_eq(origins(env.db), "0000:01:00.0 nouveau -1\n"
	    "0000:01:00.1 snd_hda_intel -1\n");
}
END_TEST

/* The kernel gave them to vfio-pci and does not give them back alone. */
START_TEST(unbind_restores_original)
{
	char	*out, *err;

	setup_env(1);
	ck_assert_int_eq(host_run(&env, "bind 0000:01:00.0", NULL, NULL), 0);
	kernel_moves("0000:01:00.0", "vfio-pci");
	kernel_moves("0000:01:00.1", "vfio-pci");
	ck_assert_int_eq(host_run(&env, "unbind 0000:01:00.1", &out, &err),
	    0);
	ck_assert_str_eq(sysfs_writes(err), UNBIND_GPU);
	ck_assert_str_eq(out, "2 devices given back to their drivers\n");
	ck_assert_str_eq(sys_file("bus/pci/devices/0000:01:00.0/"
	    "driver_override"), "\nvfio-pci\n\n");
	ck_assert_str_eq(sys_file("bus/pci/drivers/vfio-pci/unbind"),
	    "0000:01:00.0\n0000:01:00.1\n");
	ck_assert_str_eq(sys_file("bus/pci/drivers/nouveau/bind"),
	    "0000:01:00.0\n");
	ck_assert_str_eq(origins(env.db), "");
	kernel_moves("0000:01:00.0", "nouveau");
	kernel_moves("0000:01:00.1", "snd_hda_intel");
	/* Nothing left to restore. */
	ck_assert_int_eq(host_run(&env, "unbind 0000:01:00.0", &out, &err),
	    0);
	ck_assert_str_eq(out, "0 devices given back to their drivers\n");
}
END_TEST

/* When the probe already gave the device back, no bind write follows. */
START_TEST(unbind_probe_enough)
{
	char	*err;

	setup_env(1);
	ck_assert_int_eq(host_run(&env, "bind 0000:01:00.0", NULL, NULL), 0);
	ck_assert_int_eq(host_run(&env, "unbind 0000:01:00.0", NULL, &err),
	    0);
	ck_assert_str_eq(sysfs_writes(err),
	    "sysfs: echo '' > bus/pci/devices/0000:01:00.0/driver_override\n"
	    "sysfs: echo '0000:01:00.0' > bus/pci/drivers_probe\n"
	    "sysfs: echo '' > bus/pci/devices/0000:01:00.1/driver_override\n"
	    "sysfs: echo '0000:01:00.1' > bus/pci/drivers_probe\n");
	ck_assert_str_eq(sys_file("bus/pci/drivers/nouveau/bind"), "");
}
END_TEST

START_TEST(already_bound)
{
	char	*out, *err;

	setup_env(1);
	ck_assert_int_eq(host_run(&env, "bind 0000:01:00.0", NULL, NULL), 0);
	kernel_moves("0000:01:00.0", "vfio-pci");
	kernel_moves("0000:01:00.1", "vfio-pci");
	ck_assert_int_eq(host_run(&env, "bind 0000:01:00.1", &out, &err), 0);
	ck_assert_str_eq(sysfs_writes(err), "");
	ck_assert_str_eq(out, "already on vfio-pci\n");
	ck_assert_str_eq(origins(env.db), "0000:01:00.0 nouveau -1\n"
	    "0000:01:00.1 snd_hda_intel -1\n");
}
END_TEST

/* 05:00.1 (ahci, not offered) shares group 7 with 05:00.0. */
START_TEST(group_refused)
{
	char	*err;

	setup_env(1);
	ck_assert_int_eq(host_run(&env, "bind 0000:05:00.0", NULL, &err), 1);
	ck_assert_msg(strstr(err, "bind: 0000:05:00.1 (IOMMU group 7 of "
	    "0000:05:00.0, driver ahci): not offered by the filter") != NULL,
	    "%s", err);
	assert_untouched(err);
	ck_assert_str_eq(origins(env.db), "");
}
END_TEST

START_TEST(bad_addresses)
{
	static const struct { const char *arg, *msg; int rc; } bad[] = {
		{ "../..", "\"../..\" is not a PCI address", 2 },
		{ "0000:01:00.0/../../..", "is not a PCI address", 2 },
		{ "'0000:01:00.0 '", "is not a PCI address", 2 },
		{ "01:00", "is not a PCI address", 2 },
		{ "0000:01:20.0", "is not a PCI address", 2 },
		{ "0000:99:00.0", "0000:99:00.0: no such PCI device", 1 },
		{ "0000:00:17.0", "0000:00:17.0: not offered by the filter",
		    1 },
		{ "0000:00:02.0", "0000:00:02.0: host-critical: boot VGA", 1 },
		{ "0000:01:00.0 ../..", "\"../..\" is not a PCI address", 2 },
		{ "0000:01:00.0 0000:00:17.0", "not offered", 1 },
	};
	char	args[128], *err;
	size_t	i;

	setup_env(1);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(args, sizeof(args), "bind %s", bad[i].arg);
		ck_assert_int_eq(host_run(&env, args, NULL, &err), bad[i].rc);
		ck_assert_msg(strstr(err, bad[i].msg) != NULL, "%s: %s",
		    bad[i].arg, err);
		assert_untouched(err);
		snprintf(args, sizeof(args), "unbind %s", bad[i].arg);
		host_run(&env, args, NULL, &err);
		assert_untouched(err);
	}
	ck_assert_str_eq(origins(env.db), "");
}
END_TEST

START_TEST(no_vfio_driver)
{
	char	*err;

	setup_env(0);
	ck_assert_int_eq(host_run(&env, "bind 0000:01:00.0", NULL, &err), 1);
	ck_assert_msg(strstr(err, "vfio-pci is not loaded") != NULL, "%s",
	    err);
	assert_untouched(err);
}
END_TEST

START_TEST(bind_from_file)
{
	char	*out, *err, args[800];

	setup_env(1);
	env_file(&env, "bind.conf", "# devices for VMs, bound at boot\n\n"
	    "DEVICES=\"0000:01:00.1\"\n");
	snprintf(args, sizeof(args), "bind --from '%s/bind.conf'", env.dir);
	ck_assert_int_eq(host_run(&env, args, &out, &err), 0);
	ck_assert_str_eq(sysfs_writes(err), BIND_GPU);
	env_file(&env, "bad.conf", "DEVICES=\"0000:01:00.1\nFOO=1\n");
	snprintf(args, sizeof(args), "bind --from '%s/bad.conf'", env.dir);
	ck_assert_int_eq(host_run(&env, args, &out, &err), 1);
	ck_assert_msg(strstr(err, "bad.conf:1: unbalanced quote\n") &&
	    strstr(err, "bad.conf:2: expected DEVICES=\"ADDR ...\"\n"), "%s",
	    err);
}
END_TEST

static const char *
alloc_gpu(void)
{
	return P_INT(7) "<param><value><array><data><value><struct><member>"
	    "<name>ADDRESS</name><value><string>0000:01:00:0</string></value>"
	    "</member></struct></value></data></array></value></param>";
}

static char *
daemon_log(const struct daemon *d)
{
	char	path[400];

	snprintf(path, sizeof(path), "%s/daemon.log", d->dir);
	return sysfs_writes(read_file(path));
}

/* Bound on allocate, restored on release after a kill -9 and restart. */
START_TEST(daemon_restart_restores)
{
	struct daemon	 d;
	xmlrpc_value	*list;
	char		*before, *after, *err, args[800];
	int		 code, n;

	setup_env(1);
	daemon_start(&d, env.sys, FILTER, "--bind vfio");
	ck_assert(rpc_ok(rpc(&d, "pci.allocate", alloc_gpu()), NULL, &code,
	    NULL));
	ck_assert_str_eq(daemon_log(&d), BIND_GPU);
	ck_assert_str_eq(origins(d.db), "0000:01:00.0 nouveau 7\n"
	    "0000:01:00.1 snd_hda_intel 7\n");
	/* The inventory says where they are now, without waiting for a
	 * rescan. */
	ck_assert(rpc_ok(rpc(&d, "pci.list", NULL), &list, &code, NULL));
	ck_assert_str_eq(field_str(find_addr(list, "0000:01:00:0"), "DRIVER"),
	    "vfio-pci");
	ck_assert_str_eq(field_str(find_addr(list, "0000:01:00:1"), "DRIVER"),
	    "vfio-pci");
	xmlrpc_DECREF(list);
	kernel_moves("0000:01:00.0", "vfio-pci");
	kernel_moves("0000:01:00.1", "vfio-pci");
	/* A VM holds it: the host tool leaves it alone. */
	snprintf(args, sizeof(args), "--db '%s' unbind 0000:01:00.0", d.db);
	ck_assert_int_eq(host_run(&env, args, NULL, &err), 1);
	ck_assert_msg(strstr(err, "0000:01:00.0: held by VM 7") != NULL, "%s",
	    err);
	daemon_kill9(&d);
	before = daemon_log(&d);
	daemon_restart(&d, "--bind vfio");
	ck_assert(rpc_ok(rpc(&d, "pci.release", P_INT(7)), NULL, &code,
	    NULL));
	after = daemon_log(&d);
	n = (int)strlen(before);
	ck_assert_str_eq(after + n, UNBIND_GPU);
	ck_assert_str_eq(origins(d.db), "");
	daemon_stop(&d);
}
END_TEST

/*
 * Killed between a bind's sysfs writes and its commit (the kernel
 * stand-in, tests/kmdev.c, sends SIGKILL after the first drivers_probe):
 * no record of the original driver was committed, but the bind journal
 * has it, and the restart gives the device back.
 */
START_TEST(daemon_crash_mid_bind)
{
	struct daemon	 d;
	char		 path[1200], *log, *s;

	setup_env(1);
	env_file(&env, "kmdev/kill-after-probe", "");
	setenv("KMDEV_ROOT", env.sys, 1);
	setenv("LD_PRELOAD", getenv("KMDEV"), 1);
	daemon_start(&d, env.sys, FILTER, "--bind vfio");
	unsetenv("LD_PRELOAD");
	rpc_dies(&d, "pci.allocate", alloc_gpu());
	snprintf(path, sizeof(path), "%s/.pcipass.db.binding", d.dir);
	ck_assert_str_eq(read_file(path), "0000:01:00.0 nouveau\n");
	ck_assert_str_eq(origins(d.db), "");
	/* The kernel had moved it. */
	kernel_moves("0000:01:00.0", "vfio-pci");
	daemon_restart(&d, "--bind vfio");
	log = daemon_log(&d);
	ck_assert_msg(strstr(log, "sysfs: echo '0000:01:00.0' > "
	    "bus/pci/drivers_probe\n"
	    "sysfs: echo '' > bus/pci/devices/0000:01:00.0/driver_override\n"
	    "sysfs: echo '0000:01:00.0' > bus/pci/drivers/vfio-pci/unbind\n"
	    "sysfs: echo '0000:01:00.0' > bus/pci/drivers_probe\n"
	    "sysfs: echo '0000:01:00.0' > bus/pci/drivers/nouveau/bind\n") !=
	    NULL, "%s", log);
	snprintf(path, sizeof(path), "%s/daemon.log", d.dir);
	ck_assert_ptr_nonnull(strstr(read_file(path), "bind journal: "
	    "0000:01:00.0 was bound by a call that never committed: given "
	    "back to nouveau"));
	snprintf(path, sizeof(path), "%s/.pcipass.db.binding", d.dir);
	ck_assert_int_eq(access(path, F_OK), -1);
	s = list_summary(&d);
	ck_assert_msg(strstr(s, "0000:01:00:0 -1 free\n") != NULL, "%s", s);
	ck_assert_str_eq(origins(d.db), "");
	daemon_stop(&d);
}
END_TEST

/* A bind that fails fails the allocate, and nothing changes. */
START_TEST(daemon_bind_fails)
{
	struct daemon	 d;
	char		*s;
	const char	*msg;
	int		 code;

	setup_env(0);
	daemon_start(&d, env.sys, FILTER, "--bind vfio");
	ck_assert(!rpc_ok(rpc(&d, "pci.allocate", alloc_gpu()), NULL, &code,
	    &msg));
	ck_assert_int_eq(code, 0x2000);
	ck_assert_msg(strstr(msg, "vfio-pci is not loaded") != NULL, "%s",
	    msg);
	s = list_summary(&d);
	ck_assert_msg(strstr(s, "0000:01:00:0 -1 free\n") != NULL, "%s", s);
	ck_assert_str_eq(daemon_log(&d), "");
	ck_assert_str_eq(origins(d.db), "");
	daemon_stop(&d);
}
END_TEST

Suite *
bind_suite(void)
{
	Suite	*s = suite_create("bind");
	TCase	*tc = tcase_create("bind");

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, bind_group_writes);
	tcase_add_test(tc, unbind_restores_original);
	tcase_add_test(tc, unbind_probe_enough);
	tcase_add_test(tc, already_bound);
	tcase_add_test(tc, group_refused);
	tcase_add_test(tc, daemon_crash_mid_bind);
	tcase_add_test(tc, bad_addresses);
	tcase_add_test(tc, no_vfio_driver);
	tcase_add_test(tc, bind_from_file);
	tcase_add_test(tc, daemon_restart_restores);
	tcase_add_test(tc, daemon_bind_fails);
	suite_add_tcase(s, tc);
	return s;
}
