/*
 * The matcher: requests x devices -> assignment, under the rules of
 * API.md. Pure: it reads an inventory and writes nothing but its output.
 *
 * Plain matching would do with augmenting paths, but the IOMMU rule can
 * make a device need a sibling taken in the same call (a GPU whose audio
 * function is on a host driver), so this is a small exact search: depth
 * first over requests, most constrained first, pruned at every node by
 * two bipartite matchings (the open requests must all be matchable, and
 * so must every sibling the chosen devices need; by Mendelsohn-Dulmage
 * both together are then possible).
 */
#include <stdlib.h>
#include <string.h>

#include "pcipassd.h"

#define SEARCH_BUDGET	200000		/* nodes before MATCH_LIMIT */
#define NONE		((size_t)-1)

_Static_assert(PP_MAXREQ <= 32, "struct search's hits are 32-bit masks");

/* What the rules say of one device for one VM. */
struct node {
	int		 blocked;
	size_t		*need;		/* sibling devices to take along */
	size_t		 nneed;
	size_t		 why;		/* in search's pool; 0: "" */
};

struct search {
	const struct pp_inventory	*inv;
	const struct pp_request		*req;
	size_t				 nreq;
	struct node			*node;		/* per device */
	size_t				*cand[PP_MAXREQ];
	size_t				 ncand[PP_MAXREQ];
	size_t				 assign[PP_MAXREQ];
	size_t				 twin[PP_MAXREQ];	/* earlier same */
	int				*chosen;	/* per device: req or -1 */
	int				*required;	/* per device: refs */
	int				*mark;		/* matching scratch */
	uint32_t			*hits;		/* per device: bit r
							   when req r matches */
	int				 stamp;
	long				 budget;
	int				 vmid, flags;
	char				*pool;		/* the reasons */
	size_t				 npool, poolcap;
};

int
request_matches(const struct pp_request *r, const struct pp_device *d)
{
	if (r->has_addr && r->addr != d->addr)
		return 0;
	if (r->vendor >= 0 && (unsigned)r->vendor != d->vendor)
		return 0;
	if (r->device >= 0 && (unsigned)r->device != d->device)
		return 0;
	if (r->class >= 0 && (unsigned)r->class != d->class)
		return 0;
	if (r->numa >= 0 && r->numa != d->numa)
		return 0;
	if (r->profile[0] != '\0' && rule_profile(d, r->profile) != PROF_OK)
		return 0;
	return 1;
}

/* The canonical text of a request, for comparing retries. */
void
request_norm(const struct pp_request *r, char *buf, size_t len)
{
	char	a[PP_ADDR_SYSFS_LEN];

	/* PROFILE only when given: the text of a request without one is
	 * what version 2 databases stored, so their retries still match. */
	snprintf(buf, len, "%s|%d|%d|%d|%d|%d|%s|%s|%s|%s|%s%s%s",
	    r->has_addr ? addr_fmt(r->addr, ADDR_SYSFS, a, sizeof(a)) : "",
	    r->vendor, r->device, r->class, r->numa, r->nic.nic, r->nic.mac,
	    r->nic.ip, r->nic.ip6, r->nic.vlan_id, r->nic.network,
	    r->profile[0] ? "|" : "", r->profile);
}

/* A request as people write it: "VENDOR=10de,CLASS=0302". */
void
request_desc(const struct pp_request *r, char *buf, size_t len)
{
	char	a[PP_ADDR_SYSFS_LEN];
	size_t	n = 0;

	buf[0] = '\0';
#define APPEND(...) do { if (n < len) n += (size_t)snprintf(buf + n, \
    len - n, __VA_ARGS__); } while (0)
	if (r->has_addr)
		APPEND("ADDRESS=%s", addr_fmt(r->addr, ADDR_ONE, a, sizeof(a)));
	if (r->vendor >= 0)
		APPEND("%sVENDOR=%04x", n ? "," : "", (unsigned)r->vendor);
	if (r->device >= 0)
		APPEND("%sDEVICE=%04x", n ? "," : "", (unsigned)r->device);
	if (r->class >= 0)
		APPEND("%sCLASS=%04x", n ? "," : "", (unsigned)r->class);
	if (r->numa >= 0)
		APPEND("%sNUMA_NODE=%d", n ? "," : "", r->numa);
	if (r->profile[0] != '\0')
		APPEND("%sPROFILE=%s", n ? "," : "", r->profile);
