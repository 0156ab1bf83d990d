/*
 * pci.reconcile's decision: this host's ledger against the frontend's
 * (oned's) view of the same host, which is the truth (API.md). Pure: it
 * reads a working copy of the inventory and leaves in it the state that
 * applying the plan makes, so the answer with and without apply is the
 * same text, and ops.c (reconcile_write) only writes what is planned
 * here.
 *
 * In the frontend's view a device is held by one VM or by none. Here, in
 * address order:
 *
 *	here		view		class
 *	V		V		agree (not reported)
 *	V		nobody		LEAKED if taken before as_of, else RECENT
 *	W		V		CONFLICT (never changed)
 *	free		V		MISSING if the rules let V take it, else
 *					CONFLICT with the rule; CONFLICT too if
 *					it was let go here at or after as_of
 *					(the view is older than the release)
 *	no device	V		CONFLICT
 *
 * LEAKED holdings are let go first, so a device they freed can be
 * adopted. A leaked device whose release would leave its IOMMU group
 * shared between its VM and the host (the VM keeps a sibling) is kept
 * and reported as a CONFLICT of that VM. Each VM's MISSING devices are
 * tried together first (the IOMMU rule may demand them together), then
 * one by one, ascending VMID.
 */
#include <stdlib.h>
#include <string.h>

#include "pcipassd.h"

