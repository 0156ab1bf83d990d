/*
 * check_cli.c: golden output of build/pcipass ($PCIPASS) against a real
 * daemon: tables, JSON (read back with json-c), hostdev XML, templates,
 * exit codes 0/1/2, and the pcipass-host hand-off.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "harness.h"
#include "trees.h"

#define TREE \
"01:00.0 3D controller [0302]: NVIDIA Corporation GV100GL [10de:1db4] (rev a1)\n" \
"\tIOMMU group: 2\n\tNUMA node: 0\n\n" \
"02:00.0 Ethernet controller [0200]: Intel Corporation 82574L [8086:10d3]\n" \
"\tIOMMU group: 4\n"

static struct daemon	 d;
static char		 dir[300], out[2][400];
static char		*sout, *serr;

static void
setup(void)
{
	char	path[400];

	daemon_start(&d, tree_text(TREE), ":filter: '*:*'\n", NULL);
	snprintf(dir, sizeof(dir), "%s", scratch_dir());
	snprintf(path, sizeof(path), "%s/auth", dir);
	write_file(path, SESSION "\n");
	ck_assert_int_eq(chmod(path, 0600), 0);
	snprintf(out[0], sizeof(out[0]), "%s/stdout", dir);
	snprintf(out[1], sizeof(out[1]), "%s/stderr", dir);
}

static void
teardown(void)
{
	free(sout);
	free(serr);
	sout = serr = NULL;
	daemon_stop(&d);
	cleanup_dirs();
}

/* Run pcipass ARGS against the daemon; exit code, sout and serr. */
static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
run(const char *fmt, ...)
{
	const char	*bin = getenv("PCIPASS");
	char		 args[2048], cmd[4096];
	va_list		 ap;
	int		 st;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof(cmd), "PCIPASS_AUTH='%s/auth' "
	    "PCIPASS_ENDPOINT=%s:%d %s %s >'%s' 2>'%s'", dir, d.host, d.port,
	    bin ? bin : "build/pcipass", args, out[0], out[1]);
	st = system(cmd);
	free(sout);
	free(serr);
	sout = read_file(out[0]);
	serr = read_file(out[1]);
	ck_assert(WIFEXITED(st));
	return WEXITSTATUS(st);
}

static const char *
tmpl(const char *name, const char *text)
{
	static char	path[400];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	write_file(path, text);
	return path;
}

START_TEST(t_table)
{
	ck_assert_int_eq(run("list"), 0);
	ck_assert_str_eq(sout, "PCI DEVICES\n\n"
	    "   VM ADDR    TYPE           NAME\n"
	    "      01:00.0 10de:1db4:0302 NVIDIA Corporation GV100GL [Tesla "
	    "V100 PCIe 16GB]\n"
	    "      02:00.0 8086:10d3:0200 82574L Gigabit Network Connection\n");
	ck_assert_int_eq(run("allocate 12 --pci CLASS=0302"), 0);
	ck_assert_int_eq(run("list --columns numa,IOMMU,STATE"), 0);
	ck_assert_str_eq(sout, "PCI DEVICES\n\n"
	    "   VM ADDR    TYPE           NUMA IOMMU STATE NAME\n"
	    "   12 01:00.0 10de:1db4:0302 0    2     used  "
	    "NVIDIA Corporation GV100GL [Tesla V100 PCIe 16GB]\n"
	    "      02:00.0 8086:10d3:0200 -1   4     free  "
	    "82574L Gigabit Network Connection\n");
	ck_assert_int_eq(run("vm 12"), 0);
	ck_assert_str_eq(sout, "PCI DEVICES\n\n"
	    "   VM ADDR    TYPE           NAME\n"
	    "   12 01:00.0 10de:1db4:0302 NVIDIA Corporation GV100GL [Tesla "
	    "V100 PCIe 16GB]\n");
	ck_assert_int_eq(run("hostdev 12"), 0);
	ck_assert_str_eq(sout, "<hostdev mode='subsystem' type='pci' "
	    "managed='yes'>\n  <source>\n    <address domain='0x0000' "
	    "bus='0x01' slot='0x00' function='0x0'/>\n  </source>\n"
	    "</hostdev>\n");
	ck_assert_int_eq(run("list --xml"), 0);
	ck_assert_ptr_nonnull(strstr(sout, "<VMID><![CDATA[12]]></VMID>"));
	ck_assert_int_eq(run("release 12"), 0);
	ck_assert_str_eq(sout, "VM 12: 1 device(s) released\n");
}
END_TEST

START_TEST(t_json)
{
	json_object	*root, *o, *arr, *dev, *v;

	ck_assert_int_eq(run("allocate 3 --pci TYPE=NIC,VENDOR=8086,"
	    "MAC=02:00:00:00:00:09"), 0);
	ck_assert_int_eq(run("list --json"), 0);
	root = json_tokener_parse(sout);
	ck_assert_ptr_nonnull(root);
	ck_assert(json_object_object_get_ex(root, "HOST_SHARE", &o));
	ck_assert(json_object_object_get_ex(o, "PCI_DEVICES", &o));
	ck_assert(json_object_object_get_ex(o, "PCI", &arr));
	ck_assert_int_eq((int)json_object_array_length(arr), 2);
	dev = json_object_array_get_idx(arr, 1);
	json_object_object_foreach(dev, key, val) {
		(void)key;
		ck_assert(json_object_is_type(val, json_type_string));
	}
	ck_assert(json_object_object_get_ex(dev, "VMID", &v));
	ck_assert_str_eq(json_object_get_string(v), "3");
	ck_assert(json_object_object_get_ex(dev, "MAC", &v));
	ck_assert_str_eq(json_object_get_string(v), "02:00:00:00:00:09");
	ck_assert(json_object_object_get_ex(dev, "SHORT_ADDRESS", &v));
	ck_assert_str_eq(json_object_get_string(v), "02:00.0");
	/* Unknown values as oned's host data has them (Sunstone reads it). */
	ck_assert(json_object_object_get_ex(dev, "NUMA_NODE", &v));
	ck_assert_str_eq(json_object_get_string(v), "-");
	ck_assert(json_object_object_get_ex(dev, "IFNAME", &v));
	ck_assert_str_eq(json_object_get_string(v), "-");
	ck_assert(json_object_object_get_ex(dev, "PHYSFN", &v));
	ck_assert_str_eq(json_object_get_string(v), "-");
	ck_assert(json_object_object_get_ex(dev, "DRIVER", &v));
	ck_assert_str_eq(json_object_get_string(v), "-");
	dev = json_object_array_get_idx(arr, 0);
	ck_assert(json_object_object_get_ex(dev, "VMID", &v));
	ck_assert_str_eq(json_object_get_string(v), "-1");
	ck_assert(json_object_object_get_ex(dev, "NUMA_NODE", &v));
	ck_assert_str_eq(json_object_get_string(v), "0");
	ck_assert(json_object_object_get_ex(dev, "IOMMU_GROUP", &v));
	ck_assert_str_eq(json_object_get_string(v), "2");
	json_object_put(root);
}
END_TEST

