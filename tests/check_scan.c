/*
 * check_scan.c: real libpci reading fake sysfs trees (server/scan.c).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pcipassd.h"
#include "harness.h"
#include "trees.h"

static struct pp_device *
find(const struct pp_inventory *inv, const char *addr)
{
	pp_addr			 a;
	struct pp_device	*d;

	ck_assert_int_eq(addr_parse(addr, ADDR_SYSFS, &a), 0);
	d = inventory_find(inv, a);
	ck_assert_msg(d != NULL, "%s not in the scan", addr);
	return d;
}

static size_t
group_size(const struct pp_inventory *inv, int g)
{
	size_t	i, n = 0;

	for (i = 0; i < inv->nmember; i++)
		n += inv->member[i].group == g;
	return n;
}

/* Run a scan with the log captured; returns the log text. */
static char *
scan_logged(const char *root, struct pp_inventory *inv, int *rc)
{
	char	*buf = NULL;
	size_t	 len = 0;
	FILE	*fp = open_memstream(&buf, &len);

	log_to(fp);
	*rc = scan_inventory(root, inv);
	log_to(NULL);
	fclose(fp);
	return buf;
}

START_TEST(sriov_pf_with_vfs)
{
	struct pp_inventory	 inv;
	struct pp_device	*pf, *vf, *x710;
	size_t			 i;

	ck_assert_int_eq(scan_inventory(tree_fixture(
	    "minisforum-ms01-pve-igpu-sriov-5vfs.txt"), &inv), 0);
	ck_assert_uint_eq(inv.ndev, 33);
	for (i = 1; i < inv.ndev; i++)
		ck_assert(inv.dev[i - 1].addr < inv.dev[i].addr);
	pf = find(&inv, "0000:00:02.0");
	ck_assert_int_eq(pf->sriov, SRIOV_PF);
	ck_assert_int_eq(pf->sriov_num, 5);
	ck_assert_int_eq(pf->sriov_total, 7);
	ck_assert_str_eq(pf->driver, "i915");
	ck_assert_uint_eq(pf->vendor, 0x8086);
	ck_assert_uint_eq(pf->device, 0x4626);
	ck_assert_uint_eq(pf->class, 0x0300);
	ck_assert_int_eq(pf->header, 0);
	ck_assert_int_eq(pf->iommu, 0);
	vf = find(&inv, "0000:00:02.3");
	ck_assert_int_eq(vf->sriov, SRIOV_VF);
	ck_assert_uint_eq(vf->physfn, pf->addr);
	ck_assert_int_eq(vf->iommu, 24);
	x710 = find(&inv, "0000:02:00.0");
	ck_assert_int_eq(x710->sriov, SRIOV_PF);
	ck_assert_int_eq(x710->sriov_num, 0);
	ck_assert_int_eq(x710->sriov_total, 64);
	ck_assert_str_eq(x710->driver, "vfio-pci");
	ck_assert_str_eq(x710->vendor_name, "Intel Corporation");
	ck_assert_int_eq(find(&inv, "0000:00:06.0")->header, 1);
	ck_assert_uint_eq(group_size(&inv, 14), 3);
	ck_assert_uint_eq(group_size(&inv, 6), 3);
	inventory_free(&inv);
}
END_TEST

/*
 * The kernel gives every VF of a PF its PF's vendor and VF device id and
 * the class and subsystem ids of the PF's first VF (pci_iov_add_virtfn(),
 * pci_read_vf_config_common()); the scan reads them once per PF, from
 * the first VF. A tree no kernel makes (a later VF's files changed) shows
 * that the later VFs' files are not read, and the first VF's are.
 */
