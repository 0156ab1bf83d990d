/*
 * check_filter.c: pci.conf parsing and matching (server/filter.c).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pcipassd.h"
#include "harness.h"

/* Relative to the directory the test runner is started from. */
#ifndef FILTER_DATA
#define FILTER_DATA	"tests/data/filter"
#endif

#define MAXMSG	8

/* What the report callback was given. */
static struct {
	int	 n;
	char	 msg[MAXMSG][1024];
} got;

static void
collect(const char *msg, void *arg)
{
	ck_assert_ptr_eq(arg, &got);
	if (got.n < MAXMSG)
		snprintf(got.msg[got.n], sizeof(got.msg[0]), "%s", msg);
	got.n++;
}

static const char *
data(const char *name)
{
	static char	 path[512];

	snprintf(path, sizeof(path), "%s/%s", FILTER_DATA, name);
	return path;
}

/* The message expected for line of data file name. */
static const char *
at(const char *name, int line, const char *msg)
{
	static char	 buf[1024];

	snprintf(buf, sizeof(buf), "%s/%s:%d: %s", FILTER_DATA, name, line,
	    msg);
	return buf;
}

static struct pp_filter *
load(const char *name)
{
	memset(&got, 0, sizeof(got));
	return filter_load(data(name), collect, &got);
}

/* A file that must load with no report. */
static struct pp_filter *
load_ok(const char *name)
{
	struct pp_filter	*f = load(name);

	ck_assert_msg(f != NULL, "%s: %s", name, got.n ? got.msg[0] : "");
	ck_assert_int_eq(got.n, 0);
	return f;
}

/* A file that must fail with exactly n reports. */
static void
load_bad(const char *name, int n)
{
	ck_assert_ptr_null(load(name));
	ck_assert_int_eq(got.n, n);
}

static struct pp_device
dev(unsigned bus, unsigned slot, unsigned fn, unsigned vendor,
    unsigned device, unsigned class, const char *name)
{
	struct pp_device	 d;

	memset(&d, 0, sizeof(d));
	device_strings_init(&d);
	d.addr = PP_ADDR(0, bus, slot, fn);
	d.vendor = vendor;
	d.device = device;
	d.class = class;
	d.header = 0;
	d.numa = d.iommu = d.vmid = -1;
	d.present = 1;
	d.device_name = intern(name);
	return d;
}

/* Devices from real hosts; one made-up vendor reusing Intel's 10d3. */
#define TESLA	dev(0x01, 0, 0, 0x10de, 0x1db4, 0x0302, \
		    "GV100GL [Tesla V100 PCIe 16GB]")
#define GRIDK2	dev(0x06, 0, 0, 0x10de, 0x11bf, 0x0300, "GK104GL [GRID K2]")
#define E1000E	dev(0x07, 0, 0, 0x8086, 0x10d3, 0x0200, \
		    "82574L Gigabit Network Connection")
#define OTHER	dev(0x08, 0, 0, 0x1234, 0x10d3, 0x0200, "Some NIC")
#define XHCI	dev(0x00, 0x14, 0, 0x8086, 0xa36d, 0x0c03, \
		    "Cannon Lake PCH USB 3.1 xHCI Host Controller")
#define IGD	dev(0x00, 0x02, 0, 0x8086, 0x3e92, 0x0300, \
		    "CoffeeLake-S GT2 [UHD Graphics 630]")
#define I350	dev(0x03, 0, 1, 0x8086, 0x1521, 0x0200, \
		    "I350 Gigabit Network Connection")
#define SATA	dev(0x09, 0, 0, 0x1022, 0x7901, 0x0106, \
		    "FCH SATA Controller [AHCI mode]")
#define CX5VF	dev(0x41, 0, 1, 0x15b3, 0x101a, 0x0200, \
		    "MT28800 Family [ConnectX-5 Ex Virtual Function]")
#define MEGARAID dev(0x02, 0, 0, 0x1000, 0x005d, 0x0104, \
		    "MegaRAID SAS-3 3108 [Invader]")