/*
 * Intel VMD puts the NVMe behind it in PCI domain 10000, in the VMD's
 * IOMMU group. DOMAIN keeps all five digits in every output, and the
 * hostdev names that device, not 0000:e1:00.0. (In tests/trees.h's
 * ODD_TREE the VMD endpoint is bound to vfio-pci so that the group can
 * be given to a VM.)
 */
START_TEST(t_vmd_domain)
{
	json_object	*root, *o, *dev, *v;
	char		 cmd[2048];

	daemon_stop(&d);
	daemon_start(&d, tree_text(ODD_TREE), ":filter: '144d:*'\n", NULL);
	ck_assert_int_eq(run("allocate 5 --pci ADDRESS=10000:e1:00:0"), 0);
	ck_assert_int_eq(run("hostdev 5"), 0);
	ck_assert_str_eq(sout, "<hostdev mode='subsystem' type='pci' "
	    "managed='yes'>\n  <source>\n    <address domain='0x10000' "
	    "bus='0xe1' slot='0x00' function='0x0'/>\n  </source>\n"
	    "</hostdev>\n");
	ck_assert_int_eq(run("list --json"), 0);
	ck_assert_ptr_nonnull(root = json_tokener_parse(sout));
	ck_assert(json_object_object_get_ex(root, "HOST_SHARE", &o));
	ck_assert(json_object_object_get_ex(o, "PCI_DEVICES", &o));
	ck_assert(json_object_object_get_ex(o, "PCI", &o));
	ck_assert_int_eq((int)json_object_array_length(o), 1);
	dev = json_object_array_get_idx(o, 0);
	ck_assert(json_object_object_get_ex(dev, "ADDRESS", &v));
	ck_assert_str_eq(json_object_get_string(v), "10000:e1:00:0");
	ck_assert(json_object_object_get_ex(dev, "DOMAIN", &v));
	ck_assert_str_eq(json_object_get_string(v), "10000");
	json_object_put(root);
	ck_assert_int_eq(run("list --xml"), 0);
	ck_assert_ptr_nonnull(strstr(sout, "<DOMAIN><![CDATA[10000]]>"
	    "</DOMAIN>"));
	snprintf(cmd, sizeof(cmd), "'%s' --probe --sysfs-root '%s' --filter "
	    "'%s/pci.conf' --proc-root '%s/proc' > '%s'", getenv("PCIPASSD"),
	    d.sysfs, d.dir, d.dir, out[0]);
	ck_assert_int_eq(system(cmd), 0);
	free(sout);
	sout = read_file(out[0]);
	ck_assert_ptr_nonnull(strstr(sout, " ADDRESS = \"10000:e1:00:0\" ,\n"
	    " SHORT_ADDRESS = "));
	ck_assert_ptr_nonnull(strstr(sout, " DOMAIN = \"10000\" ,\n BUS = "
	    "\"e1\" ,\n"));
	ck_assert_int_eq(run("detach 5 10000:e1:00.0"), 0);
	ck_assert_int_eq(run("attach 5 --pci ADDRESS=10000:E1:00.0"), 0);
	ck_assert_int_eq(run("allocate 6 --pci ADDRESS=100000000:e1:00.0"),
	    2);
	ck_assert_ptr_nonnull(strstr(serr, "ADDRESS \"100000000:e1:00.0\": "
	    "expected DDDD:BB:SS.F or DDDD:BB:SS:F"));
}
END_TEST

START_TEST(t_template)
{
	const char	*t;

	t = tmpl("ok.tmpl", "NAME = \"a\"\n# GPU and NIC\n"
	    "PCI = [ VENDOR = \"10de\", CLASS = \"0302\" ]\n"
	    "PCI = [\n  VENDOR = \"8086\",\n  TYPE = \"NIC\" ]\n");
	ck_assert_int_eq(run("allocate 20 --template '%s'", t), 0);
	ck_assert_ptr_nonnull(strstr(sout, "   20 01:00.0 "));
	ck_assert_ptr_nonnull(strstr(sout, "   20 02:00.0 "));
	t = tmpl("bad.tmpl", "CPU = 1\n\nPCI = [ VENDOR = \"10de\",\n"
	    "  CLASS = \"03020\" ]\n");
	ck_assert_int_eq(run("allocate 21 --template '%s'", t), 2);
	ck_assert_ptr_nonnull(strstr(serr, "bad.tmpl:4: CLASS \"03020\": "
	    "expected 1 to 4 hex digits"));
	t = tmpl("open.tmpl", "PCI = [ VENDOR = \"10de\"\n");
	ck_assert_int_eq(run("test --template '%s'", t), 2);
	ck_assert_ptr_nonnull(strstr(serr, "open.tmpl:2: "));
	/* The seed's own PCI NIC template, taken as written. */
	ck_assert_int_eq(run("release 20"), 0);
	t = tmpl("nic.tmpl", "PCI = [ NETWORK = \"passthrough\", NETWORK_UNAME "
	    "= \"oneadmin\", TYPE = \"NIC\", CLASS = \"0200\", DEVICE = "
	    "\"10d3\", VENDOR = \"8086\" ]\n");
	ck_assert_int_eq(run("test --template '%s'", t), 0);
	ck_assert_str_eq(sout, "FITS yes\nFREE 1\n");
	t = tmpl("typo.tmpl", "PCI = [ VENDRO = \"8086\", TYPE = \"NIC\" ]\n");
	ck_assert_int_eq(run("test --template '%s'", t), 2);
	ck_assert_ptr_nonnull(strstr(serr, "typo.tmpl:1: unknown field "
	    "\"VENDRO\""));
	ck_assert_int_eq(run("allocate 21 --template %s/none.tmpl", dir), 2);
	ck_assert_int_eq(run("allocate 21 --template '%s' --pci CLASS=0302",
	    t), 2);
}
END_TEST