#undef APPEND
}

/*
 * Why a device cannot go to vmid on its own account (server/rules.c, plus
 * its presence and holder); NULL if it can.
 */
static const char *
own_block(const struct pp_device *d, int vmid, char *buf, size_t len)
{
	if (!d->present)
		return snprintf(buf, len, "missing: %s", dev_reason(d)), buf;
	if (d->vmid >= 0 && d->vmid != vmid)
		return snprintf(buf, len, "used by VM %d", d->vmid), buf;
	return rule_why(d, rule_device(d, vmid), buf, len);
}

/* Does the kernel's listing of d's group, from member first on, name d? */
static int
group_lists(const struct pp_inventory *inv, const struct pp_device *d,
    size_t first)
{
	size_t	m;

	for (m = first; m < inv->nmember &&
	    inv->member[m].group == d->iommu; m++)
		if (inv->member[m].addr == d->addr)
			return 1;
	return 0;
}

/*
 * One sibling e of a device, for vmid: 0 fine, 1 must be taken in the
 * same call, -1 blocks (why set).
 */
static int
sibling(const struct pp_inventory *inv, pp_addr ea, int vmid, int flags,
    char *why, size_t len)
{
	const struct pp_device	*e = inventory_find(inv, ea);
	enum sibling		 rule = rule_sibling(e, vmid);
	char			 a[PP_ADDR_SYSFS_LEN];

	if (rule == SIB_FREE)
		return 0;
	if (rule == SIB_ALONG)
		return (flags & MATCH_BIND) ? 0 : 1;
	addr_fmt(ea, ADDR_ONE, a, sizeof(a));
	switch (rule) {
	case SIB_UNKNOWN:
		return snprintf(why, len, "sibling %s not in the inventory",
		    a), -1;
	case SIB_HELD:
		return snprintf(why, len, "sibling %s held by VM %d", a,
		    e->vmid), -1;
	default:
		return snprintf(why, len, "sibling %s on driver %s", a,
		    e->driver), -1;
	}
}

/*
 * Assess device i for vmid into n: blocked with a reason (in why), or
 * usable with the siblings it needs. Returns -1 only when out of memory.
 */
static int
assess(const struct pp_inventory *inv, size_t i, int vmid, int flags,
    struct node *n, char *whybuf, size_t len)
{
	const struct pp_device	*d = &inv->dev[i];
	const char		*why;
	size_t			 first, m;
	int			 s;

	memset(n, 0, sizeof(*n));
	whybuf[0] = '\0';
	if ((why = own_block(d, vmid, whybuf, len)) != NULL) {
		if (why != whybuf)
			snprintf(whybuf, len, "%s", why);
		n->blocked = 1;
		return 0;
	}
	/*
	 * Fail closed: a group whose kernel listing did not name this
	 * device (unreadable or empty iommu_groups/N/devices) has unknown
	 * siblings, and would otherwise look like a group of one.
	 */
	first = rule_group_first(inv, d->iommu);
	if (!group_lists(inv, d, first)) {
		snprintf(whybuf, len, "IOMMU group %d membership "
		    "unknown", d->iommu);
		n->blocked = 1;
		return 0;
	}
	for (m = first; m < inv->nmember &&
	    inv->member[m].group == d->iommu; m++) {
		if (inv->member[m].addr == d->addr)
			continue;
		s = sibling(inv, inv->member[m].addr, vmid, flags, whybuf,
		    len);
		if (s < 0) {
			n->blocked = 1;
			free(n->need);
			n->need = NULL;
			n->nneed = 0;
			return 0;
		}
		if (s == 0)
			continue;
		if ((n->need = reallocarray(n->need, n->nneed + 1,
		    sizeof(*n->need))) == NULL)
			return -1;
		n->need[n->nneed++] = (size_t)(inventory_find(inv,
		    inv->member[m].addr) - inv->dev);
	}
	return 0;
}

