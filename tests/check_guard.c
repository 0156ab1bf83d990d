/*
 * check_guard.c: the host-critical guard (server/guard.c) as the scan,
 * the daemon and pcipass-host see it: the root filesystem's controller,
 * the default route's NIC and the boot VGA are listed blocked with REASON
 * "host-critical: ..." and never allocated, whatever the filter offers.
 */
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "pcipassd.h"
#include "harness.h"

static const char dump[] =
    "00:02.0 VGA compatible controller [0300]: Intel Corporation HD "
    "Graphics 630 [8086:5912] (rev 04)\n"
    "\tKernel driver in use: i915\n\tIOMMU group: 0\n"
    "\tX-pcipass-boot-vga: 1\n"
    "00:1f.6 Ethernet controller [0200]: Intel Corporation Ethernet "
    "Connection (2) I219-V [8086:15b8]\n"
    "\tKernel driver in use: e1000e\n\tIOMMU group: 3\n"
    "\tX-pcipass-ifname: eno1\n"
    "01:00.0 VGA compatible controller [0300]: NVIDIA Corporation GP106 "
    "[GeForce GTX 1060 6GB] [10de:1c03] (rev a1)\n"
    "\tKernel driver in use: nouveau\n\tIOMMU group: 1\n"
    "\tX-pcipass-boot-vga: 0\n"
    "02:00.0 Non-Volatile memory controller [0108]: Samsung Electronics "
    "Co Ltd NVMe SSD Controller SM981/PM981/PM983 [144d:a808]\n"
    "\tKernel driver in use: nvme\n\tIOMMU group: 4\n"
    "03:00.0 Ethernet controller [0200]: Intel Corporation I210 Gigabit "
    "Network Connection [8086:1533] (rev 03)\n"
    "\tKernel driver in use: igb\n\tIOMMU group: 5\n"
    "\tX-pcipass-ifname: enp3s0\n";

#define ALL	":filter: '*:*'\n"
#define ROUTE_HDR "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\t" \
		  "Metric\tMask\t\tMTU\tWindow\tIRTT\n"

static struct host_env	env;

static void
setup(const char *filter)
{
	char	link[800], cmd[1200];

	host_env(&env, tree_text(dump), filter);
	/* The kernel's class/block links lead through the controller. */
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s/class/block' '%s/class/net/"
	    "br0/brif/enp3s0'", env.sys, env.sys);
	ck_assert_int_eq(system(cmd), 0);
	snprintf(link, sizeof(link), "%s/class/block/nvme0n1p2", env.sys);
	ck_assert_int_eq(symlink("../../devices/pci0000:00/0000:00:1d.0/"
	    "0000:02:00.0/nvme/nvme0/nvme0n1/nvme0n1p2", link), 0);
}

static void
teardown(void)
{
	cleanup_dirs();
}

/* The scan's verdict: "ADDR critical" per critical device. */
static char *
criticals(void)
{
	struct pp_config	 c = { .sysfs_root = env.sys,
	    .proc_root = env.proc };
	struct pp_inventory	 inv;
	struct pp_filter	*f = filter_load(env.filter, NULL, NULL);
	char			*buf = NULL, a[PP_ADDR_SYSFS_LEN];
	size_t			 len = 0, i;
	FILE			*fp = open_memstream(&buf, &len);

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(inventory_scan(&c, f, &inv), 0);
	for (i = 0; i < inv.ndev; i++)
		if (inv.dev[i].critical[0])
			fprintf(fp, "%s %s\n", addr_fmt(inv.dev[i].addr,
			    ADDR_SYSFS, a, sizeof(a)), inv.dev[i].critical);
	inventory_free(&inv);
	filter_free(f);
	fclose(fp);
	return buf;
}

START_TEST(boot_vga_only)
{
	setup(ALL);
	ck_assert_str_eq(criticals(), "0000:00:02.0 boot VGA\n");
}
END_TEST

