/*
 * vGPUs made and removed by pcipassd --bind vfio (API.md "Mediated
 * devices"): real daemons over real HTTP on a fake tree, with
 * tests/kmdev.c (LD_PRELOAD) playing the kernel's and NVIDIA driver's
 * part, since no kernel we can run has a vGPU parent. The tests assert
 * on what the daemon wrote, in what order (the stand-in's log), and what
 * it did when the kernel said no.
 *
 * The tree: PF 41:00.0 with VFs 41:00.4-6 on the legacy mdev bus, types
 * nvidia-558 (cost 1) and nvidia-559 (cost 2) sharing the PF's 3; PF
 * 42:00.0 with VFs 42:00.4-5 in NVIDIA's own sysfs, types 590 (1) and
 * 591 (2) sharing 2, one type at a time.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define A10(a, fn, grp) \
	a " 3D controller [0302]: NVIDIA Corporation GA102GL [A10] " \
	"[10de:2236] (rev a1)\n" fn "\tKernel driver in use: nvidia\n" \
	"\tIOMMU group: " grp "\n\n"
#define SRIOV(n) \
	"\tCapabilities: [bcc v1] Single Root I/O Virtualization (SR-IOV)\n" \
	"\t\tInitial VFs: 16, Total VFs: 16, Number of VFs: " n ", " \
	"Function Dependency Link: 00\n" \
	"\t\tVF offset: 4, stride: 1, Device ID: 2236\n"

static const char dump[] =
	A10("41:00.0", SRIOV("3"), "20")
	A10("41:00.4", "", "21")
	A10("41:00.5", "", "22")
	A10("41:00.6", "", "23")
	A10("42:00.0", SRIOV("2"), "30")
	A10("42:00.4", "", "31")
	A10("42:00.5", "", "32");

/* The mdev UUIDs of 41:00.4-5 (uuidgen --sha1 --namespace @x500). */
static char	uuid4[64], uuid5[64];
static char	root[600], kdir[700];
static struct daemon	d;

static void
sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
sh(const char *fmt, ...)
{
	char	*cmd;
	va_list	 ap;

	va_start(ap, fmt);
	ck_assert_int_gt(vasprintf(&cmd, fmt, ap), 0);
	va_end(ap);
	ck_assert_msg(system(cmd) == 0, "%s", cmd);
	free(cmd);
}

static void
uuid_of(const char *addr, char *out, size_t len)
{
	char	cmd[256];
	FILE	*p;

	snprintf(cmd, sizeof(cmd), "uuidgen --sha1 --namespace @x500 --name "
	    "'%s'", addr);
	ck_assert_ptr_nonnull(p = popen(cmd, "r"));
	ck_assert_ptr_nonnull(fgets(out, (int)len, p));
	out[strcspn(out, "\n")] = '\0';
	pclose(p);
}

/* The tree, the stand-in's pools and an empty log. */
static void
make_tree(void)
{
	const char	*t = tree_text(dump);

	snprintf(root, sizeof(root), "%s", t);
	snprintf(kdir, sizeof(kdir), "%s/../kmdev", root);
	sh("cd '%s' && mkdir -p bus/mdev/devices ../kmdev && "
	    "for v in 4 5 6; do for t in 558 559; do "
	    "p=class/mdev_bus/0000:41:00.$v/mdev_supported_types/nvidia-$t; "
	    "mkdir -p $p && : > $p/create && echo 1 > $p/available_instances; "
	    "done; done && for v in 4 5; do "
	    "n=bus/pci/devices/0000:42:00.$v/nvidia; mkdir -p $n && "
	    "echo 0 > $n/current_vgpu_type && printf 'ID    : vGPU Name\\n"
	    "590   : NVIDIA A10-1B\\n591   : NVIDIA A10-2B\\n' > "
	    "$n/creatable_vgpu_types; done && "
	    "printf '3\\nnvidia-558 1\\nnvidia-559 2\\n' > "
	    "../kmdev/pool-0000:41:00.0 && "
	    "printf '2\\n590 1 NVIDIA A10-1B\\n591 2 NVIDIA A10-2B\\n' > "
	    "../kmdev/pool-0000:42:00.0 && : > ../kmdev/log", root);
	uuid_of("0000:41:00:4", uuid4, sizeof(uuid4));
	uuid_of("0000:41:00:5", uuid5, sizeof(uuid5));
}

/* pcipassd with the kernel stand-in loaded. */
static void
start(const char *extra)
{
	const char	*so = getenv("KMDEV");

	ck_assert_msg(so != NULL, "KMDEV (the kernel stand-in) not set");
	setenv("KMDEV_ROOT", root, 1);
	setenv("LD_PRELOAD", so, 1);
	daemon_start(&d, root, ":filter: '10de:*'\n", extra);
	unsetenv("LD_PRELOAD");
}

