/*
 * check_rules.c: one admission rule (server/rules.c), asked by every
 * caller. On every fixture and synthetic tree, with every device
 * offered, the matcher (may a VM get this device alone, siblings bound
 * along), the binder (would bind_plan bind it) and the host check (does
 * it pass) must give the same answer for each device. They once
 * disagreed: bind.c would bind a PF with VFs enabled, which the matcher
 * refused.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pcipassd.h"
#include "harness.h"
#include "trees.h"

/* Each offered endpoint of tree: the three callers agree. Returns how
 * many devices each verdict had, for the caller to check coverage. */
static void
agree(const char *tree, const char *name, int *yes, int *no)
{
	struct host_ctx		 h;
	struct pp_request	 r;
	const struct pp_device	*d;
	char			 conf[600], why[4096], *out = NULL, want[96];
	char			 a[PP_ADDR_SYSFS_LEN];
	size_t			 len = 0, i, got[PP_MAXREQ], nall;
	pp_addr			*all;
	FILE			*fp;
	int			 m, b, c;

	memset(&h, 0, sizeof(h));
	snprintf(conf, sizeof(conf), "%s/all.conf", scratch_dir());
	write_file(conf, ":filter: '*:*'\n");
	h.conf.sysfs_root = tree;
	h.conf.proc_root = "/nonexistent";
	h.conf.filter = conf;
	ck_assert_ptr_nonnull(h.filter = filter_load(conf, NULL, NULL));
	ck_assert_int_eq(inventory_scan(&h.conf, h.filter, &h.inv), 0);
	fp = open_memstream(&out, &len);
	log_to(fp);
	host_check(&h, fp);
	log_to(NULL);
	fclose(fp);
	for (i = 0; i < h.inv.ndev; i++) {
		d = &h.inv.dev[i];
		if (!d->offered || device_is_bridge(d))
			continue;
		memset(&r, 0, sizeof(r));
		r.vendor = r.device = r.class = r.numa = -1;
		r.has_addr = 1;
		r.addr = d->addr;
		m = match_assign(&h.inv, &r, 1, 1, MATCH_BIND, got, why,
		    sizeof(why)) == MATCH_OK;
		b = bind_plan(&h.inv, &d->addr, 1, 1, &all, &nall, why,
		    sizeof(why)) == 0;
		if (b)
			free(all);
		addr_fmt(d->addr, ADDR_SYSFS, a, sizeof(a));
		snprintf(want, sizeof(want), "ok   %s IOMMU group %d is ", a,
		    d->iommu);
		c = strstr(out, want) != NULL;
		ck_assert_msg(m == b && b == c, "%s %s: matcher %s, binder "
		    "%s, host check %s\n%s", name, a, m ? "yes" : "no",
		    b ? "yes" : "no", c ? "yes" : "no", out);
		*yes += m;
		*no += !m;
	}
	free(out);
	inventory_free(&h.inv);
	filter_free(h.filter);
}

START_TEST(callers_agree_on_every_tree)
{
	int	yes = 0, no = 0;
	size_t	i;

	for (i = 0; i < nfixtures; i++)
		agree(tree_fixture(fixture_names[i]), fixture_names[i], &yes,
		    &no);
	agree(tree_text(NVIDIA_TREE), "NVIDIA_TREE", &yes, &no);
	agree(tree_text(ODD_TREE), "ODD_TREE", &yes, &no);
	/* Both answers were given, on many devices. */
	ck_assert_int_gt(yes, 50);
	ck_assert_int_gt(no, 50);
}
END_TEST