static int
offered(const struct pp_filter *f, struct pp_device d)
{
	return filter_match(f, &d);
}

START_TEST(guide_list)
{
	struct pp_filter	*f = load_ok("guide_list.conf");

	ck_assert_int_eq(offered(f, TESLA), 1);		/* 10de:* */
	ck_assert_int_eq(offered(f, GRIDK2), 1);	/* 10de:11bf */
	ck_assert_int_eq(offered(f, E1000E), 1);	/* *:10d3 */
	ck_assert_int_eq(offered(f, OTHER), 1);		/* *:10d3 */
	ck_assert_int_eq(offered(f, XHCI), 1);		/* 8086::0c03 */
	ck_assert_int_eq(offered(f, IGD), 0);
	ck_assert_int_eq(offered(f, I350), 0);
	ck_assert_int_eq(offered(f, SATA), 0);
	filter_free(f);
}
END_TEST

START_TEST(everything_and_nothing)
{
	struct pp_filter	*all = load_ok("all.conf");
	struct pp_filter	*none = load_ok("none.conf");
	struct pp_device	 zero = dev(0, 0, 0, 0, 0, 0, "");

	ck_assert_int_eq(offered(all, TESLA), 1);
	ck_assert_int_eq(offered(all, MEGARAID), 1);
	ck_assert_int_eq(offered(all, zero), 1);
	ck_assert_int_eq(offered(none, TESLA), 0);
	ck_assert_int_eq(offered(none, XHCI), 0);
	filter_free(all);
	filter_free(none);
}
END_TEST

START_TEST(opennebula_default)
{
	struct pp_filter	*f = load_ok("opennebula_default.conf");

	ck_assert_int_eq(offered(f, TESLA), 0);
	ck_assert_int_eq(offered(f, E1000E), 0);
	filter_free(f);
}
END_TEST

START_TEST(comma_list)
{
	struct pp_filter	*f = load_ok("comma.conf");

	ck_assert_int_eq(offered(f, IGD), 1);		/* 8086::0300 */
	ck_assert_int_eq(offered(f, SATA), 1);		/* ::0106 */
	ck_assert_int_eq(offered(f, TESLA), 1);		/* 10DE:* */
	ck_assert_int_eq(offered(f, GRIDK2), 1);
	ck_assert_int_eq(offered(f, E1000E), 0);
	ck_assert_int_eq(offered(f, XHCI), 0);
	filter_free(f);
}
END_TEST

START_TEST(class_patterns)
{
	struct pp_filter	*f = load_ok("class.conf");
	struct pp_device	 dev0300 = dev(5, 0, 0, 0x1af4, 0x0300, 0x0200,
	    "device id 0300");

	ck_assert_int_eq(offered(f, TESLA), 1);		/* *:*:0302 */
	ck_assert_int_eq(offered(f, XHCI), 1);		/* ::0C03 */
	/* ':0300' is lspci's vendor:device: device 0300, not class 0300. */
	ck_assert_int_eq(offered(f, dev0300), 1);
	ck_assert_int_eq(offered(f, GRIDK2), 0);
	ck_assert_int_eq(offered(f, IGD), 0);
	ck_assert_int_eq(offered(f, E1000E), 0);
	filter_free(f);
}
END_TEST

START_TEST(plain_scalar)
{
	struct pp_filter	*f = load_ok("plain.conf");

	ck_assert_int_eq(offered(f, TESLA), 1);
	ck_assert_int_eq(offered(f, GRIDK2), 0);
	filter_free(f);
}
END_TEST

