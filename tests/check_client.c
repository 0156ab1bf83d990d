/*
 * check_client.c: libpcipass against a real daemon on a fake tree: every
 * call, every error code mapped back, request and template checking.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pcipass.h"
#include "harness.h"

#define TREE \
"01:00.0 3D controller [0302]: NVIDIA Corporation GV100GL [10de:1db4] (rev a1)\n" \
"\tKernel driver in use: vfio-pci\n\tIOMMU group: 2\n\tNUMA node: 0\n\n" \
"02:00.0 3D controller [0302]: NVIDIA Corporation GV100GL [10de:1db4] (rev a1)\n" \
"\tIOMMU group: 3\n\tNUMA node: 1\n\n" \
"03:00.0 Ethernet controller [0200]: Intel Corporation 82574L [8086:10d3]\n" \
"\tIOMMU group: 4\n"

static struct daemon	 d;
static pcipass_client	*c;

static void
setup(void)
{
	char	ep[64];

	daemon_start(&d, tree_text(TREE), ":filter: '*:*'\n", NULL);
	snprintf(ep, sizeof(ep), "%s:%d", d.host, d.port);
	ck_assert_int_eq(pcipass_client_new(&c, ep, SESSION), 0);
}

static void
teardown(void)
{
	pcipass_client_free(c);
	daemon_stop(&d);
	cleanup_dirs();
}

static pcipass_request_list *
reqs(const char *a, const char *b)
{
	pcipass_request_list	*l;

	ck_assert_int_eq(pcipass_request_list_new(&l), 0);
	ck_assert_int_eq(pcipass_request_parse(l, a), 0);
	if (b != NULL)
		ck_assert_int_eq(pcipass_request_parse(l, b), 0);
	return l;
}

static pcipass_client *
client_as(const char *session)
{
	pcipass_client	*x;
	char		 ep[64];

	snprintf(ep, sizeof(ep), "%s:%d", d.host, d.port);
	ck_assert_int_eq(pcipass_client_new(&x, ep, session), 0);
	return x;
}

START_TEST(t_read_calls)
{
	pcipass_device_list	*l;
	const pcipass_device	*dev;
	char			*s;

	ck_assert_int_eq(pcipass_version(&s, c), 0);
	ck_assert_str_eq(s, "pcipass 0.1.0");
	free(s);
	ck_assert_int_eq(pcipass_list(&l, c), 0);
	ck_assert_uint_eq(pcipass_device_list_count(l), 3);
	dev = pcipass_device_list_get(l, 0);
	ck_assert_str_eq(pcipass_device_get(dev, "ADDRESS"), "0000:01:00:0");
	ck_assert_str_eq(pcipass_device_get(dev, "TYPE"), "10de:1db4:0302");
	ck_assert_int_eq(pcipass_device_get_int(dev, "VMID", 0), -1);
	ck_assert_int_eq(pcipass_device_get_int(dev, "NUMA_NODE", -9), 0);
	ck_assert_ptr_null(pcipass_device_get(dev, "NOPE"));
	ck_assert_ptr_null(pcipass_device_list_get(l, 3));
	pcipass_device_list_free(l);
	ck_assert_int_eq(pcipass_info(&s, c), 0);
	ck_assert_ptr_nonnull(strstr(s, "<PCI_DEVICES><PCI>"));
	free(s);
	ck_assert_int_eq(pcipass_probe(&s, c), 0);
	ck_assert_ptr_nonnull(strstr(s, " TYPE = \"8086:10d3:0200\" ,"));
	free(s);
	ck_assert_int_eq(pcipass_vm(&l, c, 5), 0);
	ck_assert_uint_eq(pcipass_device_list_count(l), 0);
	pcipass_device_list_free(l);
}
END_TEST

START_TEST(t_write_calls)
{
	pcipass_request_list	*r = reqs("CLASS=0302,NUMA_NODE=1", "VENDOR=8086,"
				    "TYPE=NIC,MAC=02:00:00:00:00:01");
	pcipass_request_list	*one = reqs("CLASS=0302", NULL);
	pcipass_test_result	*t;
	pcipass_device_list	*l;
	int			 n, a, rm, ch;

	ck_assert_int_eq(pcipass_test(&t, c, r, -1), 0);
	ck_assert(pcipass_test_result_fits(t));
	ck_assert_uint_eq(pcipass_test_result_count(t), 2);
	ck_assert_int_eq(pcipass_test_result_free_count(t, 0), 1);
	ck_assert_int_eq(pcipass_test_result_free_count(t, 1), 1);
	pcipass_test_result_free(t);
	ck_assert_int_eq(pcipass_allocate(&l, c, 42, r), 0);
	ck_assert_uint_eq(pcipass_device_list_count(l), 2);
	ck_assert_str_eq(pcipass_device_get(pcipass_device_list_get(l, 0),
	    "ADDRESS"), "0000:02:00:0");
	ck_assert_str_eq(pcipass_device_get(pcipass_device_list_get(l, 1),
	    "MAC"), "02:00:00:00:00:01");
	pcipass_device_list_free(l);
	/* The same requests again: the same allocation. */
	ck_assert_int_eq(pcipass_allocate(&l, c, 42, r), 0);
	ck_assert_uint_eq(pcipass_device_list_count(l), 2);
	pcipass_device_list_free(l);
	ck_assert_int_eq(pcipass_attach(&l, c, 42, one), 0);
	ck_assert_str_eq(pcipass_device_get(pcipass_device_list_get(l, 0),
	    "ADDRESS"), "0000:01:00:0");
	pcipass_device_list_free(l);
	ck_assert_int_eq(pcipass_vm(&l, c, 42), 0);
	ck_assert_uint_eq(pcipass_device_list_count(l), 3);
	pcipass_device_list_free(l);
	ck_assert_int_eq(pcipass_detach(c, 42, "0000:01:00.0"), 0);
	ck_assert_int_eq(pcipass_release(&n, c, 42), 0);
	ck_assert_int_eq(n, 2);
	ck_assert_int_eq(pcipass_monitor(&a, &rm, &ch, c), 0);
	ck_assert_int_eq(a + rm + ch, 0);
	pcipass_request_list_free(r);
	pcipass_request_list_free(one);
}
END_TEST