START_TEST(t_exit_codes)
{
	ck_assert_int_eq(run("version"), 0);
	ck_assert_str_eq(sout, "pcipass 0.1.0\n");
	ck_assert_int_eq(run("allocate 1 --pci VENDOR=dead"), 1);
	ck_assert_ptr_nonnull(strstr(serr, "[pci.allocate] request 0 "
	    "(VENDOR=dead)"));
	ck_assert_int_eq(run("detach 1 0000:01:00.0"), 1);
	ck_assert_ptr_nonnull(strstr(serr, "[pci.detach]"));
	ck_assert_int_eq(run("test --pci VENDOR=dead"), 1);
	ck_assert_ptr_nonnull(strstr(sout, "FITS no\nFREE 0\nREASON "));
	ck_assert_int_eq(run("test --pci VENDOR=10de"), 0);
	ck_assert_str_eq(sout, "FITS yes\nFREE 1\n");
	ck_assert_int_eq(run("list -H 127.0.0.1:1"), 1);
	ck_assert_int_eq(run("allocate 1 --pci CLAS=0302"), 2);
	ck_assert_ptr_nonnull(strstr(serr, "unknown field \"CLAS\""));
	ck_assert_int_eq(run("allocate x --pci CLASS=0302"), 2);
	ck_assert_int_eq(run("allocate 1"), 2);
	ck_assert_int_eq(run("release"), 2);
	ck_assert_int_eq(run("list --bogus"), 2);
	ck_assert_int_eq(run("frobnicate"), 2);
	ck_assert_int_eq(run("list --columns SIZE"), 2);
	ck_assert_int_eq(run("place 1 --pci CLASS=0302"), 2);
	ck_assert_int_eq(run("monitor"), 0);
	ck_assert_str_eq(sout, "ADDED 0\nREMOVED 0\nCHANGED 0\n");
	ck_assert_int_eq(run("help"), 0);
	ck_assert_ptr_nonnull(strstr(sout, "  place     VMID -H h1"));
	ck_assert_ptr_nonnull(strstr(sout, "  hostdev   VMID"));
	/* --help anywhere: exit 0, to stdout, options explained. */
	ck_assert_int_eq(run("--help"), 0);
	ck_assert_ptr_nonnull(strstr(sout, "usage: pcipass COMMAND"));
	ck_assert_ptr_nonnull(strstr(sout, "\n  --template FILE            the "
	    "PCI = [ ... ] blocks"));
	ck_assert_int_eq(run("list --help"), 0);
	ck_assert_ptr_nonnull(strstr(sout, "usage: pcipass list [-H "
	    "host:port] [--json|--xml]"));
	ck_assert_ptr_nonnull(strstr(sout, "\n  --json                     list: "
	    "the JSON Sunstone reads; tree: the hierarchy as JSON\n"));
	ck_assert_str_eq(serr, "");
	ck_assert_int_eq(run("--version"), 0);
	ck_assert_str_eq(sout, "pcipass 0.1.0\n");
}
END_TEST

START_TEST(t_place)
{
	char	ep[64];

	snprintf(ep, sizeof(ep), "%s:%d", d.host, d.port);
	ck_assert_int_eq(run("place 30 -H 127.0.0.1:1 -H %s --pci CLASS=0302 "
	    "--policy most-free --deadline 2000", ep), 0);
	ck_assert_ptr_nonnull(strstr(sout, "HOST "));
	ck_assert_ptr_nonnull(strstr(sout, ep));
	ck_assert_ptr_nonnull(strstr(sout, "   30 01:00.0 10de:1db4:0302"));
	ck_assert_int_eq(run("place 31 -H 127.0.0.1:1 -H %s --pci CLASS=0302",
	    ep), 1);
	/* The message starts the output, as API.md gives it. */
	ck_assert_int_eq(strncmp(serr, "Cannot dispatch VM 31: "
	    "Unavailable PCI devices on hosts: 127.0.0.1:1,", 69), 0);
	ck_assert_ptr_nonnull(strstr(serr, "\n127.0.0.1:1: connection "
	    "refused\n"));
}
END_TEST

/*
 * Reconcile from the frontend: oned's `onehost list -x` (tests/data/one/
 * host-pool.xml) against two real daemons and one host that is down.
 * host-a (d): VM 5 holds 01:00.0 as oned says, 02:00.0 is free here but
 * VM 6's in oned. host-b: VM 9 holds 01:00.0, which oned has free.
 */