START_TEST(later_vfs_take_the_first_vfs_ids)
{
	struct pp_inventory	 inv;
	struct pp_device	*vf1, *vf;
	const char		*root = tree_fixture(
	    "minisforum-ms01-pve-igpu-sriov-5vfs.txt");
	char			 cmd[1024];
	int			 i;

	snprintf(cmd, sizeof(cmd), "cd '%s/bus/pci/devices' && "
	    "echo zz > 0000:00:02.3/vendor && echo 0x120000 > 0000:00:02.4/class "
	    "&& echo 0x1043 > 0000:00:02.1/subsystem_vendor", root);
	ck_assert_int_eq(system(cmd), 0);
	ck_assert_int_eq(scan_inventory(root, &inv), 0);
	ck_assert_uint_eq(inv.ndev, 33);
	vf1 = find(&inv, "0000:00:02.1");
	ck_assert_int_eq(vf1->sriov, SRIOV_VF);
	ck_assert_uint_eq(vf1->subvendor, 0x1043);
	for (i = 2; i <= 5; i++) {
		snprintf(cmd, sizeof(cmd), "0000:00:02.%d", i);
		vf = find(&inv, cmd);
		ck_assert_int_eq(vf->sriov, SRIOV_VF);
		ck_assert_uint_eq(vf->vendor, 0x8086);
		ck_assert_uint_eq(vf->device, 0x4626);
		ck_assert_uint_eq(vf->class, 0x0300);
		ck_assert_uint_eq(vf->subvendor, 0x1043);
		ck_assert_uint_eq(vf->subdevice, vf1->subdevice);
		ck_assert_int_eq(vf->header, 0);
		ck_assert_ptr_eq(vf->device_name, vf1->device_name);
		ck_assert_int_eq(vf->iommu, 21 + i);
	}
	inventory_free(&inv);
}
END_TEST

/*
 * A record owns its extra (server/extra.c): a copied inventory has its
 * own, a record without one reads as empty, and a release's tidy gives
 * an emptied one back.
 */
START_TEST(device_extra_owned)
{
	struct pp_inventory	 inv = { 0 }, cp;
	struct pp_device	 dev[2] = { { .addr = 1 }, { .addr = 2 } };
	struct pp_extra		*x;

	inv.dev = calloc(2, sizeof(*inv.dev));
	ck_assert_ptr_nonnull(inv.dev);
	memcpy(inv.dev, dev, sizeof(dev));
	inv.ndev = 2;
	ck_assert_ptr_null(inv.dev[0].extra);
	ck_assert_str_eq(dev_extra(&inv.dev[0])->profile, "");
	ck_assert_int_eq(dev_extra(&inv.dev[0])->nic.nic, 0);
	ck_assert_ptr_nonnull(x = dev_extra_w(&inv.dev[1]));
	snprintf(x->profile, sizeof(x->profile), "nvidia-558");
	x->nic.nic = 1;
	snprintf(x->nic.mac, sizeof(x->nic.mac), "02:00:00:00:00:01");
	ck_assert_ptr_eq(dev_extra_w(&inv.dev[1]), x);

	ck_assert_int_eq(inventory_copy(&cp, &inv), 0);
	ck_assert_ptr_null(cp.dev[0].extra);
	ck_assert_ptr_nonnull(cp.dev[1].extra);
	ck_assert_ptr_ne(cp.dev[1].extra, x);
	ck_assert_str_eq(dev_extra(&cp.dev[1])->profile, "nvidia-558");
	ck_assert_str_eq(dev_extra(&cp.dev[1])->nic.mac, "02:00:00:00:00:01");
	cp.dev[1].extra->profile[0] = '\0';
	ck_assert_str_eq(x->profile, "nvidia-558");

	/* Not empty yet: the NIC is still there. */
	dev_extra_tidy(&cp.dev[1]);
	ck_assert_ptr_nonnull(cp.dev[1].extra);
	memset(&cp.dev[1].extra->nic, 0, sizeof(cp.dev[1].extra->nic));
	dev_extra_tidy(&cp.dev[1]);
	ck_assert_ptr_null(cp.dev[1].extra);
	ck_assert_str_eq(dev_extra(&cp.dev[1])->nic.mac, "");
	inventory_free(&cp);
	inventory_free(&inv);
	ck_assert_ptr_null(inv.dev);
}
END_TEST

/*
 * Catalog strings are one copy per process (server/intern.c): equal text,
 * one pointer, whatever buffer it came from; "" and NULL are pp_empty.
 */
