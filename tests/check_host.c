/*
 * check_host.c: pcipass-host host check and host config
 * (server/hostcheck.c, server/hostconf.c) on fake hosts: every failed
 * requirement with its message, golden configuration files for three
 * fixture trees, and --write (atomic, with a backup).
 *
 * UPDATE_GOLDEN=1 rewrites the golden files from the current output;
 * review the diff before committing it.
 */
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define GOLDEN_DIR	"tests/data/host"
#define ALL_CONFIGS	"host config --modprobe --blacklist --dracut " \
			"--cmdline --qemu-acl"

static struct host_env	env;

static void
teardown(void)
{
	cleanup_dirs();
}

static void
fixture(const char *name, const char *filter)
{
	host_env(&env, tree_fixture(name), filter);
}

static void
assert_line(const char *out, const char *line)
{
	ck_assert_msg(strstr(out, line) != NULL, "no line \"%s\" in:\n%s",
	    line, out);
}

/* x570d4u: AMD, IOMMU on, I210 26:00.0 alone, 2a:00.1 in a shared group. */
#define X570_FILTER ":filter:\n  - '8086:1533'\n  - '1022:149c'\n" \
    "  - '1022:1487'\n:short_address:\n  - '26:00.0'\n  - '2a:00.1'\n" \
    "  - '2e:00.3'\n  - '2e:00.4'\n"

static void
x570(void)
{
	fixture("asrockrack-x570d4u-2l2t-bcm-iommu.txt", X570_FILTER);
	env_file(&env, "proc/cpuinfo", "vendor_id\t: AuthenticAMD\n");
}

START_TEST(check_passes)
{
	char	*out;

	x570();
	env_file(&env, "pci.conf", ":filter: '8086:1533'\n");
	env_file(&env, "sys/module/vfio_pci/refcnt", "0\n");
	ck_assert_int_eq(host_run(&env, "host check", &out, NULL), 0);
	ck_assert_str_eq(out,
	    "ok   IOMMU is active: 29 IOMMU groups\n"
	    "ok   kernel 6.1.0-18-amd64 has driver_override (>= 3.16)\n"
	    "ok   vfio-pci is available\n"
	    "ok   0000:26:00.0 IOMMU group 21 is isolated\n"
	    "ok   0000:27:00.0 IOMMU group 22 is isolated\n");
}
END_TEST

/* --help and --version: to stdout, exit 0, every flag explained. */
START_TEST(help_and_version)
{
	char	*out, *err;

	x570();
	ck_assert_int_eq(host_run(&env, "--help", &out, &err), 0);
	ck_assert_ptr_nonnull(strstr(out, "usage: pcipass-host host check"));
	ck_assert_ptr_nonnull(strstr(out, "\n  --qemu-acl                 "
	    "config: qemu.conf's cgroup_device_acl\n"));
	ck_assert_str_eq(err, "");
	free(out);
	free(err);
	ck_assert_int_eq(host_run(&env, "--version", &out, NULL), 0);
	ck_assert_str_eq(out, "pcipass-host 0.1.0\n");
	free(out);
}
END_TEST

START_TEST(check_group_shared)
{
	char	*out;

	x570();
	ck_assert_int_eq(host_run(&env, "host check", &out, NULL), 1);
	assert_line(out, "\nFAIL vfio-pci is not loaded; fix: modprobe "
	    "vfio-pci, and echo vfio-pci > /etc/modules-load.d/vfio-pci.conf "
	    "to load it at boot\n");
	assert_line(out, "\nFAIL 0000:2a:00.1 IOMMU group 18 is shared with "
	    "0000:2a:00.0 (no driver, not offered), 0000:2a:00.3 (xhci_hcd, "
	    "not offered); fix: offer those endpoints too in the filter, or "
	    "move the card to a slot with its own IOMMU group\n");
	assert_line(out, "\nok   0000:26:00.0 IOMMU group 21 is isolated\n");
	/* Offering the xhci sibling too makes the group usable. */
	env_file(&env, "pci.conf", ":filter: '1022:149c'\n");
	ck_assert_int_eq(host_run(&env, "host check", &out, NULL), 1);
	assert_line(out, "\nok   0000:2a:00.1 IOMMU group 18 is shared with "
	    "0000:2a:00.0 (no driver, not offered), 0000:2a:00.3 (xhci_hcd, "
	    "offered, bound along)\n");
}
END_TEST