START_TEST(short_address_list)
{
	struct pp_filter	*f = load_ok("short_address.conf");
	struct pp_device	 d;

	ck_assert_int_eq(offered(f, E1000E), 1);	/* 07:00.0 */
	ck_assert_int_eq(offered(f, GRIDK2), 1);	/* 06:00.0 */
	ck_assert_int_eq(offered(f, TESLA), 0);		/* 01:00.0 */
	d = E1000E;
	d.addr = PP_ADDR(1, 0x07, 0, 0);		/* '0001:07:00.0' */
	ck_assert_int_eq(offered(f, d), 0);
	d.addr = PP_ADDR(0, 0x07, 0, 1);
	ck_assert_int_eq(offered(f, d), 0);
	d.addr = PP_ADDR(5, 0x0a, 0x1f, 7);		/* '0005:0a:1f.7' */
	ck_assert_int_eq(offered(f, d), 1);
	d.addr = PP_ADDR(0, 0x0a, 0x1f, 7);
	ck_assert_int_eq(offered(f, d), 0);
	filter_free(f);
}
END_TEST

START_TEST(short_address_string)
{
	struct pp_filter	*f = load_ok("short_single.conf");
	struct pp_device	 d = CX5VF;

	ck_assert_int_eq(offered(f, d), 0);		/* 41:00.1 */
	d.addr = PP_ADDR(0, 0x41, 0, 7);
	ck_assert_int_eq(offered(f, d), 1);
	filter_free(f);
}
END_TEST

START_TEST(device_name_list)
{
	struct pp_filter	*f = load_ok("device_name.conf");
	struct pp_device	 d = MEGARAID;

	ck_assert_int_eq(offered(f, CX5VF), 1);		/* Virtual Function */
	ck_assert_int_eq(offered(f, E1000E), 1);	/* Gigabit Network */
	ck_assert_int_eq(offered(f, XHCI), 1);		/* USB.*Host ... */
	ck_assert_int_eq(offered(f, MEGARAID), 1);	/* ^MegaRAID */
	ck_assert_int_eq(offered(f, TESLA), 0);
	ck_assert_int_eq(offered(f, SATA), 0);
	d.device_name = intern("LSI MegaRAID");
	ck_assert_int_eq(offered(f, d), 0);		/* anchored */
	d.device_name = intern("megaraid 9361");
	ck_assert_int_eq(offered(f, d), 1);		/* any case */
	d.device_name = intern("GIGABIT NETWORK");
	ck_assert_int_eq(offered(f, d), 1);
	filter_free(f);
}
END_TEST

START_TEST(device_name_string)
{
	struct pp_filter	*f = load_ok("name_single.conf");

	ck_assert_int_eq(offered(f, TESLA), 1);		/* 'TESLA' */
	ck_assert_int_eq(offered(f, GRIDK2), 0);
	filter_free(f);
}
END_TEST

START_TEST(all_three_keys)
{
	struct pp_filter	*f = load_ok("combined.conf");
	struct pp_device	 d = CX5VF;

	ck_assert_int_eq(offered(f, d), 1);		/* 41:00.1 */
	d.addr = PP_ADDR(0, 0x41, 0, 3);		/* address not listed */
	ck_assert_int_eq(offered(f, d), 0);
	d = I350;
	d.addr = PP_ADDR(0, 0x41, 0, 2);		/* not a VF by name */
	ck_assert_int_eq(offered(f, d), 0);
	d = TESLA;
	d.addr = PP_ADDR(0, 0x41, 0, 2);		/* vendor not listed */
	d.device_name = intern("Virtual Function");
	ck_assert_int_eq(offered(f, d), 0);
	filter_free(f);
}
END_TEST

START_TEST(missing_file)
{
	struct pp_filter	*f = load_ok("does-not-exist.conf");

	ck_assert_int_eq(offered(f, TESLA), 0);
	ck_assert_int_eq(offered(f, E1000E), 0);
	filter_free(f);
}
END_TEST

START_TEST(empty_files)
{
	static const char *const names[] = {
		"empty.conf", "comments.conf", "filter_null.conf",
		"filter_list_empty.conf", "filter_string_empty.conf",
	};
	struct pp_filter	*f;
	size_t			 i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		f = load_ok(names[i]);
		ck_assert_msg(!offered(f, TESLA), "%s offers", names[i]);
		ck_assert_msg(!offered(f, MEGARAID), "%s offers", names[i]);
		filter_free(f);
	}
}
END_TEST