START_TEST(t_reconcile)
{
	struct daemon	 b;
	char		 pool[600], map[300], *before_a, *before_b;
	const char	*one = "host-b (127.0.0.1:%d): 1 differ\n";
	char		 line[200];

	snprintf(pool, sizeof(pool), "%s/tests/data/one/host-pool.xml",
	    getenv("SRCDIR"));
	daemon_start(&b, tree_text(TREE), ":filter: '*:*'\n", NULL);
	ck_assert_int_eq(run("allocate 5 --pci ADDRESS=0000:01:00:0"), 0);
	ck_assert_int_eq(run("allocate 9 --pci ADDRESS=0000:01:00:0 "
	    "-H 127.0.0.1:%d", b.port), 0);
	snprintf(map, sizeof(map), "-H host-a=%s:%d -H host-b=%s:%d "
	    "-H host-c=127.0.0.1:1", d.host, d.port, b.host, b.port);
	before_a = list_summary(&d);
	before_b = list_summary(&b);
	/* Without --apply: reported, exit 1, nothing changed. */
	ck_assert_int_eq(run("reconcile --as-of 2000000000 %s '%s'", map,
	    pool), 1);
	snprintf(line, sizeof(line), one, b.port);
	ck_assert_msg(strstr(sout, line) != NULL, "%s", sout);
	ck_assert_msg(strstr(sout, "\n  MISSING  none         6 0000:02:00:0 "
	    "free here; the rules let VM 6 take it\n") != NULL, "%s", sout);
	ck_assert_msg(strstr(sout, "\n  LEAKED   none         9 0000:01:00:0 "
	    "not in the frontend's view; taken at ") != NULL, "%s", sout);
	ck_assert_msg(strstr(sout, "HOST host-c (127.0.0.1:1): error: "
	    "connection refused\n") != NULL, "%s", sout);
	ck_assert_str_eq(list_summary(&d), before_a);
	ck_assert_str_eq(list_summary(&b), before_b);
	/* A view read before host-b's holding was taken: it is recent and
	 * stays; host-a's missing device is taken. */
	ck_assert_int_eq(run("reconcile --as-of 1 --apply %s '%s'", map,
	    pool), 1);
	ck_assert_msg(strstr(sout, "\n  RECENT   none         9 0000:01:00:0 "
	    "not in the frontend's view; taken at ") != NULL, "%s", sout);
	ck_assert_msg(strstr(sout, "  MISSING  taken        6 0000:02:00:0")
	    != NULL, "%s", sout);
	ck_assert_str_eq(list_summary(&b), before_b);
	/* A later view: the leak is released. */
	ck_assert_int_eq(run("reconcile --as-of 2000000000 --apply %s '%s'",
	    map, pool), 1);		/* host-c is still down */
	ck_assert_msg(strstr(sout, "  LEAKED   released     9 0000:01:00:0")
	    != NULL, "%s", sout);
	ck_assert_msg(strstr(list_summary(&d), "0000:02:00:0 6 used\n") !=
	    NULL, "%s", list_summary(&d));
	ck_assert_msg(strstr(list_summary(&b), "0000:01:00:0 -1 free\n") !=
	    NULL, "%s", list_summary(&b));
	/* In step now; host-c alone keeps the exit at 1, then 0 without it
	 * (one HOST, as `onehost show -x` writes it, on standard input). */
	ck_assert_int_eq(run("reconcile --as-of 2000000000 %s '%s'", map,
	    pool), 1);
	ck_assert_msg(strstr(sout, "HOST host-a (127.0.0.1:") != NULL &&
	    strstr(sout, "): in step\n") != NULL, "%s", sout);
	ck_assert_int_eq(run("reconcile -H host-a=%s:%d - < '%s'", d.host,
	    d.port, tmpl("host-a.xml", "<HOST><ID>0</ID><NAME>host-a</NAME>"
	    "<HOST_SHARE><PCI_DEVICES><PCI><ADDRESS><![CDATA[0000:01:00:0]]>"
	    "</ADDRESS><VMID><![CDATA[5]]></VMID></PCI><PCI><ADDRESS><![CDATA["
	    "0000:02:00:0]]></ADDRESS><VMID><![CDATA[6]]></VMID></PCI>"
	    "</PCI_DEVICES></HOST_SHARE></HOST>")), 0);
	snprintf(line, sizeof(line), "HOST host-a (%s:%d): in step\n", d.host,
	    d.port);
	ck_assert_str_eq(sout, line);
	/* Bad input: usage, nothing sent. */
	ck_assert_int_eq(run("reconcile -H host-a=%s:%d '%s'", d.host, d.port,
	    tmpl("bad.xml", "<HOST><NAME>host-a</NAME><HOST_SHARE>"
	    "<PCI_DEVICES><PCI><ADDRESS>0000:01:00:0</ADDRESS><VMID>five"
	    "</VMID></PCI></PCI_DEVICES></HOST_SHARE></HOST>")), 2);
	ck_assert_msg(strstr(serr, "bad.xml: host host-a: PCI 0000:01:00:0: "
	    "VMID \"five\" is not -1 or a VM id") != NULL, "%s", serr);
	ck_assert_int_eq(run("reconcile '%s'", tmpl("vm.xml",
	    "<VM><ID>1</ID></VM>")), 2);
	ck_assert_msg(strstr(serr, "expected <HOST_POOL> (onehost list -x) or "
	    "<HOST> (onehost show -x), found <VM>") != NULL, "%s", serr);
	ck_assert_int_eq(run("reconcile '%s'", tmpl("cut.xml",
	    "<HOST_POOL><HOST>")), 2);
	ck_assert_msg(strstr(serr, "cut.xml:1: not XML: ") != NULL, "%s",
	    serr);
	ck_assert_int_eq(run("reconcile -H host-z=127.0.0.1:1 '%s'", pool), 2);
	ck_assert_msg(strstr(serr, "no host host-z in the view") != NULL, "%s",
	    serr);
	ck_assert_int_eq(run("reconcile --as-of yesterday '%s'", pool), 2);
	ck_assert_int_eq(run("list --apply"), 2);
	daemon_stop(&b);
}
END_TEST

/*
 * The IM probe drop-in (dist/opennebula/im/pci.rb) as monitord runs it:
 * with the daemon up it prints pci.probe, held devices included; with
 * none it prints `pcipassd --probe` and says so on stderr. The pcipassd it
 * finds is a two-line wrapper giving the test tree's --sysfs-root and
 * --filter, as /sys and /etc/pcipass/pci.conf are on a host.
 */