/* asus-b250: Intel, IOMMU off. */
START_TEST(check_no_iommu_intel)
{
	char	*out;

	fixture("asus-b250-mining-expert-8x-gtx1060.txt", ":filter: "
	    "'10de:1c03'\n");
	ck_assert_int_eq(host_run(&env, "host check", &out, NULL), 1);
	assert_line(out, "FAIL IOMMU is not active (no IOMMU groups); fix: "
	    "add intel_iommu=on to the kernel command line (pcipass-host "
	    "host config --cmdline), enable VT-d in the firmware setup, "
	    "reboot\n");
	assert_line(out, "\nFAIL 0000:01:00.0 has no IOMMU group; fix: "
	    "activate the IOMMU (see above)\n");
	env_file(&env, "proc/cmdline", "BOOT_IMAGE=/vmlinuz root=/dev/sda1 "
	    "intel_iommu=on\n");
	ck_assert_int_eq(host_run(&env, "host check", &out, NULL), 1);
	assert_line(out, "FAIL IOMMU is not active (no IOMMU groups); fix: "
	    "enable VT-d in the firmware setup (intel_iommu=on is already on "
	    "the kernel command line)\n");
}
END_TEST

START_TEST(check_no_iommu_amd)
{
	char	*out;

	fixture("dell-poweredge-r715-opteron-4numa.txt", ":filter: '*:*'\n");
	env_file(&env, "proc/cpuinfo", "vendor_id\t: AuthenticAMD\n");
	ck_assert_int_eq(host_run(&env, "host check", &out, NULL), 1);
	assert_line(out, "FAIL IOMMU is not active (no IOMMU groups); fix: "
	    "enable the IOMMU (AMD-Vi) in the firmware setup, or add "
	    "amd_iommu=on to the kernel command line, and reboot\n");
	env_file(&env, "proc/cpuinfo", "vendor_id\t: CentaurHauls\n");
	ck_assert_int_eq(host_run(&env, "host check", &out, NULL), 1);
	assert_line(out, "FAIL IOMMU is not active (no IOMMU groups); fix: "
	    "enable the IOMMU in the firmware setup and the kernel, and "
	    "reboot\n");
	/* The firmware's table names the IOMMU, whatever the CPU says (a
	 * real kernel under QEMU: an AMD vendor string, an Intel IOMMU). */
	env_file(&env, "proc/cpuinfo", "vendor_id\t: AuthenticAMD\n");
	env_file(&env, "sys/firmware/acpi/tables/DMAR", "");
	ck_assert_int_eq(host_run(&env, "host check", &out, NULL), 1);
	assert_line(out, "FAIL IOMMU is not active (no IOMMU groups); fix: "
	    "add intel_iommu=on to the kernel command line (pcipass-host "
	    "host config --cmdline), enable VT-d in the firmware setup, "
	    "reboot\n");
	/* A kernel told to leave it off says so first. */
	env_file(&env, "proc/cmdline", "BOOT_IMAGE=/vmlinuz intel_iommu=off "
	    "quiet\n");
	ck_assert_int_eq(host_run(&env, "host check", &out, NULL), 1);
	assert_line(out, "FAIL IOMMU is not active (no IOMMU groups): the "
	    "kernel command line has intel_iommu=off; fix: remove it "
	    "(pcipass-host host config --cmdline), reboot\n");
}
END_TEST

START_TEST(check_kernel)
{
	char	*out, path[800];

	x570();
	env_file(&env, "proc/sys/kernel/osrelease",
	    "3.10.0-1160.el7.x86_64\n");
	ck_assert_int_eq(host_run(&env, "host check", &out, NULL), 1);
	assert_line(out, "\nFAIL kernel 3.10.0-1160.el7.x86_64 is older than "
	    "3.16 and has no driver_override; fix: install and boot a kernel "
	    ">= 3.16\n");
	env_file(&env, "proc/sys/kernel/osrelease", "3.16.0\n");
	ck_assert_int_eq(host_run(&env, "host check", &out, NULL), 1);
	assert_line(out, "\nok   kernel 3.16.0 has driver_override (>= "
	    "3.16)\n");
	env_file(&env, "proc/sys/kernel/osrelease", "garbage\n");
	ck_assert_int_eq(host_run(&env, "host check", &out, NULL), 1);
	assert_line(out, "\nFAIL kernel version \"garbage\" not understood; "
	    "fix: run a kernel >= 3.16 (driver_override)\n");
	snprintf(path, sizeof(path), "%s/sys/kernel/osrelease", env.proc);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(host_run(&env, "host check", &out, NULL), 1);
	assert_line(out, "\nFAIL kernel version unknown (cannot read "
	    "sys/kernel/osrelease); fix: mount /proc\n");
}
END_TEST