/* Kuhn's augmenting path from request r over unchosen candidates. */
static int
augment_req(struct search *s, size_t r, int *owner)
{
	size_t	k, dv;

	for (k = 0; k < s->ncand[r]; k++) {
		dv = s->cand[r][k];
		if (s->chosen[dv] >= 0 || s->mark[dv] == s->stamp)
			continue;
		s->mark[dv] = s->stamp;
		if (owner[dv] < 0 || augment_req(s, (size_t)owner[dv], owner)) {
			owner[dv] = (int)r;
			return 1;
		}
	}
	return 0;
}

static int	candidate(const struct search *, size_t, size_t, int, int);
static int	matched_by_any(const struct search *, size_t);

static int
accepts(const struct search *s, size_t r, size_t dv)
{
	return s->assign[r] == NONE && candidate(s, r, dv, s->vmid, s->flags);
}

/* Augmenting path from a required device dv over open requests. */
static int
augment_dev(struct search *s, size_t dv, size_t *rowner, int *rmark)
{
	size_t	r;

	for (r = 0; r < s->nreq; r++) {
		if (rmark[r] || !accepts(s, r, dv))
			continue;
		rmark[r] = 1;
		if (rowner[r] == NONE || augment_dev(s, rowner[r], rowner,
		    rmark)) {
			rowner[r] = dv;
			return 1;
		}
	}
	return 0;
}

/* Can the open requests, and the needed siblings, still all be met? */
static int
feasible(struct search *s, int *owner)
{
	size_t	r, dv, rowner[PP_MAXREQ];
	int	rmark[PP_MAXREQ];

	for (dv = 0; dv < s->inv->ndev; dv++)
		owner[dv] = -1;
	for (r = 0; r < s->nreq; r++) {
		if (s->assign[r] != NONE)
			continue;
		s->stamp++;
		if (!augment_req(s, r, owner))
			return 0;
	}
	for (r = 0; r < s->nreq; r++)
		rowner[r] = NONE;
	for (dv = 0; dv < s->inv->ndev; dv++) {
		if (s->required[dv] == 0 || s->chosen[dv] >= 0)
			continue;
		memset(rmark, 0, sizeof(rmark));
		if (!augment_dev(s, dv, rowner, rmark))
			return 0;
	}
	return 1;
}

static void
choose(struct search *s, size_t r, size_t dv, int delta)
{
	size_t	k;

	s->chosen[dv] = delta > 0 ? (int)r : -1;
	s->assign[r] = delta > 0 ? dv : NONE;
	for (k = 0; k < s->node[dv].nneed; k++)
		s->required[s->node[dv].need[k]] += delta;
}

/*
 * Requests that match alike are interchangeable: any solution can give
 * them devices in ascending inventory order, so the search only tries
 * that order (without it, seven GPU requests over eight GPUs would try
 * every permutation before proving a misfit).
 */
static int
same_match(const struct pp_request *a, const struct pp_request *b)
{
	return a->vendor == b->vendor && a->device == b->device &&
	    a->class == b->class && a->has_addr == b->has_addr &&
	    (!a->has_addr || a->addr == b->addr) && a->numa == b->numa;
}

static void
find_twins(struct search *s)
{
	size_t	r, q;

	for (r = 0; r < s->nreq; r++) {
		s->twin[r] = NONE;
		for (q = r; q-- > 0;)
			if (same_match(&s->req[q], &s->req[r])) {
				s->twin[r] = q;
				break;
			}
	}
}