START_TEST(t_im_probe)
{
	char	bin[400], path[500], cmd[2000], *want, *cold;
	FILE	*f;
	int	st;

	snprintf(bin, sizeof(bin), "%s/bin", dir);
	ck_assert_int_eq(mkdir(bin, 0755), 0);
	snprintf(path, sizeof(path), "%s/pcipassd", bin);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "#!/bin/sh\nexec '%s' --sysfs-root '%s' --filter "
	    "'%s/pci.conf' \"$@\"\n", getenv("PCIPASSD"), d.sysfs, d.dir);
	fclose(f);
	ck_assert_int_eq(chmod(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/pcipass", bin);
	ck_assert_int_eq(symlink(getenv("PCIPASS"), path), 0);
	/* pcipass-probe is built beside pcipass. */
	snprintf(cmd, sizeof(cmd), "ln -s \"$(dirname '%s')/pcipass-probe\" "
	    "'%s/pcipass-probe'", getenv("PCIPASS"), bin);
	ck_assert_int_eq(system(cmd), 0);
	ck_assert_int_eq(run("allocate 7 --pci ADDRESS=0000:02:00:0"), 0);
	/* The daemon's pci.probe, straight over XML-RPC. */
	{
		xmlrpc_value	*v;
		xmlrpc_env	 env;
		const char	*txt;
		int		 code;

		xmlrpc_env_init(&env);
		ck_assert(rpc_ok(rpc(&d, "pci.probe", NULL), &v, &code,
		    NULL));
		xmlrpc_read_string(&env, v, &txt);
		want = strdup(txt);
		free((char *)txt);
		xmlrpc_DECREF(v);
		xmlrpc_env_clean(&env);
	}
	ck_assert_msg(strstr(want, "ADDRESS = \"0000:02:00:0\" ") != NULL,
	    "%s", want);
	snprintf(cmd, sizeof(cmd), "PCIPASS_BIN='%s' PCIPASS_AUTH='%s/auth' "
	    "PCIPASS_ENDPOINT=%s:%d '%s/dist/opennebula/im/pci.rb' >'%s' "
	    "2>'%s'", bin, dir, d.host, d.port, getenv("SRCDIR"), out[0],
	    out[1]);
	st = system(cmd);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	ck_assert_str_eq(read_file(out[0]), want);
	ck_assert_str_eq(read_file(out[1]), "");
	/* No daemon: the cold probe, which lists every offered device as
	 * free (it knows no holdings), and a word on stderr. */
	snprintf(cmd, sizeof(cmd), "'%s/pcipassd' --probe > '%s/cold'", bin,
	    dir);
	ck_assert_int_eq(system(cmd), 0);
	snprintf(path, sizeof(path), "%s/cold", dir);
	cold = read_file(path);
	ck_assert_msg(strstr(cold, "ADDRESS = \"0000:02:00:0\" ") != NULL,
	    "%s", cold);
	snprintf(cmd, sizeof(cmd), "PCIPASS_BIN='%s' PCIPASS_AUTH='%s/auth' "
	    "PCIPASS_ENDPOINT=127.0.0.1:1 '%s/dist/opennebula/im/pci.rb' "
	    ">'%s' 2>'%s'", bin, dir, getenv("SRCDIR"), out[0], out[1]);
	st = system(cmd);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	ck_assert_str_eq(read_file(out[0]), cold);
	ck_assert_str_eq(read_file(out[1]), "pcipass-probe: pci.probe: no "
	    "pcipassd answers at 127.0.0.1:1 (connection refused): is it "
	    "running, and listening there?\npcipass: printing pcipassd "
	    "--probe instead, which knows no holdings\n");
	free(want);
	free(cold);
}
END_TEST

/* An empty list says why it is most likely empty (stderr; stdout stays
 * the table). */
START_TEST(t_empty_list)
{
	daemon_stop(&d);
	daemon_start(&d, tree_text(TREE), "# nothing offered\n", NULL);
	ck_assert_int_eq(run("list"), 0);
	ck_assert_str_eq(sout, "PCI DEVICES\n\n   VM ADDR    TYPE           "
	    "NAME\n");
	ck_assert_str_eq(serr, "pcipass: no device listed: the daemon's "
	    "pci.conf offers none (passthrough is opt-in, see pci.conf(5)), "
	    "and no VM holds one\n");
}
END_TEST

/*
 * pcipass tree draws what lspci -t draws: on every fixture, each line's
 * drawing (the line less pcipass's columns; the "why:" lines left out)
 * is the system's lspci -t over the same sysfs tree, line for line.
 */
START_TEST(t_tree_is_lspci)
{
	char		 cmd[2048], path[400], *want, *p, *line, *save;
	const char	*col;
	size_t		 i, w, at;

	for (i = 0; i < nfixtures; i++) {
		daemon_stop(&d);
		daemon_start(&d, tree_fixture(fixture_names[i]),
		    ":filter: '*:*'\n", NULL);
		ck_assert_int_eq(run("tree"), 0);
		snprintf(path, sizeof(path), "%s/lspci", dir);
		snprintf(cmd, sizeof(cmd), "lspci -t -A linux-sysfs -O "
		    "sysfs.path='%s/bus/pci' >'%s'", d.sysfs, path);
		ck_assert_int_eq(system(cmd), 0);
		want = read_file(path);
		ck_assert_ptr_nonnull(col = strstr(sout, "  GROUP DRIVER"));
		w = (size_t)(col - sout);
		ck_assert_int_ge(w, 4);
		at = 0;
		for (line = strtok_r(strchr(sout, '\n') + 1, "\n", &save);
		    line != NULL; line = strtok_r(NULL, "\n", &save)) {
			if (strlen(line) > w + 39 &&
			    strncmp(line + w + 39, "why: ", 5) == 0)
				continue;
			if (strlen(line) > w)
				line[w] = '\0';
			for (p = line + strlen(line); p > line && p[-1] == ' ';)
				*--p = '\0';
			ck_assert_msg(strncmp(want + at, line, strlen(line)) ==
			    0 && want[at + strlen(line)] == '\n',
			    "%s: pcipass tree drew \"%s\", lspci -t \"%.*s\"",
			    fixture_names[i], line, (int)strcspn(want + at,
			    "\n"), want + at);
			at += strlen(line) + 1;
		}
		ck_assert_msg(want[at] == '\0', "%s: lspci -t has more: %s",
		    fixture_names[i], want + at);
		free(want);
	}
}
END_TEST

/* The drawing with pcipass's columns, against tests/golden/NAME.tree
 * (UPDATE_GOLDEN=1 writes it). */
static void
tree_golden(const char *name)
{
	char	path[600], *want;

	ck_assert_int_eq(run("tree"), 0);
	snprintf(path, sizeof(path), "%s/tests/golden/%s.tree",
	    getenv("SRCDIR"), name);
	if (getenv("UPDATE_GOLDEN") != NULL)
		write_file(path, sout);
	want = read_file(path);
	ck_assert_str_eq(sout, want);
	free(want);
}

/* In path, the chain of ADDRESSes from a root bus down to addr in the
 * --json tree. */
static int
json_path(json_object *buses, const char *addr, char *path, size_t len)
{
	json_object	*bus, *devs, *dev, *v, *sub;
	size_t		 i, j, n = strlen(path);

	for (i = 0; i < json_object_array_length(buses); i++) {
		bus = json_object_array_get_idx(buses, i);
		ck_assert(json_object_object_get_ex(bus, "DEVICES", &devs));
		for (j = 0; j < json_object_array_length(devs); j++) {
			dev = json_object_array_get_idx(devs, j);
			ck_assert(json_object_object_get_ex(dev, "ADDRESS",
			    &v));
			snprintf(path + n, len - n, "%s%s", n ? " " : "",
			    json_object_get_string(v));
			if (strcmp(json_object_get_string(v), addr) == 0)
				return 1;
			if (json_object_object_get_ex(dev, "BUSES", &sub) &&
			    json_path(sub, addr, path, len))
				return 1;
			path[n] = '\0';
		}
	}
	return 0;
}

/*
 * The fixtures the closing note shows. The laptop: its GPU offered alone
 * is blocked by its audio function on snd_hda_intel; both offered, VM 7
 * holds them. The EPYC server (its dump has the IOMMU off): every
 * offered device blocked for want of a group, and the GPU and its audio
 * behind two levels of a PMC-Sierra switch, found there in --json too.
 */
START_TEST(t_tree_golden)
{
	const char	*laptop = "lenovo-legion5-15ach6-rtx3050ti-iommu.txt";
	json_object	*j, *t;
	char		 chain[512] = "";

	daemon_stop(&d);
	daemon_start(&d, tree_fixture(laptop), ":filter: '10de:25e2'\n", NULL);
	tree_golden("lenovo-legion5");
	ck_assert_ptr_nonnull(strstr(sout, "NVIDIA Corporation Device 2291\n"));
	daemon_stop(&d);
	daemon_start(&d, tree_fixture(laptop), ":filter: '10de:*'\n", NULL);
	ck_assert_int_eq(run("allocate 7 --pci ADDRESS=0000:01:00.0 "
	    "--pci ADDRESS=0000:01:00.1"), 0);
	tree_golden("lenovo-legion5-held");
	daemon_stop(&d);
	daemon_start(&d, tree_fixture("gigabyte-g292-z20-epyc-cx4lx-i350.txt"),
	    ":filter: '10de:*,15b3:1015,8086:1521'\n", NULL);
	tree_golden("gigabyte-g292");
	ck_assert_int_eq(run("tree --json"), 0);
	ck_assert_ptr_nonnull(j = json_tokener_parse(sout));
	ck_assert(json_object_object_get_ex(j, "PCI_TREE", &t));
	ck_assert(json_path(t, "0000:c4:00:1", chain, sizeof(chain)));
	ck_assert_str_eq(chain, "0000:c0:01:1 0000:c1:00:0 0000:c2:01:0 "
	    "0000:c4:00:1");
	json_object_put(j);
	ck_assert_int_eq(run("tree --xml"), 2);
}
END_TEST

/* A daemon that is not there: our message, saying where we looked. */
START_TEST(t_daemon_down)
{
	ck_assert_int_eq(run("version -H 127.0.0.1:1"), 1);
	ck_assert_str_eq(serr, "pcipass: pci.version: no pcipassd answers at "
	    "127.0.0.1:1 (connection refused): is it running, and listening "
	    "there?\n");
}
END_TEST

/*
 * Credentials: pcipass-session copies a user's line of the daemon's auth
 * file into that user's ~/.pcipass/auth, readable by that user alone;
 * the CLI refuses a session file others can read. (The test's user is
 * whoever runs it, with a home of its own.)
 */
START_TEST(t_session)
{
	char	auth[500], home[500], cmd[2000], path[600], user[64];
	struct stat	st;
	FILE	*p;

	p = popen("id -un", "r");
	ck_assert_ptr_nonnull(fgets(user, sizeof(user), p));
	pclose(p);
	user[strcspn(user, "\n")] = '\0';
	snprintf(auth, sizeof(auth), "%s/daemon-auth", dir);
	snprintf(cmd, sizeof(cmd), "%s:s3cret\nreader:r:ro\n", user);
	write_file(auth, cmd);
	snprintf(home, sizeof(home), "%s/home", dir);
	ck_assert_int_eq(mkdir(home, 0755), 0);
	snprintf(cmd, sizeof(cmd), "'%s/dist/opennebula/pcipass-session' "
	    "-u '%s' -a '%s' -d '%s' >'%s' 2>'%s'", getenv("SRCDIR"), user,
	    auth, home, out[0], out[1]);
	ck_assert_int_eq(system(cmd), 0);
	snprintf(path, sizeof(path), "%s/.pcipass/auth", home);
	snprintf(cmd, sizeof(cmd), "%s:s3cret\n", user);
	ck_assert_str_eq(read_file(path), cmd);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	snprintf(path, sizeof(path), "%s/.pcipass", home);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0700);
	/* A read-only user, a user the file lacks: refused, said why. */
	snprintf(cmd, sizeof(cmd), "'%s/dist/opennebula/pcipass-session' "
	    "-u '%s' -a '%s' -d '%s' 2>'%s'", getenv("SRCDIR"), user,
	    "/nonexistent/auth", home, out[1]);
	ck_assert_int_eq(WEXITSTATUS(system(cmd)), 1);
	ck_assert_msg(strstr(read_file(out[1]), "/nonexistent/auth: cannot "
	    "read it") != NULL, "%s", read_file(out[1]));
	write_file(auth, "reader:r:ro\n");
	snprintf(cmd, sizeof(cmd), "'%s/dist/opennebula/pcipass-session' "
	    "-u '%s' -a '%s' -d '%s' 2>'%s'", getenv("SRCDIR"), user, auth,
	    home, out[1]);
	ck_assert_int_eq(WEXITSTATUS(system(cmd)), 1);
	ck_assert_msg(strstr(read_file(out[1]), "has no line for") != NULL,
	    "%s", read_file(out[1]));
	snprintf(path, sizeof(path), "%s:s3cret:ro\n", user);
	write_file(auth, path);
	ck_assert_int_eq(WEXITSTATUS(system(cmd)), 1);
	ck_assert_msg(strstr(read_file(out[1]), "is read-only in") != NULL,
	    "%s", read_file(out[1]));
	/* A link planted where the directory goes is refused, not followed. */
	snprintf(path, sizeof(path), "%s:s3cret\n", user);
	write_file(auth, path);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s/.pcipass' && mkdir '%s/elsewhere'"
	    " && ln -s '%s/elsewhere' '%s/.pcipass'", home, dir, dir, home);
	ck_assert_int_eq(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "'%s/dist/opennebula/pcipass-session' "
	    "-u '%s' -a '%s' -d '%s' 2>'%s'", getenv("SRCDIR"), user, auth,
	    home, out[1]);
	ck_assert_int_eq(WEXITSTATUS(system(cmd)), 1);
	ck_assert_msg(strstr(read_file(out[1]), "/.pcipass is a symbolic "
	    "link; remove it") != NULL, "%s", read_file(out[1]));
	snprintf(path, sizeof(path), "%s/elsewhere/auth", dir);
	ck_assert_ptr_null(read_file(path));
	/* The CLI will not use a session others can read. */
	snprintf(path, sizeof(path), "%s/auth", dir);
	ck_assert_int_eq(chmod(path, 0644), 0);
	ck_assert_int_eq(run("version"), 1);
	ck_assert_msg(strstr(serr, "/auth: mode 0644 lets others read the "
	    "secret; chmod 600 it") != NULL, "%s", serr);
	ck_assert_int_eq(chmod(path, 0600), 0);
	ck_assert_int_eq(run("version"), 0);
}
END_TEST