static void
expect(int rc, int code, const char *needle)
{
	const pcipass_error	*e = pcipass_error_last();

	ck_assert_int_eq(rc, code);
	ck_assert_int_eq(e->code, code);
	if (code <= -0x100)
		ck_assert_int_eq(e->one_code, -code);
	ck_assert_msg(strstr(e->message, needle) != NULL, "\"%s\" not in "
	    "\"%s\"", needle, e->message);
}

START_TEST(t_errors)
{
	pcipass_request_list	*gpu = reqs("CLASS=0302", NULL);
	pcipass_request_list	*nic = reqs("VENDOR=8086", NULL);
	pcipass_request_list	*none = reqs("VENDOR=dead", NULL);
	pcipass_device_list	*l;
	pcipass_client		*x;
	char			*s;

	x = client_as("oneadmin:wrong");
	expect(pcipass_list(&l, x), PCIPASS_EAUTHENTICATION,
	    "[pci.list] authentication failed");
	ck_assert_ptr_null(l);
	pcipass_client_free(x);
	x = client_as("reader:read-secret");
	ck_assert_int_eq(pcipass_list(&l, x), 0);
	pcipass_device_list_free(l);
	expect(pcipass_allocate(&l, x, 1, gpu), PCIPASS_EAUTHORIZATION,
	    "read-only");
	pcipass_client_free(x);
	expect(pcipass_detach(c, 1, "0000:01:00.0"), PCIPASS_ENO_EXISTS,
	    "[pci.detach]");
	ck_assert_int_eq(pcipass_allocate(&l, c, 1, gpu), 0);
	pcipass_device_list_free(l);
	expect(pcipass_allocate(&l, c, 1, nic), PCIPASS_EACTION,
	    "[pci.allocate]");
	expect(pcipass_vm(&l, c, -1), PCIPASS_ERPC_API, "vmid -1");
	expect(pcipass_detach(c, 1, "nonsense"), PCIPASS_ERPC_API, "address");
	expect(pcipass_allocate(&l, c, 2, none), PCIPASS_EALLOCATE,
	    "VENDOR=dead");
	daemon_stop(&d);
	expect(pcipass_version(&s, c), PCIPASS_ECONNECT, "pci.version");
	daemon_restart(&d, NULL);
	pcipass_request_list_free(gpu);
	pcipass_request_list_free(nic);
	pcipass_request_list_free(none);
}
END_TEST