static void
restart(const char *extra)
{
	setenv("LD_PRELOAD", getenv("KMDEV"), 1);
	daemon_restart(&d, extra);
	unsetenv("LD_PRELOAD");
}

static char *
klog(void)
{
	char	path[800], *s;

	snprintf(path, sizeof(path), "%s/log", kdir);
	ck_assert_ptr_nonnull(s = read_file(path));
	return s;
}

static void
ctl(const char *name, int on)
{
	char	path[800];

	snprintf(path, sizeof(path), "%s/%s", kdir, name);
	if (on)
		write_file(path, "");
	else
		ck_assert_int_eq(unlink(path), 0);
}

static int
mdev_exists(const char *uuid)
{
	char	path[800];

	snprintf(path, sizeof(path), "%s/bus/mdev/devices/%s", root, uuid);
	return access(path, F_OK) == 0;
}

/*
 * The <param>s of a call: VMID first unless it is negative, then the
 * requests "VENDOR=10de,PROFILE=p1" (and p2 when given).
 */
static const char *
profile_params(int vmid, const char *p1, const char *p2)
{
	static char	buf[1024];
	char		vm[64] = "";
	const char	*req = "<value><struct><member><name>VENDOR</name>"
			    "<value>10de</value></member><member><name>PROFILE"
			    "</name><value>%s</value></member></struct></value>";
	char		r1[300], r2[300] = "";

	if (vmid >= 0)
		snprintf(vm, sizeof(vm), "<param><value><int>%d</int></value>"
		    "</param>", vmid);
	snprintf(r1, sizeof(r1), req, p1);
	if (p2 != NULL)
		snprintf(r2, sizeof(r2), req, p2);
	snprintf(buf, sizeof(buf), "%s<param><value><array><data>%s%s</data>"
	    "</array></value></param>", vm, r1, r2);
	return buf;
}

/* An allocate of one PROFILE request (and a second when p2); its code. */
static int
allocate(int vmid, const char *p1, const char *p2, const char **msg)
{
	int	code;

	if (rpc_ok(rpc(&d, "pci.allocate", profile_params(vmid, p1, p2)),
	    NULL, &code, msg))
		ck_assert_int_eq(code, 0);
	return code;
}

static int
release(int vmid)
{
	char		 p[128];
	xmlrpc_value	*v;
	xmlrpc_env	 env;
	int		 code, n;

	snprintf(p, sizeof(p), "<param><value><int>%d</int></value></param>",
	    vmid);
	ck_assert(rpc_ok(rpc(&d, "pci.release", p), &v, &code, NULL));
	xmlrpc_env_init(&env);
	xmlrpc_read_int(&env, v, &n);
	ck_assert(!env.fault_occurred);
	xmlrpc_env_clean(&env);
	xmlrpc_DECREF(v);
	return n;
}

/* One device of pci.list: "VMID STATE REASON". */
static char *
device(const char *addr)
{
	xmlrpc_value	*v, *dev;
	char		*s;
	int		 code;

	ck_assert(rpc_ok(rpc(&d, "pci.list", ""), &v, &code, NULL));
	ck_assert_ptr_nonnull(dev = find_addr(v, addr));
	ck_assert_int_gt(asprintf(&s, "%d %s %s", field_int(dev, "VMID"),
	    field_str(dev, "STATE"), field_str(dev, "REASON")), 0);
	xmlrpc_DECREF(v);
	return s;
}

#define DEVICE_IS(addr, want) do {					\
	char	*s_ = device(addr);					\
	ck_assert_str_eq(s_, want);					\
	free(s_);							\
} while (0)

/* pci.test of one PROFILE request: FITS must be fits, REASON hold why. */
static void
fits(const char *profile, int fits, const char *why)
{
	xmlrpc_value	*v, *f;
	xmlrpc_env	 env;
	xmlrpc_bool	 got;
	int		 code;

	ck_assert(rpc_ok(rpc(&d, "pci.test", profile_params(-1, profile,
	    NULL)), &v, &code, NULL));
	xmlrpc_env_init(&env);
	xmlrpc_struct_find_value(&env, v, "FITS", &f);
	xmlrpc_read_bool(&env, f, &got);
	xmlrpc_DECREF(f);
	ck_assert(!env.fault_occurred);
	xmlrpc_env_clean(&env);
	ck_assert_msg(got == fits && (why == NULL || strstr(field_str(v,
	    "REASON"), why) != NULL), "pci.test PROFILE=%s: FITS %d, REASON "
	    "%s", profile, got, field_str(v, "REASON"));
	xmlrpc_DECREF(v);
}

static void
setup(void)
{
	make_tree();
}