START_TEST(catalog_strings_interned)
{
	struct pp_inventory	 inv;
	char			 buf[32];
	const char		*v;

	snprintf(buf, sizeof(buf), "vfio-pci");
	v = intern(buf);
	buf[0] = 'X';
	ck_assert_str_eq(v, "vfio-pci");
	ck_assert_ptr_eq(intern("vfio-pci"), v);
	ck_assert_ptr_ne(intern("vfio-pcie"), v);
	ck_assert_ptr_eq(intern(""), pp_empty);
	ck_assert_ptr_eq(intern(NULL), pp_empty);
	ck_assert_int_eq(scan_inventory(tree_fixture(
	    "minisforum-ms01-pve-igpu-sriov-5vfs.txt"), &inv), 0);
	/* Both X710 functions: one vendor name, one driver string. */
	ck_assert_ptr_eq(find(&inv, "0000:02:00.0")->vendor_name,
	    find(&inv, "0000:02:00.1")->vendor_name);
	ck_assert_ptr_eq(find(&inv, "0000:02:00.0")->driver, v);
	ck_assert_ptr_eq(find(&inv, "0000:00:02.0")->profiles, pp_empty);
	inventory_free(&inv);
}
END_TEST

START_TEST(numa_nodes_and_subsystems)
{
	struct pp_inventory	 inv;
	struct pp_device	*d;
	size_t			 i, per[4] = { 0 };

	ck_assert_int_eq(scan_inventory(tree_fixture(
	    "dell-poweredge-r715-opteron-4numa.txt"), &inv), 0);
	ck_assert_uint_eq(inv.ndev, 62);
	for (i = 0; i < inv.ndev; i++) {
		ck_assert(inv.dev[i].numa >= 0 && inv.dev[i].numa <= 3);
		per[inv.dev[i].numa]++;
		ck_assert_int_eq(inv.dev[i].iommu, -1);
	}
	ck_assert_uint_eq(per[0], 34);
	ck_assert_uint_eq(per[1], 6);
	ck_assert_uint_eq(per[2], 16);
	ck_assert_uint_eq(per[3], 6);
	ck_assert_uint_eq(inv.nmember, 0);
	d = find(&inv, "0000:01:00.0");
	ck_assert_uint_eq(d->vendor, 0x14e4);
	ck_assert_uint_eq(d->device, 0x1639);
	ck_assert_uint_eq(d->subvendor, 0x1028);
	ck_assert_str_eq(d->driver, "bnx2");
	inventory_free(&inv);
}
END_TEST

START_TEST(pci_domains)
{
	struct pp_inventory	 inv;
	struct pp_device	*d;

	ck_assert_int_eq(scan_inventory(tree_fixture(
	    "adlink-ampere-altra-devkit-2gpu-domains.txt"), &inv), 0);
	ck_assert_uint_eq(inv.ndev, 27);
	d = find(&inv, "000c:01:00.0");
	ck_assert_uint_eq(PP_DOMAIN(d->addr), 0x000c);
	ck_assert_uint_eq(d->device, 0x27b0);
	ck_assert_str_eq(d->driver, "nvidia");
	ck_assert_int_eq(d->numa, 0);
	ck_assert(d->iommu >= 0);
	inventory_free(&inv);
}
END_TEST

static const char broken[] =
    "00:01.0 PCI bridge [0604]: Intel Corporation Device [8086:1901]\n"
    "\tX-pcipass-omit: config\n"
    "\tIOMMU group: 1\n"
    "00:02.0 VGA compatible controller [0300]: Intel Corporation "
    "Device [8086:3e92]\n"
    "\tX-pcipass-omit: revision,subsystem_vendor,subsystem_device,"
    "numa_node,irq,resource,driver_override\n"
    "\tX-pcipass-boot-vga: 1\n"
    "\tIOMMU group: 2\n"
    "01:00.0 Ethernet controller [0200]: Intel Corporation I210 "
    "[8086:1533]\n"
    "\tX-pcipass-raw: class=garbage\n"
    "\tIOMMU group: 3\n"
    "02:00.0 Ethernet controller [0200]: Intel Corporation I210 "
    "[8086:1533]\n"
    "\tX-pcipass-omit: vendor\n"
    "03:00.0 Ethernet controller [0200]: Intel Corporation I210 "
    "[8086:1533]\n"
    "\tKernel driver in use: igb\n"
    "\tX-pcipass-ifname: eno2, eno1\n"
    "\tNUMA node: 1\n"
    "\tIOMMU group: 4\n";