/*
 * make install-opennebula on remotes shaped as OpenNebula installs them:
 * host/system/pci.rb an executable symlink into node-probes.d. Ours
 * takes its place and it is kept where monitord runs nothing (it runs
 * every executable file of host/system), still pointing at the same
 * probe; on a host without pcipassd ours runs it. Uninstall puts it back.
 */
START_TEST(t_install_opennebula)
{
	char		 cmd[2000], rem[600], sys[700], c[2100], *s;
	struct stat	 st;

	snprintf(rem, sizeof(rem), "%s/root/remotes/im", dir);
	snprintf(sys, sizeof(sys), "%s/kvm-probes.d/host/system", rem);
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s' '%s/node-probes.d' && "
	    "printf '#!/bin/sh\\necho OpenNebula probe \"$@\"\\n' > "
	    "'%s/node-probes.d/pci.rb' && chmod 755 '%s/node-probes.d/pci.rb'"
	    " && ln -s ../../../node-probes.d/pci.rb '%s/pci.rb' && "
	    "printf '#!/bin/sh\\n' > '%s/cpu.sh' && chmod 755 '%s/cpu.sh'",
	    sys, rem, rem, rem, sys, sys, sys);
	ck_assert_int_eq(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "make -s -C '%s' DESTDIR='%s/root' "
	    "ONE_REMOTES=/remotes %%s >/dev/null", getenv("SRCDIR"), dir);
	for (int i = 0; i < 2; i++) {	/* twice: the original stays kept */
		snprintf(c, sizeof(c), cmd, "install-opennebula");
		ck_assert_int_eq(system(c), 0);
	}
	snprintf(c, sizeof(c), "%s/pci.rb", sys);
	ck_assert_int_eq(lstat(c, &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	s = read_file(c);
	ck_assert_msg(strstr(s, "pcipass's drop-in") != NULL, "%s", s);
	/* The executables monitord runs in host/system: ours and cpu.sh. */
	snprintf(c, sizeof(c), "cd '%s' && for f in *; do [ -f \"$f\" ] && "
	    "[ -x \"$f\" ] && echo \"$f\"; done > '%s/x.txt'", sys, dir);
	ck_assert_int_eq(system(c), 0);
	snprintf(c, sizeof(c), "%s/x.txt", dir);
	ck_assert_str_eq(read_file(c), "cpu.sh\npci.rb\n");
	/* Kept, and still OpenNebula's probe. */
	snprintf(c, sizeof(c), "'%s/kvm-probes.d/pcipass-orig/pci.rb' a b > "
	    "'%s/x.txt'", rem, dir);
	ck_assert_int_eq(system(c), 0);
	snprintf(c, sizeof(c), "%s/x.txt", dir);
	ck_assert_str_eq(read_file(c), "OpenNebula probe a b\n");
	/* A host without pcipassd: ours runs it (PATH without pcipassd). */
	snprintf(c, sizeof(c), "PATH=/bin:/usr/bin PCIPASS_BIN= '%s/pci.rb' x "
	    "> '%s/x.txt'", sys, dir);
	ck_assert_int_eq(system(c), 0);
	snprintf(c, sizeof(c), "%s/x.txt", dir);
	ck_assert_str_eq(read_file(c), "OpenNebula probe x\n");
	snprintf(c, sizeof(c), cmd, "uninstall-opennebula");
	ck_assert_int_eq(system(c), 0);
	snprintf(c, sizeof(c), "%s/pci.rb", sys);
	ck_assert_int_eq(lstat(c, &st), 0);
	ck_assert(S_ISLNK(st.st_mode));
	{
		char	t[300];
		ssize_t	n = readlink(c, t, sizeof(t) - 1);

		ck_assert_int_gt(n, 0);
		t[n] = '\0';
		ck_assert_str_eq(t, "../../../node-probes.d/pci.rb");
	}
	snprintf(c, sizeof(c), "%s/kvm-probes.d/pcipass-orig", rem);
	ck_assert_int_ne(lstat(c, &st), 0);
	snprintf(c, sizeof(c), "%s/root/remotes/vmm/kvm-pcipass", dir);
	ck_assert_int_ne(lstat(c, &st), 0);
}
END_TEST

/*
 * vGPUs in the CLI, both layouts (tests/trees.h's A10, its VFs made
 * vGPUs by a helper playing the kernel's part): a PROFILE request, the
 * PROFILES column, and <hostdev> as OpenNebula's KVM driver writes it.
 */
START_TEST(t_vgpu)
{
	daemon_stop(&d);
	daemon_start(&d, tree_nvidia_vgpu(), ":filter: '10de:*'\n", NULL);
	ck_assert_int_eq(run("allocate 60 --pci VENDOR=10de,PROFILE=nvidia-558"),
	    0);
	ck_assert_int_eq(run("allocate 61 --pci 'VENDOR=10de,DEVICE=2236,"
	    "PROFILE=590 (NVIDIA A10-1B)'"), 0);
	ck_assert_int_eq(run("hostdev 60"), 0);
	/* uuidgen --sha1 --namespace @x500 --name 0000:01:00:4 */
	ck_assert_str_eq(sout, "<hostdev mode='subsystem' type='mdev' "
	    "model='vfio-pci'>\n  <source>\n    <address "
	    "uuid='256922f2-5d4a-5e52-96d0-eb405f6ae637'/>\n  </source>\n"
	    "</hostdev>\n");
	ck_assert_int_eq(run("hostdev 61"), 0);
	ck_assert_str_eq(sout, "<hostdev mode='subsystem' type='pci' "
	    "managed='no'>\n  <source>\n    <address domain='0x0000' "
	    "bus='0x01' slot='0x00' function='0x5'/>\n  </source>\n"
	    "</hostdev>\n");
	ck_assert_int_eq(run("list --columns PROFILES"), 0);
	ck_assert_msg(strstr(sout, "\n   61 01:00.5 10de:2236:0302 590 (NVIDIA "
	    "A10-1B),591 (NVIDIA A10-2B) ") != NULL, "%s", sout);
	ck_assert_msg(strstr(sout, "nvidia-558,nvidia-559,nvidia-560,") != NULL,
	    "%s", sout);
	ck_assert_int_eq(run("test --pci VENDOR=10de,PROFILE=nvidia-559"), 1);
	ck_assert_msg(strstr(sout, "no instance of profile nvidia-559 left") !=
	    NULL, "%s%s", sout, serr);
	ck_assert_int_eq(run("allocate 62 --pci VENDOR=10de,PROFILE="), 2);
	ck_assert_msg(strstr(serr, "PROFILE: empty") != NULL, "%s", serr);
}
END_TEST

/* host/bind/unbind exec pcipass-host from pcipass's own directory. */
START_TEST(t_host)
{
	const char	*bin = getenv("PCIPASS");
	char		 cmd[2048], path[400];

	snprintf(cmd, sizeof(cmd), "cp '%s' '%s/pcipass'", bin ? bin :
	    "build/pcipass", dir);
	ck_assert_int_eq(system(cmd), 0);
	snprintf(path, sizeof(path), "%s/pcipass-host", dir);
	write_file(path, "#!/bin/sh\necho \"pcipass-host $*\"\nexit 3\n");
	chmod(path, 0755);
	snprintf(cmd, sizeof(cmd), "%s/pcipass host check --x 'a b' >'%s'",
	    dir, out[0]);
	ck_assert_int_eq(WEXITSTATUS(system(cmd)), 3);
	free(sout);
	sout = read_file(out[0]);
	ck_assert_str_eq(sout, "pcipass-host host check --x a b\n");
}
END_TEST

Suite *
cli_suite(void)
{
	Suite	*s = suite_create("cli");
	TCase	*tc = tcase_create("golden");

	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, t_table);
	tcase_add_test(tc, t_json);
	tcase_add_test(tc, t_vmd_domain);
	tcase_add_test(tc, t_template);
	tcase_add_test(tc, t_exit_codes);
	tcase_add_test(tc, t_place);
	tcase_add_test(tc, t_reconcile);
	tcase_add_test(tc, t_im_probe);
	tcase_add_test(tc, t_install_opennebula);
	tcase_add_test(tc, t_session);
	tcase_add_test(tc, t_daemon_down);
	tcase_add_test(tc, t_empty_list);
	tcase_add_test(tc, t_tree_is_lspci);
	tcase_add_test(tc, t_tree_golden);
	tcase_add_test(tc, t_vgpu);
	tcase_add_test(tc, t_host);
	suite_add_tcase(s, tc);
	return s;
}