START_TEST(empty_narrowing)
{
	struct pp_filter	*f = load_ok("narrowing_empty.conf");

	ck_assert_int_eq(offered(f, TESLA), 1);
	ck_assert_int_eq(offered(f, MEGARAID), 1);
	filter_free(f);
}
END_TEST

START_TEST(apply)
{
	struct pp_filter	*f = load_ok("guide_list.conf");
	struct pp_device	 devs[4] = { XHCI, TESLA, IGD, E1000E };
	struct pp_inventory	 inv = { .dev = devs, .ndev = 4 };

	devs[2].offered = 1;		/* stale: must be cleared */
	filter_apply(f, &inv);
	ck_assert_int_eq(devs[0].offered, 1);
	ck_assert_int_eq(devs[1].offered, 1);
	ck_assert_int_eq(devs[2].offered, 0);
	ck_assert_int_eq(devs[3].offered, 1);
	ck_assert_int_eq(devs[1].vmid, -1);	/* nothing else touched */
	filter_free(f);
	filter_free(NULL);
}
END_TEST

START_TEST(bad_hex)
{
	load_bad("bad_hex.conf", 1);
	ck_assert_str_eq(got.msg[0], at("bad_hex.conf", 1,
	    "filter '10dg:*': vendor ID '10dg' is not hexadecimal"));
}
END_TEST

START_TEST(five_digits)
{
	load_bad("five_digits.conf", 1);
	ck_assert_str_eq(got.msg[0], at("five_digits.conf", 3,
	    "filter '10de:11bf0': device ID '11bf0' has more than 4 hex "
	    "digits"));
}
END_TEST

START_TEST(prog_if)
{
	load_bad("prog_if.conf", 1);
	ck_assert_str_eq(got.msg[0], at("prog_if.conf", 1,
	    "filter '8086::0c03:30': prog-if '30' is not supported "
	    "(vendor:device[:class])"));
}
END_TEST

START_TEST(number)
{
	load_bad("number.conf", 1);
	ck_assert_str_eq(got.msg[0], at("number.conf", 1,
	    "filter '8086': ':' expected (vendor:device[:class])"));
}
END_TEST

START_TEST(bad_regex)
{
	load_bad("bad_regex.conf", 1);
	ck_assert_str_eq(got.msg[0], at("bad_regex.conf", 4, "device name "
	    "regex 'USB (Host': missing closing parenthesis at offset 9"));
}
END_TEST

START_TEST(mapping_for_list)
{
	load_bad("mapping.conf", 1);
	ck_assert_str_eq(got.msg[0], at("mapping.conf", 3,
	    ":short_address: must be a string or a list of strings, "
	    "not a mapping"));
	load_bad("item_mapping.conf", 1);
	ck_assert_str_eq(got.msg[0], at("item_mapping.conf", 3,
	    ":filter: list items must be strings, not a mapping"));
	load_bad("top_list.conf", 1);
	ck_assert_str_eq(got.msg[0], at("top_list.conf", 1,
	    "expected a mapping of keys such as :filter:, not a list"));
}
END_TEST

START_TEST(syntax_error)
{
	load_bad("syntax.conf", 1);
	ck_assert_str_eq(got.msg[0], at("syntax.conf", 4,
	    "syntax error: did not find expected key "
	    "(while parsing a block mapping)"));
}
END_TEST

START_TEST(unknown_keys)
{
	load_bad("unknown_key.conf", 2);
	ck_assert_str_eq(got.msg[0], at("unknown_key.conf", 2,
	    "unknown key 'filter' (did you mean :filter:?)"));
	ck_assert_str_eq(got.msg[1], at("unknown_key.conf", 3,
	    "unknown key ':nvidia' (known: :filter:, :short_address:, "
	    ":device_name:)"));
}
END_TEST

START_TEST(duplicate_key)
{
	load_bad("duplicate.conf", 1);
	ck_assert_str_eq(got.msg[0], at("duplicate.conf", 3,
	    "duplicate key :filter: (first on line 1)"));
}
END_TEST