/* The open request with the fewest unchosen candidates. */
static size_t
pick_request(const struct search *s)
{
	size_t	r, k, n, best = NONE, bestn = 0;

	for (r = 0; r < s->nreq; r++) {
		if (s->assign[r] != NONE || (s->twin[r] != NONE &&
		    s->assign[s->twin[r]] == NONE))
			continue;
		for (n = 0, k = 0; k < s->ncand[r]; k++)
			n += s->chosen[s->cand[r][k]] < 0;
		if (best == NONE || n < bestn) {
			best = r;
			bestn = n;
		}
	}
	return best;
}

static int
dfs(struct search *s, int *owner)
{
	size_t	r, k, dv;
	int	rc;

	if (--s->budget < 0)
		return MATCH_LIMIT;
	if (!feasible(s, owner))
		return MATCH_NOFIT;
	if ((r = pick_request(s)) == NONE) {
		for (dv = 0; dv < s->inv->ndev; dv++)
			if (s->required[dv] > 0 && s->chosen[dv] < 0)
				return MATCH_NOFIT;
		return MATCH_OK;
	}
	for (k = 0; k < s->ncand[r]; k++) {
		dv = s->cand[r][k];
		if (s->chosen[dv] >= 0 || (s->twin[r] != NONE &&
		    dv <= s->assign[s->twin[r]]))
			continue;
		choose(s, r, dv, 1);
		if ((rc = dfs(s, owner)) != MATCH_NOFIT)
			return rc;
		choose(s, r, dv, -1);
	}
	return MATCH_NOFIT;
}

static void
search_free(struct search *s)
{
	size_t	i;

	if (s->node != NULL)
		for (i = 0; i < s->inv->ndev; i++)
			free(s->node[i].need);
	for (i = 0; i < s->nreq; i++)
		free(s->cand[i]);
	free(s->node);
	free(s->chosen);
	free(s->required);
	free(s->mark);
	free(s->hits);
	free(s->pool);
}

/* Keep why for node n, which is blocked. */
static int
keep_why(struct search *s, struct node *n, const char *why)
{
	size_t	len = strlen(why) + 1, cap;
	char	*np;

	if (s->npool + len > s->poolcap) {
		cap = s->poolcap ? s->poolcap * 2 : 4096;
		while (cap < s->npool + len)
			cap *= 2;
		if ((np = realloc(s->pool, cap)) == NULL)
			return -1;
		s->pool = np;
		s->poolcap = cap;
	}
	memcpy(s->pool + s->npool, why, len);
	n->why = s->npool;
	s->npool += len;
	return 0;
}

static int
candidate(const struct search *s, size_t r, size_t i, int vmid, int flags)
{
	if ((flags & MATCH_NEW) && vmid >= 0 && s->inv->dev[i].vmid == vmid)
		return 0;
	return !s->node[i].blocked &&
	    (s->hits[i] >> r & 1);
}

static int
search_init(struct search *s, const struct pp_inventory *inv,
    const struct pp_request *req, size_t nreq, int vmid, int flags)
{
	size_t	i, r, n = inv->ndev ? inv->ndev : 1;
	char	why[PP_REASON_LEN];

	memset(s, 0, sizeof(*s));
	s->inv = inv;
	s->req = req;
	s->nreq = nreq;
	s->budget = SEARCH_BUDGET;
	s->vmid = vmid;
	s->flags = flags;
	s->node = calloc(n, sizeof(*s->node));
	s->chosen = calloc(n, sizeof(*s->chosen));
	s->required = calloc(n, sizeof(*s->required));
	s->mark = calloc(n, sizeof(*s->mark));
	s->hits = calloc(n, sizeof(*s->hits));
	if (!s->node || !s->chosen || !s->required || !s->mark || !s->hits ||
	    keep_why(s, &s->node[0], "") < 0)	/* offset 0 */
		return -1;
	/*
	 * Only a device some request matches is ever a candidate, chosen or
	 * explained; the others are left blocked without a reason, which
	 * spares formatting a reason for every device of a big host.
	 */
	for (i = 0; i < inv->ndev; i++) {
		s->chosen[i] = -1;
		for (r = 0; r < nreq; r++)
			s->hits[i] |= (uint32_t)request_matches(&req[r],
			    &inv->dev[i]) << r;
		if (!matched_by_any(s, i))
			s->node[i].blocked = 1;
		else if (assess(inv, i, vmid, flags, &s->node[i], why,
		    sizeof(why)) < 0 || (s->node[i].blocked &&
		    keep_why(s, &s->node[i], why) < 0))
			return -1;
	}
	find_twins(s);
	for (r = 0; r < nreq; r++) {
		s->assign[r] = NONE;
		for (n = 0, i = 0; i < inv->ndev; i++)
			n += candidate(s, r, i, vmid, flags);
		if ((s->cand[r] = calloc(n ? n : 1, sizeof(size_t))) == NULL)
			return -1;
		/* Free-standing devices first, each part by address. */
		for (i = 0; i < inv->ndev; i++)
			if (candidate(s, r, i, vmid, flags) &&
			    s->node[i].nneed == 0)
				s->cand[r][s->ncand[r]++] = i;
		for (i = 0; i < inv->ndev; i++)
			if (candidate(s, r, i, vmid, flags) &&
			    s->node[i].nneed > 0)
				s->cand[r][s->ncand[r]++] = i;
	}
	return 0;
}