/* The case they disagreed on: a PF with VFs enabled is never bound. */
START_TEST(pf_with_vfs_never_bound)
{
	struct pp_config	 c = { .proc_root = "/nonexistent" };
	struct pp_filter	*f;
	struct pp_inventory	 inv;
	char			 conf[600], why[512];
	pp_addr			 pf = PP_ADDR(0, 1, 0, 0), *all;
	size_t			 nall;

	c.sysfs_root = tree_text(NVIDIA_TREE);
	snprintf(conf, sizeof(conf), "%s/all.conf", scratch_dir());
	write_file(conf, ":filter: '*:*'\n");
	ck_assert_ptr_nonnull(f = filter_load(conf, NULL, NULL));
	ck_assert_int_eq(inventory_scan(&c, f, &inv), 0);
	ck_assert_int_eq(bind_plan(&inv, &pf, 1, -1, &all, &nall, why,
	    sizeof(why)), -1);
	ck_assert_str_eq(why, "0000:01:00.0: an SR-IOV PF with 2 VFs enabled "
	    "(unbinding it destroys them; give a VF instead)");
	ck_assert_int_eq(rule_device(inventory_find(&inv, pf), -1),
	    RULE_VFS_ENABLED);
	inventory_free(&inv);
	filter_free(f);
}
END_TEST

/*
 * A sibling the same VM already holds needs nothing (attach of the audio
 * function of a GPU the VM has); held by another VM it forbids the bind.
 * The matcher and the binder say the same.
 */
START_TEST(held_sibling)
{
	struct pp_config	 c = { .proc_root = "/nonexistent" };
	struct pp_filter	*f;
	struct pp_inventory	 inv;
	struct pp_request	 r;
	struct pp_device	*gpu;
	char			 conf[600], why[4096];
	pp_addr			 audio = PP_ADDR(0, 1, 0, 1), *all;
	size_t			 nall, got[PP_MAXREQ];

	c.sysfs_root = tree_text("01:00.0 VGA compatible controller [0300]: "
	    "NVIDIA Corporation GP106 [10de:1c03]\n\tKernel driver in use: "
	    "vfio-pci\n\tIOMMU group: 1\n01:00.1 Audio device [0403]: NVIDIA "
	    "Corporation GP106 Audio [10de:10f1]\n\tKernel driver in use: "
	    "snd_hda_intel\n\tIOMMU group: 1\n");
	snprintf(conf, sizeof(conf), "%s/all.conf", scratch_dir());
	write_file(conf, ":filter: '*:*'\n");
	ck_assert_ptr_nonnull(f = filter_load(conf, NULL, NULL));
	ck_assert_int_eq(inventory_scan(&c, f, &inv), 0);
	gpu = inventory_find(&inv, PP_ADDR(0, 1, 0, 0));
	gpu->vmid = 7;
	memset(&r, 0, sizeof(r));
	r.vendor = r.device = r.class = r.numa = -1;
	r.has_addr = 1;
	r.addr = audio;
	ck_assert_int_eq(bind_plan(&inv, &audio, 1, 7, &all, &nall, why,
	    sizeof(why)), 0);
	ck_assert_uint_eq(nall, 1);
	ck_assert(all[0] == audio);
	free(all);
	ck_assert_int_eq(match_assign(&inv, &r, 1, 7, MATCH_BIND, got, why,
	    sizeof(why)), MATCH_OK);
	ck_assert_int_eq(bind_plan(&inv, &audio, 1, 8, &all, &nall, why,
	    sizeof(why)), -1);
	ck_assert_str_eq(why, "0000:01:00.0 (IOMMU group 1 of 0000:01:00.1): "
	    "held by VM 7");
	ck_assert_int_ne(match_assign(&inv, &r, 1, 8, MATCH_BIND, got, why,
	    sizeof(why)), MATCH_OK);
	inventory_free(&inv);
	filter_free(f);
}
END_TEST

Suite *
rules_suite(void)
{
	Suite	*s = suite_create("rules");
	TCase	*tc = tcase_create("agree");

	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, NULL, cleanup_dirs);
	tcase_add_test(tc, callers_agree_on_every_tree);
	tcase_add_test(tc, pf_with_vfs_never_bound);
	tcase_add_test(tc, held_sibling);
	suite_add_tcase(s, tc);
	return s;
}