START_TEST(two_errors)
{
	load_bad("two_errors.conf", 2);
	ck_assert_str_eq(got.msg[0], at("two_errors.conf", 4,
	    "filter 'xyz:*': vendor ID 'xyz' is not hexadecimal"));
	ck_assert_str_eq(got.msg[1], at("two_errors.conf", 7,
	    "short address '07:00' is not BB:SS.F or DDDD:BB:SS.F (hex bus, "
	    "slot 00-1f, function 0-7)"));
}
END_TEST

/* Strings OpenNebula's probe could never match are errors, not no-ops. */
START_TEST(short_address_never_matches)
{
	load_bad("short_never.conf", 2);
	ck_assert_str_eq(got.msg[0], at("short_never.conf", 4,
	    "short address '0A:1F.7' never matches: lspci -mm writes that "
	    "slot '0a:1f.7'"));
	ck_assert_str_eq(got.msg[1], at("short_never.conf", 5,
	    "short address '0000:07:00.0' never matches: lspci -mm writes "
	    "that slot '07:00.0'"));
}
END_TEST

START_TEST(unreadable)
{
	char	 msg[600];

	/* A directory: unreadable even for root, unlike a mode 000 file. */
	ck_assert_ptr_null(load("."));
	ck_assert_int_eq(got.n, 1);
	snprintf(msg, sizeof(msg), "%s/.:1: cannot read: Is a directory",
	    FILTER_DATA);
	ck_assert_str_eq(got.msg[0], msg);
}
END_TEST


/*
 * Ruby's syntax, as OpenNebula's probe reads :device_name: (`=~ /.../i`):
 * 'I\d+ Gigabit' offered four devices there and none under POSIX EREs.
 */
START_TEST(ruby_regexes)
{
	const char		*dir = scratch_dir();
	char			 path[600];
	struct pp_filter	*f;
	struct pp_device	 d = E1000E;
	static const struct { const char *re, *name; int hit; } t[] = {
	    { "I\\d+ Gigabit", "I350 Gigabit Network Connection", 1 },
	    { "I\\d+ Gigabit", "82574L Gigabit Network Connection", 0 },
	    { "^82574L\\sgigabit", "82574L Gigabit Network Connection", 1 },
	    { "(?:Tesla|Quadro) V\\d{3}", "GV100GL [Tesla V100 PCIe]", 1 },
	    { "\\bVirtual\\b", "Ethernet Adaptive Virtual Function", 1 },
	    { "Function$", "Ethernet Adaptive Virtual Function", 1 },
	    { "^Function", "Ethernet Adaptive Virtual Function", 0 },
	    { "\\w+\\[GeForce", "GA102 [GeForce RTX 3090]", 0 },
	};
	size_t			 i;

	snprintf(path, sizeof(path), "%s/re.conf", dir);
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char	text[300];

		snprintf(text, sizeof(text), ":filter: '*:*'\n:device_name: "
		    "'%s'\n", t[i].re);
		write_file(path, text);
		got.n = 0;
		ck_assert_ptr_nonnull(f = filter_load(path, collect, &got));
		d.device_name = intern(t[i].name);
		ck_assert_msg(filter_match(f, &d) == t[i].hit, "'%s' on '%s'",
		    t[i].re, t[i].name);
		filter_free(f);
	}
	cleanup_dirs();
}
END_TEST

/*
 * A pattern that backtracks without end meets PCRE2's match limit: no
 * match, a line in the log, and the scan goes on. ('N+++...', which
 * once cost glibc's regcomp 24 GB, is a plain error for PCRE2.)
 */