START_TEST(root_filesystem)
{
	setup(ALL);
	env_file(&env, "proc/mounts", "sysfs /sys sysfs rw 0 0\n"
	    "/dev/nvme0n1p2 / ext4 rw,relatime 0 0\n"
	    "/dev/sda1 /data ext4 rw 0 0\n");
	ck_assert_str_eq(criticals(), "0000:00:02.0 boot VGA\n"
	    "0000:02:00.0 root filesystem on nvme0n1p2\n");
}
END_TEST

/*
 * In a container (or systemd's sandbox) the daemon's own mounts are not
 * the host's: init's (PROC/1/mounts, PROC/1/net/route) are what count.
 */
START_TEST(host_view_through_init)
{
	setup(ALL);
	env_file(&env, "proc/mounts", "overlay / overlay rw 0 0\n");
	env_file(&env, "proc/1/mounts", "/dev/nvme0n1p2 / ext4 rw 0 0\n");
	env_file(&env, "proc/net/route", ROUTE_HDR);
	env_file(&env, "proc/1/net/route", ROUTE_HDR
	    "eno1\t00000000\t0110A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n");
	ck_assert_str_eq(criticals(), "0000:00:02.0 boot VGA\n"
	    "0000:00:1f.6 default route via eno1\n"
	    "0000:02:00.0 root filesystem on nvme0n1p2\n");
}
END_TEST

/* LVM or dm-crypt: the root is dm-0, built on nvme0n1p3. */
START_TEST(root_on_device_mapper)
{
	char	cmd[1200];

	setup(ALL);
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s/class/block/dm-0/slaves' && "
	    "ln -s ../../devices/pci0000:00/0000:02:00.0/nvme/nvme0/nvme0n1/"
	    "nvme0n1p3 '%s/class/block/nvme0n1p3' && mkdir '%s/class/block/"
	    "dm-0/slaves/nvme0n1p3'", env.sys, env.sys, env.sys);
	ck_assert_int_eq(system(cmd), 0);
	env_file(&env, "proc/mounts", "/dev/dm-0 / ext4 rw 0 0\n");
	ck_assert_str_eq(criticals(), "0000:00:02.0 boot VGA\n"
	    "0000:02:00.0 root filesystem on dm-0\n");
}
END_TEST

START_TEST(default_route)
{
	setup(ALL);
	env_file(&env, "proc/net/route", ROUTE_HDR
	    "eno1\t0010A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
	    "eno1\t00000000\t0110A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n");
	ck_assert_str_eq(criticals(), "0000:00:02.0 boot VGA\n"
	    "0000:00:1f.6 default route via eno1\n");
}
END_TEST

/* A KVM host's default route is usually on a bridge over the NIC. */
START_TEST(default_route_bridge)
{
	setup(ALL);
	env_file(&env, "proc/net/route", ROUTE_HDR
	    "br0\t00000000\t0110A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n");
	ck_assert_str_eq(criticals(), "0000:00:02.0 boot VGA\n"
	    "0000:03:00.0 default route via br0\n");
}
END_TEST

/* virtio-net: the interface sits a level below its PCI function. */
START_TEST(default_route_virtio)
{
	char	link[800];

	setup(ALL);
	snprintf(link, sizeof(link), "%s/class/net/eth0", env.sys);
	ck_assert_int_eq(symlink("../../devices/pci0000:00/0000:03:00.0/"
	    "virtio2/net/eth0", link), 0);
	env_file(&env, "proc/net/route", ROUTE_HDR
	    "eth0\t00000000\t0110A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n");
	ck_assert_str_eq(criticals(), "0000:00:02.0 boot VGA\n"
	    "0000:03:00.0 default route via eth0\n");
}
END_TEST

/* A route that is not the default one guards nothing. */
START_TEST(other_route)
{
	setup(ALL);
	env_file(&env, "proc/net/route", ROUTE_HDR
	    "eno1\t0010A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n");
	ck_assert_str_eq(criticals(), "0000:00:02.0 boot VGA\n");
}
END_TEST