START_TEST(broken_entries_reported_scan_goes_on)
{
	struct pp_inventory	 inv;
	const char		*root = tree_text(broken);
	char			 path[700], *log;
	int			 rc;

	snprintf(path, sizeof(path), "%s/bus/pci/devices/junk", root);
	write_file(path, "not a device\n");
	/* A driver name that is not UTF-8 and has a control character. */
	snprintf(path, sizeof(path), "%s/bus/pci/devices/0000:03:00.0/driver",
	    root);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(symlink("../../drivers/ig\xff\x01" "b\xc3\xa9", path),
	    0);
	log = scan_logged(root, &inv, &rc);
	ck_assert_int_eq(rc, 0);
	ck_assert_uint_eq(inv.ndev, 3);
	/* No config: a bridge by its class. */
	ck_assert_int_eq(find(&inv, "0000:00:01.0")->header, 1);
	ck_assert_int_eq(find(&inv, "0000:00:02.0")->header, 0);
	ck_assert_int_eq(find(&inv, "0000:00:02.0")->numa, -1);
	ck_assert_int_eq(find(&inv, "0000:00:02.0")->boot_vga, 1);
	/* Two interfaces, neither a "p<N>" port: none, as OpenNebula. */
	ck_assert_str_eq(find(&inv, "0000:03:00.0")->ifname, "");
	ck_assert_str_eq(find(&inv, "0000:03:00.0")->driver, "ig??b\xc3\xa9");
	ck_assert_int_eq(find(&inv, "0000:03:00.0")->numa, 1);
	ck_assert_ptr_nonnull(strstr(log, "devices/junk: not a PCI address "
	    "in the kernel's form (DDDD:BB:SS.F), skipped"));
	ck_assert_ptr_nonnull(strstr(log, "0000:01:00.0/class: \"garbage\" "
	    "is not a hex id, skipped"));
	ck_assert_ptr_nonnull(strstr(log, "0000:02:00.0: no vendor file, "
	    "skipped"));
	free(log);
	inventory_free(&inv);
}
END_TEST

/*
 * fuzz_scan found two entries, 0000:41:00.0 and 0000000:41:00.0, that
 * parse to one address: the inventory held it twice. Only the kernel's
 * own spelling of a name is taken (fuzz/corpus/scan/noncanonical_domain
 * is that input).
 */
START_TEST(noncanonical_names_skipped)
{
	struct pp_inventory	 inv;
	const char		*root = tree_text(broken);
	static const char *const alias[] = { "0000000:03:00.0",
	    "00000:03:00.0", "0000:0A:00.0", "0000:03:00.0 ", "000:03:00.0" };
	char			 cmd[1600], *log, *want;
	size_t			 i;
	int			 rc;

	for (i = 0; i < sizeof(alias) / sizeof(alias[0]); i++) {
		snprintf(cmd, sizeof(cmd), "cp -r '%s/bus/pci/devices/0000:03:"
		    "00.0' '%s/bus/pci/devices/%s' && ln -s ../../../../bus/"
		    "pci/devices/%s '%s/kernel/iommu_groups/4/devices/%s'",
		    root, root, alias[i], alias[i], root, alias[i]);
		ck_assert_int_eq(system(cmd), 0);
	}
	log = scan_logged(root, &inv, &rc);
	ck_assert_int_eq(rc, 0);
	ck_assert_uint_eq(inv.ndev, 3);
	ck_assert_int_eq(find(&inv, "0000:03:00.0")->numa, 1);
	ck_assert_uint_eq(group_size(&inv, 4), 1);
	for (i = 0; i < sizeof(alias) / sizeof(alias[0]); i++) {
		ck_assert(asprintf(&want, "devices/%s: not a PCI address in "
		    "the kernel's form (DDDD:BB:SS.F), skipped", alias[i]) > 0);
		ck_assert_msg(strstr(log, want) != NULL, "no \"%s\" in %s",
		    want, log);
		free(want);
		ck_assert(asprintf(&want, "iommu_groups/4/devices/%s: not a "
		    "PCI address in the kernel's form", alias[i]) > 0);
		ck_assert_msg(strstr(log, want) != NULL, "no \"%s\" in %s",
		    want, log);
		free(want);
	}
	free(log);
	inventory_free(&inv);
}
END_TEST

/*
 * IFNAME as OpenNebula's probe picks it: the one interface; of several
 * (a switchdev PF and its representors), the one whose phys_port_name is
 * "p<N>"; else none.
 */