static int
run_search(struct search *s)
{
	int	*owner, rc;

	if ((owner = calloc(s->inv->ndev ? s->inv->ndev : 1,
	    sizeof(*owner))) == NULL)
		return -1;
	rc = dfs(s, owner);
	free(owner);
	return rc;
}

struct text {
	char	*buf;
	size_t	 len, n;
};

static void
tprintf(struct text *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
tprintf(struct text *t, const char *fmt, ...)
{
	va_list	ap;
	int	w;

	if (t->n >= t->len)
		return;
	va_start(ap, fmt);
	w = vsnprintf(t->buf + t->n, t->len - t->n, fmt, ap);
	va_end(ap);
	if (w > 0)
		t->n += (size_t)w;
	if (t->n >= t->len)
		t->n = t->len;
}

/*
 * No device offers request r's PROFILE now: say so of each vGPU that
 * would otherwise match (not offered, no instance left).
 */
static void
explain_profile(const struct search *s, size_t r, struct text *t)
{
	struct pp_request	 q = s->req[r];
	const struct pp_device	*d;
	char			 a[PP_ADDR_SYSFS_LEN], why[256];
	size_t			 i, shown = 0;

	q.profile[0] = '\0';
	for (i = 0; i < s->inv->ndev && shown < 8; i++) {
		d = &s->inv->dev[i];
		if (d->mdev_mode[0] == '\0' || !request_matches(&q, d) ||
		    !device_listed(d))
			continue;
		tprintf(t, "%s %s %s", shown ? "," : ";",
		    addr_fmt(d->addr, ADDR_ONE, a, sizeof(a)),
		    rule_profile_why(rule_profile(d, s->req[r].profile),
		    s->req[r].profile, why, sizeof(why)));
		shown++;
	}
}

/*
 * Explain request r: how many devices match it and why each unusable
 * one is unavailable. Also counts those that could serve it alone.
 */
static int
explain(const struct search *s, size_t r, struct text *t, int *nfree)
{
	const struct pp_device	*d;
	char			 desc[128], a[PP_ADDR_SYSFS_LEN];
	size_t			 i, nmatch = 0, shown = 0;
	int			 usable = 0;

	*nfree = 0;
	for (i = 0; i < s->inv->ndev; i++) {
		d = &s->inv->dev[i];
		if ((s->hits[i] >> r & 1) && device_listed(d)) {
			nmatch++;
			usable += !s->node[i].blocked;
			*nfree += !s->node[i].blocked &&
			    s->node[i].nneed == 0;
		}
	}
	if (usable > 0)
		return 0;
	request_desc(&s->req[r], desc, sizeof(desc));
	tprintf(t, "%srequest %zu (%s): %zu device%s match%s", t->n ? "; " :
	    "", r, desc, nmatch, nmatch == 1 ? "" : "s",
	    nmatch == 1 ? "es" : "");
	for (i = 0; i < s->inv->ndev && shown < 8; i++) {
		d = &s->inv->dev[i];
		if (!(s->hits[i] >> r & 1) || !device_listed(d))
			continue;
		tprintf(t, "%s %s %s", shown ? "," : ":",
		    addr_fmt(d->addr, ADDR_ONE, a, sizeof(a)),
		    s->pool + s->node[i].why);
		shown++;
	}
	if (nmatch > shown)
		tprintf(t, ", and %zu more", nmatch - shown);
	if (nmatch == 0 && s->req[r].profile[0] != '\0')
		explain_profile(s, r, t);
	return 1;
}

/* Why the whole call fails, when each request alone could be met. */
static int
matched_by_any(const struct search *s, size_t dv)
{
	return s->hits[dv] != 0;
}

static void
explain_joint(const struct search *s, int rc, struct text *t)
{
	const struct pp_device	*e;
	size_t			 i, k, shown;
	char			 a[PP_ADDR_SYSFS_LEN];

	if (rc == MATCH_LIMIT) {
		tprintf(t, "search gave up after %d steps; ask for fewer or "
		    "more specific devices", SEARCH_BUDGET);
		return;
	}
	tprintf(t, "%s", s->nreq == 1 ? "no device can serve the request "
	    "alone" : "the requests cannot all be met together");
	for (i = 0, shown = 0; i < s->inv->ndev && shown < 4; i++) {
		if (s->node[i].blocked || s->node[i].nneed == 0 ||
		    !matched_by_any(s, i))
			continue;
		tprintf(t, "; %s needs", addr_fmt(s->inv->dev[i].addr,
		    ADDR_ONE, a, sizeof(a)));
		for (k = 0; k < s->node[i].nneed; k++) {
			e = &s->inv->dev[s->node[i].need[k]];
			tprintf(t, "%s sibling %s (on driver %s)", k ? "," : "",
			    addr_fmt(e->addr, ADDR_ONE, a, sizeof(a)),
			    e->driver);
		}
		tprintf(t, " in the same call");
		shown++;
	}
}

static int
evaluate(const struct pp_inventory *inv, const struct pp_request *req,
    size_t nreq, int vmid, int flags, size_t *out, struct pp_test *t)
{
	struct search	 s;
	struct text	 txt = { t->reason, sizeof(t->reason), 0 };
	size_t		 r;
	int		 rc, alone = 0;

	memset(t, 0, sizeof(*t));
	if (nreq > PP_MAXREQ || search_init(&s, inv, req, nreq, vmid, flags) <
	    0) {
		search_free(&s);
		snprintf(t->reason, sizeof(t->reason), "out of memory");
		return -1;
	}
	for (r = 0; r < nreq; r++)
		alone += explain(&s, r, &txt, &t->free[r]);
	rc = alone ? MATCH_NOFIT : run_search(&s);
	if (rc == MATCH_OK && out != NULL)
		for (r = 0; r < nreq; r++)
			out[r] = s.assign[r];
	if (rc > 0 && !alone)
		explain_joint(&s, rc, &txt);
	t->fits = rc == MATCH_OK;
	search_free(&s);
	return rc;
}

/*
 * Find devices for all nreq requests for vmid: out[i] is the inventory
 * index for request i. Returns MATCH_OK, MATCH_NOFIT or MATCH_LIMIT with
 * the reason in why, or -1 when out of memory.
 */
int
match_assign(const struct pp_inventory *inv, const struct pp_request *req,
    size_t nreq, int vmid, int flags, size_t *out, char *why, size_t len)
{
	struct pp_test	*t;
	int		 rc;

	if ((t = malloc(sizeof(*t))) == NULL)
		return -1;
	rc = evaluate(inv, req, nreq, vmid, flags, out, t);
	snprintf(why, len, "%s", t->reason);
	free(t);
	return rc;
}

/* pci.test: whether it fits, and per request how many could serve. */
int
match_test(const struct pp_inventory *inv, const struct pp_request *req,
    size_t nreq, int vmid, int flags, struct pp_test *t)
{
	int	rc = evaluate(inv, req, nreq, vmid, flags, NULL, t);

	return rc < 0 ? -1 : 0;
}

/*
 * Would detaching d from vmid leave its IOMMU group shared between that
 * VM and the host? So when d stays on a host driver while another
 * endpoint of its group stays with the VM. Returns 1 with why set.
 */
int
match_detach_splits(const struct pp_inventory *inv, const struct pp_device *d,
    int vmid, char *why, size_t len)
{
	const struct pp_device	*e;
	char			 a[PP_ADDR_SYSFS_LEN], b[PP_ADDR_SYSFS_LEN];
	size_t			 m;

	if (d->iommu < 0 || rule_harmless_driver(d->driver))
		return 0;
	for (m = rule_group_first(inv, d->iommu); m < inv->nmember &&
	    inv->member[m].group == d->iommu; m++) {
		if (inv->member[m].addr == d->addr ||
		    (e = inventory_find(inv, inv->member[m].addr)) == NULL ||
		    device_is_bridge(e) || e->vmid != vmid)
			continue;
		snprintf(why, len, "detaching %s would share IOMMU group %d "
		    "between VM %d (which keeps %s) and the host (%s is on "
		    "driver %s); detach the whole group or release the VM",
		    addr_fmt(d->addr, ADDR_ONE, a, sizeof(a)), d->iommu, vmid,
		    addr_fmt(e->addr, ADDR_ONE, b, sizeof(b)),
		    addr_fmt(d->addr, ADDR_ONE, a, sizeof(a)), d->driver);
		return 1;
	}
	return 0;
}

/*
 * Whether another VM holds a present endpoint of held device d's IOMMU
 * group. The rules never split a group, so only the kernel regrouping
 * after both were taken does this; why then names the group and the
 * other VM's device.
 */
static int
match_split(const struct pp_inventory *inv, const struct pp_device *d,
    char *why, size_t len)
{
	const struct pp_device	*e;
	char			 a[PP_ADDR_SYSFS_LEN];
	size_t			 m;

	if (d->vmid < 0 || !d->present || d->iommu < 0)
		return 0;
	for (m = rule_group_first(inv, d->iommu); m < inv->nmember &&
	    inv->member[m].group == d->iommu; m++) {
		if ((e = inventory_find(inv, inv->member[m].addr)) == NULL ||
		    e == d || !e->present || device_is_bridge(e) ||
		    e->vmid < 0 || e->vmid == d->vmid)
			continue;
		snprintf(why, len, "IOMMU group %d is split: VM %d holds %s of "
		    "it too (the kernel regrouped after both were taken); "
		    "release one of the two VMs", d->iommu, e->vmid,
		    addr_fmt(e->addr, ADDR_ONE, a, sizeof(a)));
		return 1;
	}
	return 0;
}

/*
 * STATE and REASON of every device, as no VM in particular sees them; -1
 * out of memory.
 */
int
match_states(struct pp_inventory *inv, int flags)
{
	struct pp_device	*d;
	struct node		 n;
	size_t			 i;
	char			 why[PP_REASON_LEN];
	int			 rc = 0;

	for (i = 0; rc == 0 && i < inv->ndev; i++) {
		d = &inv->dev[i];
		if (d->vmid >= 0) {
			snprintf(d->state, sizeof(d->state), "%s",
			    d->present ? "used" : "missing");
			/* A missing one keeps the store's REASON. */
			if (d->present)
				rc = dev_set_reason(d, match_split(inv, d, why,
				    sizeof(why)) ? why : "");
			continue;
		}
		if (assess(inv, i, -1, flags, &n, why, sizeof(why)) < 0 ||
		    n.blocked) {
			snprintf(d->state, sizeof(d->state), "blocked");
			rc = dev_set_reason(d, why);
		} else {
			snprintf(d->state, sizeof(d->state), "free");
			rc = dev_set_reason(d, "");
		}
		free(n.need);
	}
	return rc;
}