START_TEST(check_nothing_offered)
{
	char	*out;

	x570();
	env_file(&env, "pci.conf", ":filter: '0:0'\n");
	ck_assert_int_eq(host_run(&env, "host check", &out, NULL), 1);
	assert_line(out, "\nFAIL the filter offers no device; fix: list the "
	    "devices for VMs in ");
}
END_TEST

START_TEST(check_critical)
{
	char	*out;

	x570();
	env_file(&env, "pci.conf", ":filter: '1a03:2000'\n");
	env_file(&env, "sys/bus/pci/devices/0000:29:00.0/boot_vga", "1\n");
	env_file(&env, "sys/bus/pci/drivers/vfio-pci/bind", "");
	ck_assert_int_eq(host_run(&env, "host check", &out, NULL), 0);
	assert_line(out, "\nok   vfio-pci is loaded\n");
	assert_line(out, "\nok   0000:29:00.0 is host-critical (boot VGA): "
	    "never given to a VM\n");
}
END_TEST

static void
golden(const char *name, const char *out)
{
	char	path[512], *want;

	snprintf(path, sizeof(path), "%s/%s.golden", GOLDEN_DIR, name);
	if (getenv("UPDATE_GOLDEN") != NULL)
		write_file(path, out);
	want = read_file(path);
	ck_assert_msg(want != NULL, "%s missing", path);
	ck_assert_str_eq(out, want);
	free(want);
}

/* Intel, 8 GPUs, no IOMMU, the iGPU offered but the boot VGA. */
START_TEST(golden_asus_mining)
{
	char	*out;

	fixture("asus-b250-mining-expert-8x-gtx1060.txt", ":filter:\n"
	    "  - '10de:*'\n  - '8086:5912'\n");
	env_file(&env, "sys/bus/pci/devices/0000:00:02.0/boot_vga", "1\n");
	ck_assert_int_eq(host_run(&env, ALL_CONFIGS, &out, NULL), 0);
	golden("asus-b250-mining-expert-8x-gtx1060", out);
}
END_TEST

/* AMD; 8086:1533 and 1022:149c shared with devices not offered. */
START_TEST(golden_x570_shared_ids)
{
	char	*out;

	x570();
	ck_assert_int_eq(host_run(&env, ALL_CONFIGS, &out, NULL), 0);
	golden("asrockrack-x570d4u-2l2t-bcm-iommu", out);
}
END_TEST

/* Intel with IOMMU; root on one NVMe, default route on one I226. */
START_TEST(golden_ms01_guarded)
{
	char	*out, cmd[1200];

	fixture("minisforum-ms01-pve-igpu-sriov-5vfs.txt", ":filter:\n"
	    "  - '8086:1572'\n  - '8086:125c'\n  - '8086:125b'\n"
	    "  - '2646:2263'\n  - '144d:a809'\n");
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s/class/block' '%s/bus/pci/"
	    "devices/0000:57:00.0/net/enp87s0' && ln -s ../../devices/"
	    "pci0000:00/0000:00:1d.0/0000:59:00.0/nvme/nvme0/nvme0n1/"
	    "nvme0n1p2 '%s/class/block/nvme0n1p2'", env.sys, env.sys,
	    env.sys);
	ck_assert_int_eq(system(cmd), 0);
	env_file(&env, "proc/mounts", "/dev/nvme0n1p2 / ext4 rw 0 0\n");
	env_file(&env, "proc/net/route", "Iface\tDestination\tGateway\tFlags"
	    "\tRefCnt\tUse\tMetric\tMask\n"
	    "enp87s0\t00000000\t0101A8C0\t0003\t0\t0\t0\t00000000\n");
	ck_assert_int_eq(host_run(&env, ALL_CONFIGS, &out, NULL), 0);
	golden("minisforum-ms01-pve-igpu-sriov-5vfs", out);
}
END_TEST

