/*
 * check_match.c: the matcher and each allocation rule, on inventories
 * built by hand (server/match.c knows nothing of sysfs or sqlite).
 */
#include <stdlib.h>
#include <string.h>

#include "pcipassd.h"
#include "harness.h"

static struct pp_inventory	inv;

static void
reset(void)
{
	inventory_free(&inv);
}

static int
dev_cmp(const void *a, const void *b)
{
	const struct pp_device	*x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static int
mem_cmp(const void *a, const void *b)
{
	const struct pp_member	*x = a, *y = b;

	if (x->group != y->group)
		return x->group - y->group;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* Add an offered, free endpoint; returns it for further tweaks. */
static struct pp_device *
dev(const char *addr, unsigned vendor, unsigned device, unsigned class,
    int group, const char *driver)
{
	struct pp_device	*d;
	pp_addr			 a;

	ck_assert_int_eq(addr_parse(addr, ADDR_SYSFS, &a), 0);
	inv.dev = reallocarray(inv.dev, inv.ndev + 1, sizeof(*inv.dev));
	d = &inv.dev[inv.ndev++];
	memset(d, 0, sizeof(*d));
	device_strings_init(d);
	d->addr = a;
	d->vendor = vendor;
	d->device = device;
	d->class = class;
	d->iommu = group;
	d->numa = 0;
	d->offered = 1;
	d->present = 1;
	d->vmid = -1;
	d->driver = intern(driver);
	if (group >= 0) {
		inv.member = reallocarray(inv.member, inv.nmember + 1,
		    sizeof(*inv.member));
		inv.member[inv.nmember].group = group;
		inv.member[inv.nmember++].addr = a;
	}
	return d;
}

/* Sort as the store would; call after the last dev(). */
static void
done(void)
{
	qsort(inv.dev, inv.ndev, sizeof(*inv.dev), dev_cmp);
	qsort(inv.member, inv.nmember, sizeof(*inv.member), mem_cmp);
}

static struct pp_device *
at(const char *addr)
{
	pp_addr	a;

	ck_assert_int_eq(addr_parse(addr, ADDR_SYSFS, &a), 0);
	return inventory_find(&inv, a);
}

static struct pp_request
ids(int vendor, int device, int class)
{
	struct pp_request	r;

	memset(&r, 0, sizeof(r));
	r.vendor = vendor;
	r.device = device;
	r.class = class;
	r.numa = -1;
	return r;
}

static struct pp_request
addr(const char *s)
{
	struct pp_request	r = ids(-1, -1, -1);

	ck_assert_int_eq(addr_parse(s, ADDR_SYSFS, &r.addr), 0);
	r.has_addr = 1;
	return r;
}

/* The address assigned to request i, sysfs form. */
static const char *
got(const size_t *out, size_t i)
{
	static char	buf[4][PP_ADDR_SYSFS_LEN];

	return addr_fmt(inv.dev[out[i]].addr, ADDR_SYSFS, buf[i % 4],
	    sizeof(buf[0]));
}

static int
assign(const struct pp_request *r, size_t n, int vmid, int flags,
    size_t *out, char *why)
{
	return match_assign(&inv, r, n, vmid, flags, out, why, 1024);
}

/* OpenNebula's first-fit gives the loose request the only 1db4. */
START_TEST(loose_never_takes_the_strict_ones_device)
{
	struct pp_request	r[2];
	size_t			out[2];
	char			why[1024];

	dev("0000:01:00.0", 0x10de, 0x1db4, 0x0302, 1, "vfio-pci");
	dev("0000:02:00.0", 0x10de, 0x2204, 0x0300, 2, "vfio-pci");
	done();
	r[0] = ids(0x10de, -1, -1);
	r[1] = ids(-1, 0x1db4, -1);
	ck_assert_int_eq(assign(r, 2, 7, 0, out, why), MATCH_OK);
	ck_assert_str_eq(got(out, 0), "0000:02:00.0");
	ck_assert_str_eq(got(out, 1), "0000:01:00.0");
	reset();
}
END_TEST

START_TEST(never_bridges_groupless_or_pf_with_vfs)
{
	struct pp_request	r = ids(0x8086, -1, -1);
	size_t			out[1];
	char			why[1024];
	struct pp_device	*pf;

	dev("0000:00:01.0", 0x8086, 0x1901, 0x0604, 1, "pcieport")->header =
	    1;
	dev("0000:00:02.0", 0x8086, 0x3e92, 0x0300, -1, "i915");
	pf = dev("0000:03:00.0", 0x8086, 0x1572, 0x0200, 3, "i40e");
	pf->sriov = SRIOV_PF;
	pf->sriov_num = 2;
	done();
	ck_assert_int_eq(assign(&r, 1, 1, 0, out, why), MATCH_NOFIT);
	ck_assert_ptr_nonnull(strstr(why, "0000:00:01:0 bridge"));
	ck_assert_ptr_nonnull(strstr(why, "0000:00:02:0 no IOMMU group"));
	ck_assert_ptr_nonnull(strstr(why, "0000:03:00:0 VFs enabled (2)"));
	ck_assert_ptr_nonnull(strstr(why, "3 devices match"));
	reset();
}
END_TEST

START_TEST(vf_of_pf_with_vfs_is_allocatable)
{
	struct pp_request	r = ids(0x8086, 0x154c, -1);
	size_t			out[1];
	char			why[1024];
	struct pp_device	*pf, *vf;

	pf = dev("0000:03:00.0", 0x8086, 0x1572, 0x0200, 3, "i40e");
	pf->sriov = SRIOV_PF;
	pf->sriov_num = 1;
	/* dev() reallocates: pf is stale after the next call. */
	vf = dev("0000:03:02.0", 0x8086, 0x154c, 0x0200, 40, "iavf");
	vf->sriov = SRIOV_VF;
	vf->physfn = PP_ADDR(0, 3, 0, 0);
	done();
	ck_assert_int_eq(assign(&r, 1, 1, 0, out, why), MATCH_OK);
	ck_assert_str_eq(got(out, 0), "0000:03:02.0");
	reset();
}
END_TEST

/* A GPU whose audio function stays on snd_hda_intel. */
static void
gpu_with_audio(const char *gpu, const char *audio, int group)
{
	dev(gpu, 0x10de, 0x25e2, 0x0300, group, "nouveau");
	dev(audio, 0x10de, 0x2291, 0x0403, group, "snd_hda_intel");
}

START_TEST(host_driver_sibling_must_come_along)
{
	struct pp_request	r[2];
	size_t			out[2];
	char			why[1024];

	gpu_with_audio("0000:01:00.0", "0000:01:00.1", 11);
	done();
	r[0] = ids(-1, -1, 0x0300);
	ck_assert_int_eq(assign(r, 1, 3, 0, out, why), MATCH_NOFIT);
	ck_assert_ptr_nonnull(strstr(why, "0000:01:00:0 needs sibling "
	    "0000:01:00:1 (on driver snd_hda_intel) in the same call"));
	r[1] = ids(-1, -1, 0x0403);
	ck_assert_int_eq(assign(r, 2, 3, 0, out, why), MATCH_OK);
	ck_assert_str_eq(got(out, 0), "0000:01:00.0");
	ck_assert_str_eq(got(out, 1), "0000:01:00.1");
	reset();
}
END_TEST

START_TEST(bind_mode_takes_free_offered_sibling_along)
{
	struct pp_request	r = ids(-1, -1, 0x0300);
	size_t			out[1];
	char			why[1024];

	gpu_with_audio("0000:01:00.0", "0000:01:00.1", 11);
	done();
	ck_assert_int_eq(assign(&r, 1, 3, MATCH_BIND, out, why), MATCH_OK);
	ck_assert_str_eq(got(out, 0), "0000:01:00.0");
	reset();
}
END_TEST

START_TEST(unoffered_sibling_on_host_driver_blocks)
{
	struct pp_request	r[2];
	size_t			out[2];
	char			why[1024];

	gpu_with_audio("0000:01:00.0", "0000:01:00.1", 11);
	done();
	at("0000:01:00.1")->offered = 0;
	r[0] = ids(-1, -1, 0x0300);
	r[1] = ids(-1, -1, 0x0403);
	ck_assert_int_eq(assign(r, 1, 3, MATCH_BIND, out, why), MATCH_NOFIT);
	ck_assert_ptr_nonnull(strstr(why, "0000:01:00:0 sibling 0000:01:00:1 "
	    "on driver snd_hda_intel"));
	ck_assert_int_eq(assign(r, 2, 3, 0, out, why), MATCH_NOFIT);
	reset();
}
END_TEST

START_TEST(harmless_sibling_drivers)
{
	static const char	*drv[] = { "vfio-pci", "pci-stub", "" };
	struct pp_request	 r = ids(-1, -1, 0x0300);
	size_t			 out[1], i;
	char			 why[1024];

	for (i = 0; i < 3; i++) {
		gpu_with_audio("0000:01:00.0", "0000:01:00.1", 11);
		done();
		at("0000:01:00.1")->offered = 0;
		at("0000:01:00.1")->driver = intern(drv[i]);
		ck_assert_msg(assign(&r, 1, 3, 0, out, why) == MATCH_OK,
		    "sibling on \"%s\": %s", drv[i], why);
		reset();
	}
}
END_TEST

START_TEST(group_never_split_between_vms)
{
	struct pp_request	r = ids(-1, -1, 0x0403);
	size_t			out[1];
	char			why[1024];

	gpu_with_audio("0000:01:00.0", "0000:01:00.1", 11);
	done();
	at("0000:01:00.0")->vmid = 7;
	ck_assert_int_eq(assign(&r, 1, 8, MATCH_BIND, out, why), MATCH_NOFIT);
	ck_assert_ptr_nonnull(strstr(why, "sibling 0000:01:00:0 held by VM 7"));
	/* The holder itself may take the rest of its group. */
	ck_assert_int_eq(assign(&r, 1, 7, 0, out, why), MATCH_OK);
	ck_assert_str_eq(got(out, 0), "0000:01:00.1");
	reset();
}
END_TEST

START_TEST(bridges_in_a_group_do_not_count)
{
	struct pp_request	r = ids(-1, -1, 0x0300);
	size_t			out[1];
	char			why[1024];

	dev("0000:00:01.0", 0x1022, 0x1633, 0x0604, 5, "pcieport")->header =
	    1;
	dev("0000:01:00.0", 0x10de, 0x25e2, 0x0300, 5, "nouveau");
	done();
	ck_assert_int_eq(assign(&r, 1, 1, 0, out, why), MATCH_OK);
	reset();
}
END_TEST

START_TEST(backtracks_over_group_choice)
{
	struct pp_request	r[2];
	size_t			out[2];
	char			why[1024];

	/* 02:00.0 is free-standing and tried first for the GPU request;
	 * only 01:00.0 lets the audio request be met. */
	gpu_with_audio("0000:01:00.0", "0000:01:00.1", 11);
	dev("0000:02:00.0", 0x10de, 0x1db4, 0x0300, 12, "vfio-pci");
	done();
	r[0] = ids(-1, -1, 0x0300);
	r[1] = ids(-1, -1, 0x0403);
	ck_assert_int_eq(assign(r, 2, 3, 0, out, why), MATCH_OK);
	ck_assert_str_eq(got(out, 0), "0000:01:00.0");
	ck_assert_str_eq(got(out, 1), "0000:01:00.1");
	reset();
}
END_TEST

START_TEST(all_or_nothing)
{
	struct pp_request	r[3];
	size_t			out[3];
	char			why[1024];

	dev("0000:01:00.0", 0x10de, 0x1db4, 0x0302, 1, "vfio-pci");
	dev("0000:02:00.0", 0x10de, 0x1db4, 0x0302, 2, "vfio-pci");
	done();
	r[0] = r[1] = r[2] = ids(0x10de, 0x1db4, -1);
	ck_assert_int_eq(assign(r, 3, 3, 0, out, why), MATCH_NOFIT);
	ck_assert_str_eq(why, "the requests cannot all be met together");
	ck_assert_int_eq(assign(r, 2, 3, 0, out, why), MATCH_OK);
	ck_assert_str_ne(got(out, 0), got(out, 1));
	reset();
}
END_TEST

START_TEST(numa_restriction)
{
	struct pp_request	r = ids(0x10de, -1, -1);
	size_t			out[1];
	char			why[1024];

	dev("0000:01:00.0", 0x10de, 0x1db4, 0x0302, 1, "vfio-pci")->numa = 0;
	dev("0000:81:00.0", 0x10de, 0x1db4, 0x0302, 2, "vfio-pci")->numa = 1;
	dev("0000:82:00.0", 0x10de, 0x1db4, 0x0302, 3, "vfio-pci")->numa = -1;
	done();
	r.numa = 1;
	ck_assert_int_eq(assign(&r, 1, 3, 0, out, why), MATCH_OK);
	ck_assert_str_eq(got(out, 0), "0000:81:00.0");
	at("0000:81:00.0")->vmid = 9;
	ck_assert_int_eq(assign(&r, 1, 3, 0, out, why), MATCH_NOFIT);
	ck_assert_ptr_nonnull(strstr(why, "1 device matches: 0000:81:00:0 "
	    "used by VM 9"));
	reset();
}
END_TEST

START_TEST(by_address)
{
	struct pp_request	r[2];
	size_t			out[2];
	char			why[1024];

	dev("0000:01:00.0", 0x10de, 0x1db4, 0x0302, 1, "vfio-pci");
	dev("0000:02:00.0", 0x10de, 0x1db4, 0x0302, 2, "vfio-pci");
	done();
	r[0] = ids(0x10de, -1, -1);
	r[1] = addr("0000:01:00.0");
	ck_assert_int_eq(assign(r, 2, 3, 0, out, why), MATCH_OK);
	ck_assert_str_eq(got(out, 0), "0000:02:00.0");
	ck_assert_str_eq(got(out, 1), "0000:01:00.0");
	reset();
}
END_TEST

START_TEST(test_counts_and_reasons)
{
	struct pp_request	r[3];
	struct pp_test		t;

	dev("0000:01:00.0", 0x10de, 0x1db4, 0x0302, 1, "vfio-pci");
	dev("0000:02:00.0", 0x10de, 0x1db4, 0x0302, 2, "vfio-pci");
	gpu_with_audio("0000:03:00.0", "0000:03:00.1", 3);
	dev("0000:04:00.0", 0x8086, 0x1521, 0x0200, 4, "igb");
	done();
	at("0000:02:00.0")->vmid = 5;
	at("0000:04:00.0")->vmid = 6;
	r[0] = ids(-1, 0x1db4, -1);
	r[1] = ids(-1, -1, 0x0300);
	r[2] = ids(0x8086, -1, -1);
	ck_assert_int_eq(match_test(&inv, r, 3, -1, 0, &t), 0);
	ck_assert_int_eq(t.fits, 0);
	ck_assert_int_eq(t.free[0], 1);
	ck_assert_int_eq(t.free[1], 0);	/* needs its audio along */
	ck_assert_int_eq(t.free[2], 0);
	ck_assert_str_eq(t.reason, "request 2 (VENDOR=8086): 1 device "
	    "matches: 0000:04:00:0 used by VM 6");
	/* With the holder's id, its holdings count as its own. */
	ck_assert_int_eq(match_test(&inv, &r[2], 1, 6, 0, &t), 0);
	ck_assert_int_eq(t.fits, 1);
	ck_assert_int_eq(t.free[0], 1);
	ck_assert_str_eq(t.reason, "");
	reset();
}
END_TEST

START_TEST(new_only_skips_own_holdings)
{
	struct pp_request	r = ids(0x10de, -1, -1);
	size_t			out[1];
	char			why[1024];

	dev("0000:01:00.0", 0x10de, 0x1db4, 0x0302, 1, "vfio-pci")->vmid = 4;
	dev("0000:02:00.0", 0x10de, 0x1db4, 0x0302, 2, "vfio-pci");
	done();
	ck_assert_int_eq(assign(&r, 1, 4, MATCH_NEW, out, why), MATCH_OK);
	ck_assert_str_eq(got(out, 0), "0000:02:00.0");
	reset();
}
END_TEST

START_TEST(eight_gpus_with_audio)
{
	struct pp_request	r[16];
	size_t			out[16], i;
	char			why[1024], g[16], a[16];
	unsigned		busy[16] = { 0 };

	for (i = 0; i < 8; i++) {
		snprintf(g, sizeof(g), "0000:%02zx:00.0", i + 1);
		snprintf(a, sizeof(a), "0000:%02zx:00.1", i + 1);
		gpu_with_audio(g, a, (int)i + 1);
	}
	done();
	for (i = 0; i < 8; i++) {
		r[i] = ids(0x10de, -1, 0x0300);
		r[8 + i] = ids(0x10de, -1, 0x0403);
	}
	ck_assert_int_eq(assign(r, 16, 1, 0, out, why), MATCH_OK);
	/* Every bus gave its GPU and its audio function. */
	for (i = 0; i < 16; i++)
		busy[PP_BUS(inv.dev[out[i]].addr)] |= 1u << (i / 8);
	for (i = 1; i <= 8; i++)
		ck_assert_uint_eq(busy[i], 3);
	/* Seven GPUs and eight audio functions can never be met. */
	ck_assert_int_eq(assign(r + 1, 15, 1, 0, out, why), MATCH_NOFIT);
	reset();
}
END_TEST

/* A group whose kernel listing lost this device blocks it. */
START_TEST(unknown_group_membership_blocks)
{
	struct pp_request	r = ids(-1, -1, 0x0403);
	size_t			out[1];
	char			why[1024];

	gpu_with_audio("0000:03:00.0", "0000:03:00.1", 4);
	inv.nmember = 0;	/* iommu_groups/4/devices unreadable */
	done();
	ck_assert_int_eq(assign(&r, 1, 6, 0, out, why), MATCH_NOFIT);
	ck_assert_ptr_nonnull(strstr(why, "0000:03:00:1 IOMMU group 4 "
	    "membership unknown"));
	reset();
}
END_TEST

START_TEST(states_and_reasons)
{
	dev("0000:00:01.0", 0x1022, 0x1633, 0x0604, 5, "pcieport")->header =
	    1;
	gpu_with_audio("0000:01:00.0", "0000:01:00.1", 11);
	dev("0000:02:00.0", 0x10de, 0x1db4, 0x0302, -1, "");
	dev("0000:03:00.0", 0x10de, 0x1db4, 0x0302, 3, "")->vmid = 2;
	dev("0000:04:00.0", 0x10de, 0x1db4, 0x0302, 4, "");
	done();
	at("0000:03:00.0")->present = 0;
	at("0000:04:00.0")->critical = intern("boot VGA");
	ck_assert_int_eq(match_states(&inv, 0), 0);
	ck_assert_str_eq(at("0000:00:01.0")->state, "blocked");
	ck_assert_str_eq(dev_reason(at("0000:00:01.0")), "bridge");
	ck_assert_str_eq(at("0000:01:00.0")->state, "free");
	ck_assert_str_eq(dev_reason(at("0000:02:00.0")), "no IOMMU group");
	ck_assert_str_eq(at("0000:03:00.0")->state, "missing");
	ck_assert_str_eq(at("0000:04:00.0")->state, "blocked");
	ck_assert_str_eq(dev_reason(at("0000:04:00.0")), "host-critical: boot VGA");
	reset();
}
END_TEST

START_TEST(request_text)
{
	struct pp_request	r = ids(0x10de, -1, 0x0302), s;
	char			a[256], b[256];
	pp_addr			x;

	/* VMD domains have five digits; they round-trip. */
	ck_assert_int_eq(addr_parse("10000:e1:00:0", ADDR_ONE, &x), 0);
	ck_assert_str_eq(addr_fmt(x, ADDR_ONE, a, sizeof(a)),
	    "10000:e1:00:0");
	ck_assert_str_eq(addr_fmt(x, ADDR_SYSFS, a, sizeof(a)),
	    "10000:e1:00.0");
	ck_assert_int_eq(addr_parse("000:e1:00:0", ADDR_ONE, &x), -1);
	ck_assert_int_eq(addr_parse("0000:e1:20:0", ADDR_ONE, &x), -1);
	ck_assert_int_eq(addr_parse("0000:e1:00:8", ADDR_ONE, &x), -1);

	r.numa = 1;
	request_desc(&r, a, sizeof(a));
	ck_assert_str_eq(a, "VENDOR=10de,CLASS=0302,NUMA_NODE=1");
	s = r;
	request_norm(&r, a, sizeof(a));
	request_norm(&s, b, sizeof(b));
	ck_assert_str_eq(a, b);
	snprintf(s.nic.mac, sizeof(s.nic.mac), "02:00:00:00:00:01");
	request_norm(&s, b, sizeof(b));
	ck_assert_str_ne(a, b);
}
END_TEST

Suite *
match_suite(void)
{
	Suite	*s = suite_create("match");
	TCase	*tc = tcase_create("rules");

	tcase_add_test(tc, loose_never_takes_the_strict_ones_device);
	tcase_add_test(tc, never_bridges_groupless_or_pf_with_vfs);
	tcase_add_test(tc, vf_of_pf_with_vfs_is_allocatable);
	tcase_add_test(tc, host_driver_sibling_must_come_along);
	tcase_add_test(tc, bind_mode_takes_free_offered_sibling_along);
	tcase_add_test(tc, unoffered_sibling_on_host_driver_blocks);
	tcase_add_test(tc, harmless_sibling_drivers);
	tcase_add_test(tc, group_never_split_between_vms);
	tcase_add_test(tc, bridges_in_a_group_do_not_count);
	tcase_add_test(tc, backtracks_over_group_choice);
	tcase_add_test(tc, all_or_nothing);
	tcase_add_test(tc, numa_restriction);
	tcase_add_test(tc, by_address);
	tcase_add_test(tc, test_counts_and_reasons);
	tcase_add_test(tc, new_only_skips_own_holdings);
	tcase_add_test(tc, eight_gpus_with_audio);
	tcase_add_test(tc, states_and_reasons);
	tcase_add_test(tc, unknown_group_membership_blocks);
	tcase_add_test(tc, request_text);
	suite_add_tcase(s, tc);
	return s;
}