static const char *
alloc_addr(const char *addr)
{
	static char	buf[512];

	snprintf(buf, sizeof(buf), P_INT(5) "<param><value><array><data>"
	    "<value><struct><member><name>ADDRESS</name><value><string>%s"
	    "</string></value></member></struct></value></data></array>"
	    "</value></param>", addr);
	return buf;
}

/* Through the daemon: listed, blocked, host-critical, not allocatable. */
START_TEST(daemon_blocks)
{
	static const char *const crit[][2] = {
		{ "0000:00:02:0", "host-critical: boot VGA" },
		{ "0000:00:1f:6", "host-critical: default route via eno1" },
		{ "0000:02:00:0", "host-critical: root filesystem on "
		    "nvme0n1p2" },
	};
	struct daemon	 d;
	xmlrpc_value	*list, *v;
	char		 extra[800];
	const char	*msg;
	size_t		 i;
	int		 code;

	setup(ALL);
	env_file(&env, "proc/mounts", "/dev/nvme0n1p2 / ext4 rw 0 0\n");
	env_file(&env, "proc/net/route", ROUTE_HDR
	    "eno1\t00000000\t0110A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n");
	snprintf(extra, sizeof(extra), "--proc-root '%s'", env.proc);
	daemon_start(&d, env.sys, ALL, extra);
	ck_assert(rpc_ok(rpc(&d, "pci.list", NULL), &list, &code, NULL));
	for (i = 0; i < sizeof(crit) / sizeof(crit[0]); i++) {
		v = find_addr(list, crit[i][0]);
		ck_assert_ptr_nonnull(v);
		ck_assert_str_eq(field_str(v, "STATE"), "blocked");
		ck_assert_str_eq(field_str(v, "REASON"), crit[i][1]);
		xmlrpc_DECREF(v);
		ck_assert(!rpc_ok(rpc(&d, "pci.allocate",
		    alloc_addr(crit[i][0])), NULL, &code, &msg));
		ck_assert_int_eq(code, 0x4000);
		ck_assert_msg(strstr(msg, crit[i][1]) != NULL, "%s", msg);
		free((char *)msg);
	}
	v = find_addr(list, "0000:01:00:0");
	ck_assert_str_eq(field_str(v, "STATE"), "free");
	xmlrpc_DECREF(v);
	xmlrpc_DECREF(list);
	ck_assert(rpc_ok(rpc(&d, "pci.allocate", alloc_addr("0000:01:00:0")),
	    NULL, &code, NULL));
	daemon_stop(&d);
}
END_TEST

/* Not offered by the filter: not listed at all, guard or not. */
START_TEST(not_offered_not_listed)
{
	struct daemon	 d;
	xmlrpc_value	*list, *v;
	int		 code;

	setup(":filter: '10de:*'\n");
	daemon_start(&d, env.sys, ":filter: '10de:*'\n", NULL);
	ck_assert(rpc_ok(rpc(&d, "pci.list", NULL), &list, &code, NULL));
	ck_assert_ptr_null(v = find_addr(list, "0000:00:02:0"));
	ck_assert_ptr_nonnull(v = find_addr(list, "0000:01:00:0"));
	xmlrpc_DECREF(v);
	xmlrpc_DECREF(list);
	daemon_stop(&d);
}
END_TEST

Suite *
guard_suite(void)
{
	Suite	*s = suite_create("guard");
	TCase	*tc = tcase_create("guard");

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, boot_vga_only);
	tcase_add_test(tc, root_filesystem);
	tcase_add_test(tc, root_on_device_mapper);
	tcase_add_test(tc, host_view_through_init);
	tcase_add_test(tc, default_route);
	tcase_add_test(tc, default_route_bridge);
	tcase_add_test(tc, default_route_virtio);
	tcase_add_test(tc, other_route);
	tcase_add_test(tc, daemon_blocks);
	tcase_add_test(tc, not_offered_not_listed);
	suite_add_tcase(s, tc);
	return s;
}