START_TEST(t_requests)
{
	pcipass_request_list	*l;
	static const char	*bad[][2] = {
		{ "CLASS=03020", "CLASS \"03020\"" },
		{ "VENDOR=xyz", "VENDOR" },
		{ "SHORT_ADDRESS=1:00.0", "SHORT_ADDRESS" },
		{ "ADDRESS=0000:01:00.8", "ADDRESS" },
		{ "NUMA_NODE=-1,CLASS=0302", "NUMA_NODE" },
		{ "TYPE=GPU,CLASS=0302", "TYPE" },
		{ "FOO=1", "unknown field \"FOO\"" },
		{ "CLASS", "expected KEY=VALUE" },
		{ "CLASS=0302,CLASS=0300", "given twice" },
		{ "ADDRESS=0000:01:00.0,VENDOR=10de", "cannot be mixed" },
		{ "MAC=00:11:22:33:44:55,VENDOR=8086", "need TYPE=NIC" },
		{ "NUMA_NODE=0", "a request needs" },
	};
	size_t			 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(pcipass_request_list_new(&l), 0);
		expect(pcipass_request_parse(l, bad[i][0]), PCIPASS_EINVAL,
		    bad[i][1]);
		pcipass_request_list_free(l);
	}
	ck_assert_int_eq(pcipass_request_list_new(&l), 0);
	ck_assert_int_eq(pcipass_request_parse(l, "ADDRESS=0000:41:00:7"), 0);
	ck_assert_int_eq(pcipass_request_parse(l, "VENDOR=0x10DE"), 0);
	ck_assert_uint_eq(pcipass_request_list_count(l), 2);
	pcipass_request_list_free(l);
	pcipass_request_list_free(NULL);
	pcipass_device_list_free(NULL);
	pcipass_test_result_free(NULL);
	pcipass_placement_free(NULL);
	pcipass_client_free(NULL);
	expect(pcipass_client_new(&c, "host:99999", "a:b"), PCIPASS_EINVAL,
	    "endpoint");
	c = NULL;
}
END_TEST

START_TEST(t_template)
{
	pcipass_request_list	*l;
	static const char	*bad[][2] = {
		{ "PCI = [ VENDOR = \"10de\"\n", "t:2: expected ',' or ']'" },
		{ "CPU = 1\nPCI = [ VENDOR = \"zz\" ]\n", "t:2: VENDOR \"zz\"" },
		{ "PCI = [ FOO = 1 ]\n", "t:1: unknown field" },
		{ "\n\nPCI = [\n NUMA_NODE = 0\n]\n", "t:3: request 0: a "
		    "request needs" },
		{ "PCI = \"0302\"\n", "t:1: PCI must be a vector" },
		{ "NAME = \"vm\n", "t:1: unterminated" },
		{ "# only a comment\nCPU = 1\n", "no PCI" },
		{ "PCI = [ VENDOR \"10de\" ]", "t:1: expected '='" },
		{ "PCI = [ ]", "t:1: empty PCI vector" },
	};
	size_t			 i;

	ck_assert_int_eq(pcipass_template_parse(&l, "t",
	    "# a VM\nNAME = \"gpu vm\"\nCPU = 1\nMEMORY = 2048\n"
	    "DISK = [ IMAGE = \"x\", SIZE = 10 ]\n"
	    "PCI = [ VENDOR = \"10de\", CLASS = \"0302\" ] # the GPU\n"
	    "pci = [\n  TYPE = \"NIC\",\n  VENDOR = 8086,\n"
	    "  MAC = \"02:00:00:00:00:01\" ]\n"), 0);
	ck_assert_uint_eq(pcipass_request_list_count(l), 2);
	pcipass_request_list_free(l);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		expect(pcipass_template_parse(&l, "t", bad[i][0]),
		    PCIPASS_EINVAL, bad[i][1]);
		ck_assert_ptr_null(l);
	}
	expect(pcipass_template_read(&l, "/nonexistent/vm.tmpl"),
	    PCIPASS_EINVAL, "/nonexistent/vm.tmpl: No such file");
}
END_TEST

Suite *
client_suite(void)
{
	Suite	*s = suite_create("client");
	TCase	*tc = tcase_create("daemon");
	TCase	*local = tcase_create("local");

	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, t_read_calls);
	tcase_add_test(tc, t_write_calls);
	tcase_add_test(tc, t_errors);
	suite_add_tcase(s, tc);
	tcase_add_test(local, t_requests);
	tcase_add_test(local, t_template);
	suite_add_tcase(s, local);
	return s;
}