START_TEST(write_atomic_backup)
{
	char	*out, *err, args[800], path[1000], *s;

	x570();
	snprintf(args, sizeof(args), "host config --modprobe --write "
	    "--etc-root '%s/etc'", env.dir);
	/* Nothing is written without --write. */
	ck_assert_int_eq(host_run(&env, "host config --modprobe", &out, NULL),
	    0);
	snprintf(path, sizeof(path), "%s/etc", env.dir);
	ck_assert_int_ne(access(path, F_OK), 0);
	ck_assert_int_eq(host_run(&env, args, &out, &err), 0);
	snprintf(path, sizeof(path), "%s/etc/modprobe.d/pcipass-vfio.conf",
	    env.dir);
	ck_assert_str_eq(s = read_file(path), out);
	assert_line(err, "wrote ");
	ck_assert_int_eq(host_run(&env, args, NULL, &err), 0);
	assert_line(err, "unchanged");
	write_file(path, "# edited by hand\n");
	ck_assert_int_eq(host_run(&env, args, NULL, &err), 0);
	ck_assert_str_eq(read_file(path), out);
	strcat(path, ".pcipass-old");
	ck_assert_str_eq(read_file(path), "# edited by hand\n");
}
END_TEST

#define QEMU_HEAD "# libvirt\n#cgroup_device_acl = [\n#    \"/dev/null\"\n#]\n"

START_TEST(write_qemu_conf)
{
	char	*out, *err, args[800], path[1000], *s, *acl;

	x570();
	snprintf(args, sizeof(args), "host config --qemu-acl --write "
	    "--etc-root '%s/etc'", env.dir);
	env_file(&env, "etc/libvirt/qemu.conf", QEMU_HEAD
	    "cgroup_device_acl = [ \"/dev/null\", \"/dev/kvm\",\n"
	    "  \"/dev/vfio/3\" ]\nuser = \"oneadmin\"\n");
	ck_assert_int_eq(host_run(&env, args, &out, &err), 0);
	acl = strstr(out, "cgroup_device_acl");
	ck_assert_ptr_nonnull(acl);
	snprintf(path, sizeof(path), "%s/etc/libvirt/qemu.conf", env.dir);
	s = read_file(path);
	/* The commented example stays, the active setting is replaced. */
	ck_assert_msg(strncmp(s, QEMU_HEAD, strlen(QEMU_HEAD)) == 0, "%s", s);
	ck_assert_msg(strncmp(s + strlen(QEMU_HEAD), acl, strlen(acl)) == 0,
	    "%s", s);
	ck_assert_str_eq(s + strlen(QEMU_HEAD) + strlen(acl),
	    "user = \"oneadmin\"\n");
	env_file(&env, "etc/libvirt/qemu.conf", "user = \"oneadmin\"\n");
	/* qemu.conf holds VNC and SPICE passwords: its mode stays 0600. */
	ck_assert_int_eq(chmod(path, 0600), 0);
	ck_assert_int_eq(host_run(&env, args, &out, &err), 0);
	s = read_file(path);
	ck_assert_msg(strncmp(s, "user = \"oneadmin\"\n\n# Added by "
	    "pcipass-host", 40) == 0, "%s", s);
	ck_assert_ptr_nonnull(strstr(s, acl));
	{
		struct stat	st;

		ck_assert_int_eq(stat(path, &st), 0);
		ck_assert_int_eq(st.st_mode & 07777, 0600);
	}
}
END_TEST

START_TEST(usage)
{
	x570();
	ck_assert_int_eq(host_run(&env, "", NULL, NULL), 2);
	ck_assert_int_eq(host_run(&env, "host", NULL, NULL), 2);
	ck_assert_int_eq(host_run(&env, "host config", NULL, NULL), 2);
	ck_assert_int_eq(host_run(&env, "host check --modprobe", NULL, NULL),
	    2);
	ck_assert_int_eq(host_run(&env, "bind", NULL, NULL), 2);
	ck_assert_int_eq(host_run(&env, "frobnicate", NULL, NULL), 2);
	ck_assert_int_eq(host_run(&env, "--bogus host check", NULL, NULL), 2);
}
END_TEST

Suite *
host_suite(void)
{
	Suite	*s = suite_create("host");
	TCase	*tc = tcase_create("host");

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, check_passes);
	tcase_add_test(tc, check_group_shared);
	tcase_add_test(tc, help_and_version);
	tcase_add_test(tc, check_no_iommu_intel);
	tcase_add_test(tc, check_no_iommu_amd);
	tcase_add_test(tc, check_kernel);
	tcase_add_test(tc, check_nothing_offered);
	tcase_add_test(tc, check_critical);
	tcase_add_test(tc, golden_asus_mining);
	tcase_add_test(tc, golden_x570_shared_ids);
	tcase_add_test(tc, golden_ms01_guarded);
	tcase_add_test(tc, write_atomic_backup);
	tcase_add_test(tc, write_qemu_conf);
	tcase_add_test(tc, usage);
	suite_add_tcase(s, tc);
	return s;
}