static void
teardown(void)
{
	if (d.pid > 0)
		daemon_stop(&d);
	cleanup_dirs();
}

#define LOG_HAS(s) ck_assert_msg(strstr(log, (s)) != NULL, \
	"kernel log lacks \"%s\":\n%s", (s), log)

/* Legacy: made on allocate, removed on release, instances shared. */
START_TEST(legacy_make_remove)
{
	char		*log, want[256];
	const char	*msg;

	start("--bind vfio");
	ck_assert_int_eq(allocate(5, "nvidia-559", NULL, &msg), 0);
	log = klog();
	snprintf(want, sizeof(want), "create 0000:41:00.4 nvidia-559 %s ok\n",
	    uuid4);
	ck_assert_str_eq(log, want);
	free(log);
	ck_assert(mdev_exists(uuid4));
	/* Nothing was bound to vfio-pci: a vGPU's VF keeps its driver. */
	DEVICE_IS("0000:41:00:4", "5 used ");
	/* The 559 took 2 of the PF's 3: no other VF can make one now. */
	fits("nvidia-559", 0, "no instance of profile nvidia-559 left");
	fits("nvidia-558", 1, NULL);
	ck_assert_int_eq(release(5), 1);
	ck_assert(!mdev_exists(uuid4));
	log = klog();
	snprintf(want, sizeof(want), "create 0000:41:00.4 nvidia-559 %s ok\n"
	    "remove %s ok\n", uuid4, uuid4);
	ck_assert_str_eq(log, want);
	free(log);
	fits("nvidia-559", 1, NULL);
	DEVICE_IS("0000:41:00:4", "-1 free ");
}
END_TEST

/* Profiles run out as instances are taken; the matcher says so. */
START_TEST(legacy_instances_run_out)
{
	char		*log, want[256];
	const char	*msg;

	start("--bind vfio");
	ck_assert_int_eq(allocate(1, "nvidia-559", NULL, &msg), 0);
	ck_assert_int_eq(allocate(2, "nvidia-558", NULL, &msg), 0);
	ck_assert_int_eq(allocate(3, "nvidia-558", NULL, &msg), 0x4000);
	ck_assert_msg(strstr(msg, "no instance of profile nvidia-558 left") !=
	    NULL, "%s", msg);
	/* The kernel was asked twice, never for the third. */
	log = klog();
	snprintf(want, sizeof(want), "create 0000:41:00.4 nvidia-559 %s ok\n"
	    "create 0000:41:00.5 nvidia-558 %s ok\n", uuid4, uuid5);
	ck_assert_str_eq(log, want);
	free(log);
	DEVICE_IS("0000:41:00:6", "-1 free ");
}
END_TEST

/*
 * The kernel refuses the second vGPU of a call (another user took the
 * capacity behind the daemon's back): the first is removed again,
 * nothing is held, nothing is left.
 */
START_TEST(create_refused_mid_call)
{
	char		*log, want[512], path[800], *s;
	const char	*msg;

	start("--bind vfio");
	snprintf(path, sizeof(path), "%s/pool-0000:41:00.0", kdir);
	write_file(path, "1\nnvidia-558 1\nnvidia-559 2\n");
	ck_assert_int_eq(allocate(7, "nvidia-558", "nvidia-558", &msg),
	    0x2000);
	ck_assert_msg(strstr(msg, "making the vGPU of request 1 failed; "
	    "nothing changed") != NULL && strstr(msg, "Too many users") !=
	    NULL, "%s", msg);
	log = klog();
	snprintf(want, sizeof(want), "create 0000:41:00.4 nvidia-558 %s ok\n"
	    "create 0000:41:00.5 nvidia-558 %s EUSERS\nremove %s ok\n",
	    uuid4, uuid5, uuid4);
	ck_assert_str_eq(log, want);
	free(log);
	ck_assert(!mdev_exists(uuid4) && !mdev_exists(uuid5));
	DEVICE_IS("0000:41:00:4", "-1 free ");
	s = list_summary(&d);
	ck_assert_ptr_null(strstr(s, " 7 "));
	free(s);
}
END_TEST

/* A removal the kernel refuses: released, but blocked with its error. */
START_TEST(remove_refused)
{
	char		*s;
	const char	*msg;

	start("--bind vfio");
	ck_assert_int_eq(allocate(8, "nvidia-558", NULL, &msg), 0);
	ctl("refuse-remove", 1);
	ck_assert_int_eq(release(8), 1);
	ck_assert(mdev_exists(uuid4));
	s = device("0000:41:00:4");
	ck_assert_msg(strncmp(s, "-1 blocked vGPU nvidia-558 still there: "
	    "writing '1' to ", 39) == 0 && strstr(s, "Device or resource "
	    "busy") != NULL, "%s", s);
	free(s);
	/* Until the vGPU is gone, however: then a rescan frees it. */
	ctl("refuse-remove", 0);
	setenv("KMDEV_ROOT", root, 1);
	sh("LD_PRELOAD='%s' python3 -c 'import os; f = os.open(\"%s/bus/"
	    "mdev/devices/%s/remove\", os.O_WRONLY); os.write(f, b\"1\")'",
	    getenv("KMDEV"), root, uuid4);
	xmlrpc_DECREF(rpc(&d, "pci.monitor", ""));
	DEVICE_IS("0000:41:00:4", "-1 free ");
}
END_TEST