START_TEST(ifname_as_opennebula)
{
	struct pp_inventory	 inv;
	const char		*root = tree_text(broken);
	char			 path[700];

	snprintf(path, sizeof(path), "%s/bus/pci/devices/0000:03:00.0/net/"
	    "eno1/phys_port_name", root);
	write_file(path, "pf0vf0\n");
	snprintf(path, sizeof(path), "%s/bus/pci/devices/0000:03:00.0/net/"
	    "eno2/phys_port_name", root);
	write_file(path, "p1\n");
	ck_assert_int_eq(scan_inventory(root, &inv), 0);
	ck_assert_str_eq(find(&inv, "0000:03:00.0")->ifname, "eno2");
	inventory_free(&inv);
	write_file(path, "p1x\n");
	ck_assert_int_eq(scan_inventory(root, &inv), 0);
	ck_assert_str_eq(find(&inv, "0000:03:00.0")->ifname, "");
	inventory_free(&inv);
	snprintf(path, sizeof(path), "rm -r '%s/bus/pci/devices/0000:03:00.0/"
	    "net/eno1'", root);
	ck_assert_int_eq(system(path), 0);
	ck_assert_int_eq(scan_inventory(root, &inv), 0);
	ck_assert_str_eq(find(&inv, "0000:03:00.0")->ifname, "eno2");
	inventory_free(&inv);
}
END_TEST

START_TEST(missing_root_fails_cleanly)
{
	struct pp_inventory	 inv;
	char			*log;
	int			 rc;

	log = scan_logged("/nonexistent/pcipass", &inv, &rc);
	ck_assert_int_eq(rc, -1);
	ck_assert_ptr_nonnull(strstr(log, "/nonexistent/pcipass/bus/pci/"
	    "devices: No such file or directory"));
	free(log);
}
END_TEST

/*
 * pcipassd --probe next to OpenNebula's probe (tests/one_probe.py, a model
 * of pci.rb over the same tree with the real lspci), byte for byte but
 * for pcipass's own keys and the devices it leaves out
 * (tests/one_compare.py): every fixture, the synthetic trees, and the
 * filter's keys.
 */
START_TEST(probe_is_opennebulas)
{
	static const struct { const char *tree, *golden, *opts; } t[] = {
	    { "nvidia", "nvidia", "--filter '*:*'" },
	    { "nvidia", "nvidia-8086", "--filter '*:*' --nvidia-vendor 8086" },
	    { "odd", "odd", "--filter '*:*'" },
	    { "odd", "odd-short", "--filter '*:*' --short-address "
		"10000:e1:00.0 --short-address 03:00.0" },
	    { "odd", "odd-name", "--filter '*:*' --device-name '^device$'" },
	    { "lenovo", "lenovo-names", "--filter '*:*' --device-name "
		"'RTX\\s\\d+' --device-name '(?:USB|SATA)'" },
	    { "lenovo", "lenovo-ids", "--filter '10de:*,1022:*:0c03'" },
	};
	const char	*dir = scratch_dir(), *tree;
	char		 cmd[4096], path[700], *out;
	size_t		 i;
	int		 rc;

	for (i = 0; i < nfixtures; i++) {
		snprintf(cmd, sizeof(cmd), "python3 '%s/tests/one_compare.py' "
		    "'%s' '%s' '%s' --golden '%s/tests/golden/%.*s.probe' "
		    "--filter '*:*' > '%s/cmp' 2>&1", getenv("SRCDIR"),
		    getenv("PCIPASSD"), tree_fixture(fixture_names[i]), dir,
		    getenv("SRCDIR"), (int)(strlen(fixture_names[i]) - 4),
		    fixture_names[i], dir);
		rc = system(cmd);
		snprintf(path, sizeof(path), "%s/cmp", dir);
		out = read_file(path);
		ck_assert_msg(rc == 0, "%s:\n%s", fixture_names[i], out);
		free(out);
	}
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (strcmp(t[i].tree, "nvidia") == 0)
			tree = tree_nvidia_vgpu();
		else if (strcmp(t[i].tree, "lenovo") == 0)
			tree = tree_fixture("lenovo-legion5-15ach6-rtx3050ti-"
			    "iommu.txt");
		else {
			tree = tree_text(ODD_TREE);
			snprintf(path, sizeof(path), "%s/bus/pci/devices/0000:"
			    "03:00.0/net/enp3s0f0np0/phys_port_name", tree);
			write_file(path, "p0\n");
		}
		snprintf(cmd, sizeof(cmd), "python3 '%s/tests/one_compare.py' "
		    "'%s' '%s' '%s' --golden '%s/tests/golden/%s.probe' %s > "
		    "'%s/cmp' 2>&1", getenv("SRCDIR"), getenv("PCIPASSD"), tree,
		    dir, getenv("SRCDIR"), t[i].golden, t[i].opts, dir);
		rc = system(cmd);
		snprintf(path, sizeof(path), "%s/cmp", dir);
		out = read_file(path);
		ck_assert_msg(rc == 0, "%s %s:\n%s", t[i].tree, t[i].opts, out);
		ck_assert_msg(strstr(out, ": 0 devices") == NULL, "%s %s: %s",
		    t[i].tree, t[i].opts, out);
		free(out);
	}
}
END_TEST