START_TEST(costly_regexes_bounded)
{
	const char		*dir = scratch_dir();
	char			 path[600], *log = NULL;
	size_t			 len = 0;
	FILE			*fp;
	struct pp_filter	*f;
	struct pp_device	 d = E1000E;

	snprintf(path, sizeof(path), "%s/re.conf", dir);
	write_file(path, ":filter: '*:*'\n:device_name:\n  - '(a|aa)+$'\n"
	    "  - '^(x+x+)+$'\n");
	got.n = 0;
	ck_assert_ptr_nonnull(f = filter_load(path, collect, &got));
	d.device_name = intern("xxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxz");
	fp = open_memstream(&log, &len);
	log_to(fp);
	ck_assert_int_eq(filter_match(f, &d), 0);
	log_to(NULL);
	fclose(fp);
	ck_assert_msg(strstr(log, "filter: device name regex 2 on \"xxxx") !=
	    NULL && strstr(log, "match limit exceeded, taken as no match") != NULL, "%s", log);
	free(log);
	d.device_name = intern("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	ck_assert_int_eq(filter_match(f, &d), 1);
	filter_free(f);
	/* The families that cost glibc gigabytes are compile errors, each
	 * at its FILE:LINE. */
	write_file(path, ":filter: '*:*'\n:device_name:\n  - 'N+++++++++'\n"
	    "  - 'x{1,1000}'\n  - '((N{1,100}){1,100}){1,100}'\n"
	    "  - '(((N{1,100}){1,100}){1,100}){1,100}'\n"
	    "  - '((((((((((((((((((((((((((((((((((x))))))))))))))))))))))))))"
	    "))))))))'\n");
	got.n = 0;
	f = filter_load(path, collect, &got);
	ck_assert_ptr_null(f);
	ck_assert_int_eq(got.n, 4);
	ck_assert_ptr_nonnull(strstr(got.msg[0], "re.conf:3: device name "
	    "regex 'N+++++++++': "));
	ck_assert_ptr_nonnull(strstr(got.msg[1], "re.conf:5: device name "
	    "regex '((N{1,100}){1,100}){1,100}': regular expression is too "
	    "large"));
	ck_assert_ptr_nonnull(strstr(got.msg[2], "re.conf:6: device name "
	    "regex '(((N{1,100}){1,100}){1,100}){1,100}': regular expression "
	    "is too large"));
	ck_assert_ptr_nonnull(strstr(got.msg[3], "re.conf:7: device name "
	    "regex '((((((((((((((((((((((((((((((((((x))))"));
	ck_assert_ptr_nonnull(strstr(got.msg[3], "parentheses are too deeply "
	    "nested"));
	cleanup_dirs();
}
END_TEST

Suite *
filter_suite(void)
{
	Suite	*s = suite_create("filter");
	TCase	*good = tcase_create("match");
	TCase	*bad = tcase_create("errors");

	tcase_add_test(good, guide_list);
	tcase_add_test(good, ruby_regexes);
	tcase_add_test(good, costly_regexes_bounded);
	tcase_add_test(good, everything_and_nothing);
	tcase_add_test(good, opennebula_default);
	tcase_add_test(good, comma_list);
	tcase_add_test(good, class_patterns);
	tcase_add_test(good, plain_scalar);
	tcase_add_test(good, short_address_list);
	tcase_add_test(good, short_address_string);
	tcase_add_test(good, device_name_list);
	tcase_add_test(good, device_name_string);
	tcase_add_test(good, all_three_keys);
	tcase_add_test(good, missing_file);
	tcase_add_test(good, empty_files);
	tcase_add_test(good, empty_narrowing);
	tcase_add_test(good, apply);
	suite_add_tcase(s, good);

	tcase_add_test(bad, bad_hex);
	tcase_add_test(bad, five_digits);
	tcase_add_test(bad, prog_if);
	tcase_add_test(bad, number);
	tcase_add_test(bad, bad_regex);
	tcase_add_test(bad, short_address_never_matches);
	tcase_add_test(bad, mapping_for_list);
	tcase_add_test(bad, syntax_error);
	tcase_add_test(bad, unknown_keys);
	tcase_add_test(bad, duplicate_key);
	tcase_add_test(bad, two_errors);
	tcase_add_test(bad, unreadable);
	suite_add_tcase(s, bad);
	return s;
}