/*
 * pcipassd killed between the kernel's create and its commit: on
 * restart the vGPU no VM holds is removed. Killed between a release's
 * remove and its commit: the VM still holds it, so it is made again.
 */
START_TEST(crash_mended)
{
	char		*log, want[512];
	const char	*msg;

	start("--bind vfio");
	ctl("kill-after-create", 1);
	rpc_dies(&d, "pci.allocate", profile_params(9, "nvidia-559", NULL));
	ctl("kill-after-create", 0);
	ck_assert(mdev_exists(uuid4));
	restart("--bind vfio");
	ck_assert(!mdev_exists(uuid4));
	log = klog();
	snprintf(want, sizeof(want), "create 0000:41:00.4 nvidia-559 %s ok\n"
	    "remove %s ok\n", uuid4, uuid4);
	ck_assert_str_eq(log, want);
	free(log);
	DEVICE_IS("0000:41:00:4", "-1 free ");
	/* Held, then killed between the remove and the commit. */
	ck_assert_int_eq(allocate(9, "nvidia-559", NULL, &msg), 0);
	ctl("kill-after-remove", 1);
	rpc_dies(&d, "pci.release", P_INT(9));
	ctl("kill-after-remove", 0);
	ck_assert(!mdev_exists(uuid4));
	restart("--bind vfio");
	ck_assert(mdev_exists(uuid4));
	DEVICE_IS("0000:41:00:4", "9 used ");
	log = klog();
	snprintf(want, sizeof(want), "create 0000:41:00.4 nvidia-559 %s ok\n"
	    "remove %s ok\ncreate 0000:41:00.4 nvidia-559 %s ok\n"
	    "remove %s ok\ncreate 0000:41:00.4 nvidia-559 %s ok\n", uuid4,
	    uuid4, uuid4, uuid4, uuid4);
	ck_assert_str_eq(log, want);
	free(log);
	ck_assert_int_eq(release(9), 1);
	ck_assert(!mdev_exists(uuid4));
}
END_TEST

/* NVIDIA's own sysfs: the type ID into current_vgpu_type, then 0. */
START_TEST(nvidia_make_remove)
{
	char		*log, path[800], *cur;
	const char	*msg;

	start("--bind vfio");
	ck_assert_int_eq(allocate(10, "591 (NVIDIA A10-2B)", NULL, &msg), 0);
	snprintf(path, sizeof(path), "%s/bus/pci/devices/0000:42:00.4/nvidia/"
	    "current_vgpu_type", root);
	cur = read_file(path);
	ck_assert_str_eq(cur, "591\n");
	free(cur);
	/* The 591 took the whole GPU: the other VF offers nothing now. */
	fits("590", 0, "profile 590 not offered");
	ck_assert_int_eq(release(10), 1);
	cur = read_file(path);
	ck_assert_str_eq(cur, "0\n");
	free(cur);
	log = klog();
	ck_assert_str_eq(log, "type 0000:42:00.4 591 ok\n"
	    "type 0000:42:00.4 0 ok\n");
	free(log);
	fits("590", 1, NULL);
}
END_TEST

/* --bind none: the PROFILE is recorded, nothing is written. */
START_TEST(bind_none_writes_nothing)
{
	char		*log;
	const char	*msg;

	start(NULL);
	ck_assert_int_eq(allocate(11, "nvidia-558", NULL, &msg), 0);
	ck_assert_int_eq(release(11), 1);
	log = klog();
	ck_assert_str_eq(log, "");
	free(log);
	ck_assert(!mdev_exists(uuid4));
	DEVICE_IS("0000:41:00:4", "-1 free ");
}
END_TEST

Suite *
vgpu_suite(void)
{
	Suite	*s = suite_create("vgpu");
	TCase	*tc = tcase_create("kernel stand-in");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, legacy_make_remove);
	tcase_add_test(tc, legacy_instances_run_out);
	tcase_add_test(tc, create_refused_mid_call);
	tcase_add_test(tc, remove_refused);
	tcase_add_test(tc, crash_mended);
	tcase_add_test(tc, nvidia_make_remove);
	tcase_add_test(tc, bind_none_writes_nothing);
	suite_add_tcase(s, tc);
	return s;
}