/* Every fixture: --probe agrees with the dump (tests/probe_check.py). */
START_TEST(probe_matches_every_fixture)
{
	const char	*dir = scratch_dir(), *fxdir = getenv("FIXTURES");
	char		 conf[600], cmd[4096];
	size_t		 i;

	snprintf(conf, sizeof(conf), "%s/all.conf", dir);
	write_file(conf, ":filter: '*:*'\n");
	for (i = 0; i < nfixtures; i++) {
		snprintf(cmd, sizeof(cmd), "%s --probe -v --sysfs-root '%s' "
		    "--proc-root /nonexistent --filter '%s' > '%s/probe.txt' "
		    "2> '%s/probe.log' && python3 %s/tests/probe_check.py "
		    "'%s/%s' '%s/probe.txt' '%s/probe.log' >/dev/null",
		    getenv("PCIPASSD"), tree_fixture(fixture_names[i]), conf,
		    dir, dir, getenv("SRCDIR"), fxdir, fixture_names[i], dir,
		    dir);
		ck_assert_msg(system(cmd) == 0, "probe of %s differs from "
		    "the dump", fixture_names[i]);
	}
}
END_TEST

/* The converter itself: lspci reads its trees as the dumps say. */
START_TEST(converter_agrees_with_lspci)
{
	const char	*dir = scratch_dir();
	char		 cmd[2048], path[600], *log;
	int		 rc;

	snprintf(cmd, sizeof(cmd), "cd '%s' && FIXTURES='%s' sh "
	    "tests/check_trees.sh > '%s/trees.log' 2>&1 && python3 "
	    "tests/test_dump_tools.py >> '%s/trees.log' 2>&1",
	    getenv("SRCDIR"), getenv("FIXTURES"), dir, dir);
	rc = system(cmd);
	snprintf(path, sizeof(path), "%s/trees.log", dir);
	log = read_file(path);
	ck_assert_msg(rc == 0, "converter checks failed:\n%s", log);
	ck_assert_ptr_nonnull(strstr(log, "9 passed, 0 failed"));
	free(log);
}
END_TEST

static void
teardown(void)
{
	cleanup_dirs();
}

Suite *
scan_suite(void)
{
	Suite	*s = suite_create("scan");
	TCase	*tc = tcase_create("libpci");

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, sriov_pf_with_vfs);
	tcase_add_test(tc, later_vfs_take_the_first_vfs_ids);
	tcase_add_test(tc, device_extra_owned);
	tcase_add_test(tc, catalog_strings_interned);
	tcase_add_test(tc, numa_nodes_and_subsystems);
	tcase_add_test(tc, pci_domains);
	tcase_add_test(tc, broken_entries_reported_scan_goes_on);
	tcase_add_test(tc, noncanonical_names_skipped);
	tcase_add_test(tc, ifname_as_opennebula);
	tcase_add_test(tc, missing_root_fails_cleanly);
	tcase_add_test(tc, probe_matches_every_fixture);
	tcase_add_test(tc, probe_is_opennebulas);
	tcase_add_test(tc, converter_agrees_with_lspci);
	suite_add_tcase(s, tc);
	return s;
}