static int
item_add(struct rc_plan *p, int cls, int vmid, pp_addr a, int act,
    const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static int
item_add(struct rc_plan *p, int cls, int vmid, pp_addr a, int act,
    const char *fmt, ...)
{
	struct rc_item	*it;
	va_list		 ap;

	if (p->n[cls] == p->cap[cls]) {
		size_t	cap = p->cap[cls] ? p->cap[cls] * 2 : 16;

		if ((it = reallocarray(p->item[cls], cap, sizeof(*it))) ==
		    NULL)
			return -1;
		p->item[cls] = it;
		p->cap[cls] = cap;
	}
	it = &p->item[cls][p->n[cls]++];
	memset(it, 0, sizeof(*it));
	it->vmid = vmid;
	it->addr = a;
	it->act = act;
	va_start(ap, fmt);
	vsnprintf(it->reason, sizeof(it->reason), fmt, ap);
	va_end(ap);
	return 0;
}

static int
item_cmp(const void *x, const void *y)
{
	const struct rc_item	*a = x, *b = y;

	if (a->addr != b->addr)
		return a->addr < b->addr ? -1 : 1;
	return a->vmid < b->vmid ? -1 : a->vmid > b->vmid;
}

static int
holding_cmp(const void *x, const void *y)
{
	const struct rc_holding	*a = x, *b = y;

	if (a->addr != b->addr)
		return a->addr < b->addr ? -1 : 1;
	return 0;
}

static int
by_vmid(const void *x, const void *y)
{
	const struct rc_holding	*a = x, *b = y;

	if (a->vmid != b->vmid)
		return a->vmid < b->vmid ? -1 : 1;
	return a->addr < b->addr ? -1 : a->addr > b->addr;
}

/* The frontend's VM for address a, or -1. */
static int
view_of(const struct rc_holding *h, size_t nh, pp_addr a)
{
	struct rc_holding	 key = { -1, a };
	const struct rc_holding	*f;

	f = bsearch(&key, h, nh, sizeof(*h), holding_cmp);
	return f != NULL ? f->vmid : -1;
}

static int
next_index(const struct pp_inventory *w, int vmid)
{
	size_t	i;
	int	next = 0;

	for (i = 0; i < w->ndev; i++)
		if (w->dev[i].vmid == vmid && w->dev[i].req_index >= next)
			next = w->dev[i].req_index + 1;
	return next;
}

static void
let_go(struct pp_device *d)
{
	d->vmid = -1;
	d->taken = 0;
	if (!d->present)
		d->offered = 0;		/* its row goes: nobody may take it */
}

/*
 * LEAKED and RECENT. Leaked devices are let go in w together; one whose
 * release would split its group is given back and reported as a
 * CONFLICT, until nothing changes.
 */
static int
plan_leaks(struct pp_inventory *w, const struct rc_holding *h, size_t nh,
    int64_t as_of, struct rc_plan *p)
{
	struct pp_device	*d;
	char			*leak, why[512];
	int64_t			*taken;
	int			*owner, changed;
	size_t			 i;
	int			 rc = -1;

	leak = calloc(w->ndev ? w->ndev : 1, 1);
	owner = calloc(w->ndev ? w->ndev : 1, sizeof(*owner));
	taken = calloc(w->ndev ? w->ndev : 1, sizeof(*taken));
	if (leak == NULL || owner == NULL || taken == NULL)
		goto out;
	for (i = 0; i < w->ndev; i++) {
		d = &w->dev[i];
		if (d->vmid < 0 || view_of(h, nh, d->addr) >= 0)
			continue;
		if (d->taken >= as_of) {
			if (item_add(p, RC_RECENT, d->vmid, d->addr, 0,
			    "not in the frontend's view; taken at %lld, not "
			    "before as_of %lld (a deploy in flight?)",
			    (long long)d->taken, (long long)as_of) < 0)
				goto out;
			continue;
		}
		leak[i] = 1;
		owner[i] = d->vmid;
		taken[i] = d->taken;
		let_go(d);
	}
	do {
		changed = 0;
		for (i = 0; i < w->ndev; i++) {
			d = &w->dev[i];
			if (!leak[i] || !match_detach_splits(w, d, owner[i],
			    why, sizeof(why)))
				continue;
			/* Given back whole: it stays the VM's, as it was. */
			leak[i] = 0;
			d->vmid = owner[i];
			d->taken = taken[i];
			changed = 1;
			if (item_add(p, RC_CONFLICT, owner[i], d->addr, 0,
			    "not in the frontend's view, and kept: %s", why) <
			    0)
				goto out;
		}
	} while (changed);
	for (i = 0; i < w->ndev; i++)
		if (leak[i] && item_add(p, RC_LEAKED, owner[i],
		    w->dev[i].addr, 1, "not in the frontend's view; taken at "
		    "%lld, before as_of %lld", (long long)taken[i],
		    (long long)as_of) < 0)
			goto out;
	rc = 0;
out:
	free(leak);
	free(owner);
	free(taken);
	return rc;
}

/* Take devs for vmid in w; 0 when the rules allow it, else why. */
static int
try_take(struct pp_inventory *w, int vmid, const pp_addr *a, size_t n,
    int mflags, int64_t now, char *why, size_t len)
{
	struct pp_request	req[PP_MAXREQ];
	size_t			idx[PP_MAXREQ], i;
	int			next, rc;

	memset(req, 0, sizeof(req));
	for (i = 0; i < n; i++) {
		req[i].vendor = req[i].device = req[i].class = -1;
		req[i].numa = -1;
		req[i].has_addr = 1;
		req[i].addr = a[i];
	}
	rc = match_assign(w, req, n, vmid, mflags | MATCH_NEW, idx, why, len);
	if (rc != MATCH_OK)
		return rc < 0 ? -1 : 1;
	next = next_index(w, vmid);
	for (i = 0; i < n; i++) {
		w->dev[idx[i]].vmid = vmid;
		w->dev[idx[i]].req_index = next + (int)i;
		w->dev[idx[i]].taken = now;
	}
	return 0;
}

/* One VM's free devices of the view: together, else one by one. */
static int
adopt_vm(struct pp_inventory *w, int vmid, const pp_addr *a, size_t n,
    int mflags, int64_t now, struct rc_plan *p)
{
	char	why[4096];
	size_t	i;
	int	joint = 1, rc;		/* joint: 0 when taken together */

	if (n <= PP_MAXREQ && (joint = try_take(w, vmid, a, n, mflags, now,
	    why, sizeof(why))) < 0)
		return -1;
	for (i = 0; i < n; i++) {
		/* Not together: each alone, on what the others left. */
		rc = joint;
		if (joint != 0 && n > 1 && (rc = try_take(w, vmid, &a[i], 1,
		    mflags, now, why, sizeof(why))) < 0)
			return -1;
		if (rc == 0 ? item_add(p, RC_MISSING, vmid, a[i], 1, "free "
		    "here; the rules let VM %d take it", vmid) < 0 :
		    item_add(p, RC_CONFLICT, vmid, a[i], 0, "free here, but "
		    "VM %d may not take it: %s", vmid, why) < 0)
			return -1;
	}
	return 0;
}

int
reconcile_plan(struct pp_inventory *w, const struct rc_holding *view,
    size_t nh, int64_t as_of, int64_t now, int mflags, struct rc_plan *p)
{
	struct rc_holding	*h = NULL, *miss = NULL;
	struct pp_device	*d;
	char			 buf[PP_ADDR_SYSFS_LEN];
	size_t			 i, j, nmiss = 0;
	int			 rc = -1, w_vm;
	pp_addr			*a = NULL;

	memset(p, 0, sizeof(*p));
	if ((h = malloc((nh ? nh : 1) * sizeof(*h))) == NULL ||
	    (miss = malloc((nh ? nh : 1) * sizeof(*miss))) == NULL ||
	    (a = malloc((nh ? nh : 1) * sizeof(*a))) == NULL)
		goto out;
	if (nh > 0)
		memcpy(h, view, nh * sizeof(*h));
	qsort(h, nh, sizeof(*h), holding_cmp);
	for (i = 1; i < nh; i++)
		if (h[i].addr == h[i - 1].addr)
			goto out;	/* the caller refused this */
	if (plan_leaks(w, h, nh, as_of, p) < 0)
		goto out;
	for (i = 0; i < nh; i++) {
		d = inventory_find(w, h[i].addr);
		w_vm = d != NULL ? d->vmid : -1;
		if (d == NULL) {
			if (item_add(p, RC_CONFLICT, h[i].vmid, h[i].addr, 0,
			    "no device %s on this host", addr_fmt(h[i].addr,
			    ADDR_ONE, buf, sizeof(buf))) < 0)
				goto out;
		} else if (w_vm == h[i].vmid)
			continue;
		else if (w_vm >= 0) {
			if (item_add(p, RC_CONFLICT, h[i].vmid, h[i].addr, 0,
			    "held here by VM %d%s", w_vm, d->present ? "" :
			    " (gone from sysfs)") < 0)
				goto out;
		} else if (d->freed > 0 && d->freed >= as_of) {
			/* Let go here after the view was read: the view
			 * still has a VM that is on its way out. */
			if (item_add(p, RC_CONFLICT, h[i].vmid, h[i].addr, 0,
			    "released here at %lld, not before as_of %lld: "
			    "the view is older than that", (long long)d->freed,
			    (long long)as_of) < 0)
				goto out;
		} else
			miss[nmiss++] = h[i];
	}
	qsort(miss, nmiss, sizeof(*miss), by_vmid);
	for (i = 0; i < nmiss; i = j) {
		for (j = i; j < nmiss && miss[j].vmid == miss[i].vmid; j++)
			a[j - i] = miss[j].addr;
		if (adopt_vm(w, miss[i].vmid, a, j - i, mflags, now, p) < 0)
			goto out;
	}
	for (i = 0; i < RC_N; i++)
		if (p->n[i] > 1)
			qsort(p->item[i], p->n[i], sizeof(*p->item[i]),
			    item_cmp);
	rc = 0;
out:
	free(h);
	free(miss);
	free(a);
	if (rc < 0)
		reconcile_plan_free(p);
	return rc;
}

void
reconcile_plan_free(struct rc_plan *p)
{
	size_t	i;

	for (i = 0; i < RC_N; i++)
		free(p->item[i]);
	memset(p, 0, sizeof(*p));
}
