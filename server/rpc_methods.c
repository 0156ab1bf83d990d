/*
 * The XML-RPC front's one dispatcher, the method table and thin handlers.
 * rpc.c hands every checked body to methods_answer(): the call is parsed
 * once; pci.* methods and system.multicall are run here, each call of a
 * multicall exactly as it would run alone; only what is not ours (the
 * introspection methods, an unknown name, a body that does not parse)
 * goes on to xmlrpc-c's registry for its standard answer. Handlers decode
 * their parameters, call the core (ops.c) and write the answer with the
 * one encoder (rpc_value.c), as oned does: [true, VALUE, 0] or
 * [false, "[pci.method] message", CODE].
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include <xmlrpc-c/abyss.h>

#include "rpc.h"

struct call {
	struct pcipassd	*pd;
	const char	*method;
	xmlrpc_env	*env;
	xmlrpc_value	*params;
	void		*session;	/* Abyss TSession */
	FILE		*out;		/* the answer's value */
	struct answer	*shared;	/* or a shared listing (answer.c) */
	char		 user[128];
	char		 peer[64];
	int		 vmid;
	int		 rw;		/* the user may change state */
	int		 auth_failed;	/* this call failed authentication */
};

/* What a method needs: its parameter types after the session. */
struct method {
	const char	*name;
	int		(*fn)(struct call *);
	const char	*types;		/* after the session: i s A S b */
	int		 optional;	/* trailing parameters that may lack */
	int		 writes;
	const char	*signature;
	const char	*params;	/* their names, for count faults */
	const char	*help;
};

static xmlrpc_registry	*registry;

/* [true, v, 0]; v's reference is taken. -1 with a fault in the env. */
static int
ok(struct call *c, xmlrpc_value *v)
{
	if (v == NULL || c->env->fault_occurred) {
		if (v != NULL)
			xmlrpc_DECREF(v);
		return -1;
	}
	rv_ok_begin(c->out);
	if (rv_value(c->out, c->env, v) < 0)
		return -1;
	rv_ok_end(c->out);
	return 0;
}

static int
fail(struct call *c, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fail(struct call *c, int code, const char *fmt, ...)
{
	char	msg[4096];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	rv_fail(c->out, c->method, msg, code);
	return 0;
}

static int
fail_res(struct call *c, const struct pp_result *res)
{
	return fail(c, res->err, "%s", res->msg);
}

static sqlite3 *
db_or_fail(struct call *c)
{
	sqlite3	*db = service_db(c->pd);

	if (db == NULL)
		fail(c, PP_ERR_INTERNAL, "cannot open the database");
	return db;
}

/* What the core runs with on this thread; -1 with the answer written. */
static int
ctx_or_fail(struct call *c, struct op_ctx *x)
{
	if (service_ctx(c->pd, x) == 0)
		return 0;
	fail(c, PP_ERR_INTERNAL, "cannot open the database");
	return -1;
}

static void
log_devices(struct call *c, const char *what, const struct pp_result *res)
{
	char	list[1024] = "", a[PP_ADDR_SYSFS_LEN];
	size_t	i, n = 0;

	for (i = 0; i < res->nidx && n < sizeof(list); i++)
		n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s",
		    i ? " " : "", addr_fmt(res->inv.dev[res->idx[i]].addr,
		    ADDR_SYSFS, a, sizeof(a)));
	log_info("%s: VM %d: %s by %s@%s", what, c->vmid, list, c->user,
	    c->peer);
}

/*
 * After a change that made or removed vGPUs: what each VF can make now
 * changed with it (instances are shared), so sysfs is read again.
 */
static void
rescan_after(struct call *c, const struct pp_result *res)
{
	struct sync_counts	n;

	if (res->rescan)
		service_rescan(c->pd, &n);
}

/* pci.list, pci.info, pci.probe: the answer shared by every caller. */
static int
listing(struct call *c, int which)
{
	sqlite3	*db;

	if ((c->shared = answer_current(c->pd->answers, which)) != NULL)
		return 0;
	if ((db = db_or_fail(c)) == NULL)
		return 0;
	if ((c->shared = answer_get(c->pd->answers, c->pd->mem, db, which,
	    c->pd->flags)) == NULL)
		return fail(c, PP_ERR_INTERNAL, "database error while reading "
		    "the inventory; nothing changed");
	return 0;
}

static int
m_list(struct call *c)
{
	return listing(c, ANSWER_LIST);
}

static int
m_info(struct call *c)
{
	return listing(c, ANSWER_INFO);
}

static int
m_probe(struct call *c)
{
	return listing(c, ANSWER_PROBE);
}

/* pci.vm (the VM's devices) and pci.tree: arrays of the snapshot. */
static int
snapshot_answer(struct call *c, int tree)
{
	struct snapshot	*sn;
	sqlite3		*db;

	if ((db = db_or_fail(c)) == NULL)
		return 0;
	if ((sn = snapshot_get(c->pd->mem, db, c->pd->flags)) == NULL)
		return fail(c, PP_ERR_INTERNAL, "database error while reading "
		    "the inventory; nothing changed");
	rv_ok_begin(c->out);
	if (tree)
		rv_tree(c->out, snapshot_inv(sn));
	else
		rv_devices(c->out, snapshot_inv(sn), NULL, 0, c->vmid);
	rv_ok_end(c->out);
	snapshot_put(sn);
	return 0;
}

static int
m_vm(struct call *c)
{
	return snapshot_answer(c, 0);
}

static int
m_tree(struct call *c)
{
	return snapshot_answer(c, 1);
}

static int
m_version(struct call *c)
{
	rv_ok_begin(c->out);
	rv_string(c->out, "pcipass " PCIPASS_VERSION);
	rv_ok_end(c->out);
	return 0;
}

static int
m_test(struct call *c)
{
	struct pp_request	 req[PP_MAXREQ];
	struct pp_test		 t;
	struct pp_result	 res;
	xmlrpc_value		*v, *fr;
	size_t			 n, i;
	char			 msg[512];
	struct op_ctx		 x;
	int			 vmid = -1;

	xmlrpc_array_read_item(c->env, c->params, 1, &v);
	i = (size_t)decode_requests(c->env, v, req, &n, msg, sizeof(msg));
	xmlrpc_DECREF(v);
	if ((int)i < 0)
		return fail(c, PP_ERR_API, "%s", msg);
	if (xmlrpc_array_size(c->env, c->params) > 2)
		vmid = c->vmid;
	if (ctx_or_fail(c, &x) < 0)
		return 0;
	if (op_test(&x, vmid, req, n, &t, &res) < 0) {
		fail_res(c, &res);
		result_free(&res);
		return 0;
	}
	result_free(&res);
	fr = xmlrpc_array_new(c->env);
	for (i = 0; i < n; i++) {
		v = xmlrpc_int_new(c->env, t.free[i]);
		xmlrpc_array_append_item(c->env, fr, v);
		xmlrpc_DECREF(v);
	}
	v = xmlrpc_build_value(c->env, "{s:b,s:s,s:A}", "FITS",
	    (xmlrpc_bool)t.fits, "REASON", t.reason, "FREE", fr);
	xmlrpc_DECREF(fr);
	return ok(c, v);
}

static int
m_allocate(struct call *c)
{
	struct pp_request	 req[PP_MAXREQ];
	struct pp_result	 res;
	xmlrpc_value		*v;
	size_t			 n;
	char			 msg[512];
	struct op_ctx		 x;
	int			 rc;

	xmlrpc_array_read_item(c->env, c->params, 2, &v);
	rc = decode_requests(c->env, v, req, &n, msg, sizeof(msg));
	xmlrpc_DECREF(v);
	if (rc < 0)
		return fail(c, PP_ERR_API, "%s", msg);
	if (ctx_or_fail(c, &x) < 0)
		return 0;
	rc = op_allocate(&x, c->vmid, req, n, &res);
	rescan_after(c, &res);
	if (rc < 0) {
		log_info("allocate: VM %d refused (%s) for %s@%s", c->vmid,
		    res.msg, c->user, c->peer);
		fail_res(c, &res);
	} else {
		log_devices(c, "allocate", &res);
		rv_ok_begin(c->out);
		rv_devices(c->out, &res.inv, res.idx, res.nidx, -1);
		rv_ok_end(c->out);
	}
	result_free(&res);
	return 0;
}

static int
m_attach(struct call *c)
{
	struct pp_request	 req;
	struct pp_result	 res;
	xmlrpc_value		*v;
	char			 msg[512];
	struct op_ctx		 x;
	int			 rc;

	xmlrpc_array_read_item(c->env, c->params, 2, &v);
	rc = decode_request(c->env, v, &req, msg, sizeof(msg));
	xmlrpc_DECREF(v);
	if (rc < 0)
		return fail(c, PP_ERR_API, "%s", msg);
	if (ctx_or_fail(c, &x) < 0)
		return 0;
	rc = op_attach(&x, c->vmid, &req, &res);
	rescan_after(c, &res);
	if (rc < 0)
		fail_res(c, &res);
	else {
		log_devices(c, "attach", &res);
		rv_ok_begin(c->out);
		rv_device(c->out, &res.inv.dev[res.idx[0]]);
		rv_ok_end(c->out);
	}
	result_free(&res);
	return 0;
}

static int
m_detach(struct call *c)
{
	struct pp_result	 res;
	xmlrpc_value		*v;
	const char		*s;
	char			 buf[PP_ADDR_SYSFS_LEN];
	pp_addr			 a;
	struct op_ctx		 x;
	int			 rc;

	xmlrpc_array_read_item(c->env, c->params, 2, &v);
	xmlrpc_read_string(c->env, v, &s);
	xmlrpc_DECREF(v);
	rc = addr_parse(s, ADDR_ONE, &a);
	if (rc < 0) {
		fail(c, PP_ERR_API, "address \"%.40s\": expected "
		    "DDDD:BB:SS.F or DDDD:BB:SS:F", s);
		free((char *)s);
		return 0;
	}
	free((char *)s);
	if (ctx_or_fail(c, &x) < 0)
		return 0;
	rc = op_detach(&x, c->vmid, a, &res);
	rescan_after(c, &res);
	if (rc < 0)
		return fail_res(c, &res);
	log_info("detach: VM %d: %s by %s@%s", c->vmid, addr_fmt(a,
	    ADDR_SYSFS, buf, sizeof(buf)), c->user, c->peer);
	return ok(c, xmlrpc_bool_new(c->env, 1));
}

static int
m_release(struct call *c)
{
	struct pp_result	 res;
	struct op_ctx		 x;
	int			 rc;

	if (ctx_or_fail(c, &x) < 0)
		return 0;
	rc = op_release(&x, c->vmid, &res);
	rescan_after(c, &res);
	if (rc < 0)
		return fail_res(c, &res);
	log_info("release: VM %d: %d device(s) by %s@%s", c->vmid, res.count,
	    c->user, c->peer);
	return ok(c, xmlrpc_int_new(c->env, res.count));
}

static int
m_monitor(struct call *c)
{
	struct sync_counts	n;

	if (service_rescan(c->pd, &n) < 0)
		return fail(c, PP_ERR_INTERNAL, "rescan failed; see the "
		    "daemon's log");
	return ok(c, xmlrpc_build_value(c->env, "{s:i,s:i,s:i}", "ADDED",
	    n.added, "REMOVED", n.removed, "CHANGED", n.changed));
}

/* Addresses in one pci.reconcile view: a host has a few thousand. */
#define MAX_VIEW	16384

static xmlrpc_value *
encode_items(struct call *c, const struct rc_plan *p, int cls)
{
	xmlrpc_value	*a = xmlrpc_array_new(c->env), *v;
	char		 buf[PP_ADDR_SYSFS_LEN];
	size_t		 i;

	for (i = 0; i < p->n[cls] && !c->env->fault_occurred; i++) {
		const struct rc_item	*it = &p->item[cls][i];

		v = xmlrpc_build_value(c->env, "{s:i,s:s,s:s}", "VMID",
		    it->vmid, "ADDRESS", addr_fmt(it->addr, ADDR_ONE, buf,
		    sizeof(buf)), "REASON", it->reason);
		xmlrpc_array_append_item(c->env, a, v);
		xmlrpc_DECREF(v);
	}
	return a;
}

static void
log_reconcile(struct call *c, const struct rc_plan *p, int apply)
{
	static const char	*names[RC_N] = { "leaked, released",
				    "recent", "missing, taken", "conflict" };
	char			 buf[PP_ADDR_SYSFS_LEN];
	size_t			 i, k;

	log_info("reconcile%s: %zu leaked, %zu recent, %zu missing, %zu "
	    "conflict by %s@%s", apply ? " (apply)" : "", p->n[RC_LEAKED],
	    p->n[RC_RECENT], p->n[RC_MISSING], p->n[RC_CONFLICT], c->user,
	    c->peer);
	/* Each change, not each finding: a view may name thousands. */
	for (k = 0; k < RC_N && apply; k++)
		for (i = 0; i < p->n[k] && p->item[k][i].act; i++)
			log_info("reconcile: %s: VM %d %s: %s", names[k],
			    p->item[k][i].vmid, addr_fmt(p->item[k][i].addr,
			    ADDR_SYSFS, buf, sizeof(buf)),
			    p->item[k][i].reason);
}

static int
m_reconcile(struct call *c)
{
	struct rc_holding	*view;
	struct rc_plan		 plan;
	struct pp_result	 res;
	xmlrpc_value		*v, *l, *r, *mi, *co;
	xmlrpc_bool		 apply;
	size_t			 nh;
	char			 msg[512];
	struct op_ctx		 x;
	int			 as_of, rc;

	xmlrpc_array_read_item(c->env, c->params, 2, &v);
	xmlrpc_read_int(c->env, v, &as_of);
	xmlrpc_DECREF(v);
	xmlrpc_array_read_item(c->env, c->params, 3, &v);
	xmlrpc_read_bool(c->env, v, &apply);
	xmlrpc_DECREF(v);
	if (apply && !c->rw)
		return fail(c, PP_ERR_AUTHORIZATION, "user %s is read-only: "
		    "reconcile without apply only", c->user);
	if (as_of < 0)
		return fail(c, PP_ERR_API, "as_of %d: expected Unix seconds, "
		    "0 or more", as_of);
	xmlrpc_array_read_item(c->env, c->params, 1, &v);
	rc = decode_holdings(c->env, v, &view, &nh, MAX_VIEW, msg,
	    sizeof(msg));
	xmlrpc_DECREF(v);
	if (rc < 0)
		return fail(c, PP_ERR_API, "%s", msg);
	if (ctx_or_fail(c, &x) < 0) {
		free(view);
		return 0;
	}
	rc = op_reconcile(&x, view, nh, as_of, apply, &plan, &res);
	rescan_after(c, &res);
	free(view);
	if (rc < 0) {
		fail_res(c, &res);
		result_free(&res);
		return 0;
	}
	result_free(&res);
	log_reconcile(c, &plan, apply);
	l = encode_items(c, &plan, RC_LEAKED);
	r = encode_items(c, &plan, RC_RECENT);
	mi = encode_items(c, &plan, RC_MISSING);
	co = encode_items(c, &plan, RC_CONFLICT);
	reconcile_plan_free(&plan);
	v = xmlrpc_build_value(c->env, "{s:A,s:A,s:A,s:A}", "LEAKED", l,
	    "RECENT", r, "MISSING", mi, "CONFLICT", co);
	xmlrpc_DECREF(l);
	xmlrpc_DECREF(r);
	xmlrpc_DECREF(mi);
	xmlrpc_DECREF(co);
	return ok(c, v);
}

static const struct method methods[] = {
	{ "pci.list", m_list, "", 0, 0, "A:s", "session",
	    "List the offered and held devices, ascending by ADDRESS." },
	{ "pci.info", m_info, "", 0, 0, "A:s", "session",
	    "The <PCI_DEVICES> element of OpenNebula's host XML." },
	{ "pci.probe", m_probe, "", 0, 0, "A:s", "session",
	    "The monitoring template of OpenNebula's PCI probe." },
	{ "pci.vm", m_vm, "i", 0, 0, "A:si", "session, vmid",
	    "The devices a VM holds (vmid)." },
	{ "pci.test", m_test, "Ai", 1, 0, "A:sA,A:sAi",
	    "session, requests[, vmid]",
	    "Whether requests fit, without changing anything "
	    "(requests, optional vmid)." },
	{ "pci.allocate", m_allocate, "iA", 0, 1, "A:siA",
	    "session, vmid, requests",
	    "Allocate devices to a VM, all requests or none (vmid, "
	    "requests)." },
	{ "pci.release", m_release, "i", 0, 1, "A:si", "session, vmid",
	    "Release every device a VM holds (vmid)." },
	{ "pci.attach", m_attach, "iS", 0, 1, "A:siS", "session, vmid, request",
	    "Add one device to a VM (vmid, request)." },
	{ "pci.detach", m_detach, "is", 0, 1, "A:sis", "session, vmid, address",
	    "Take one device from a VM (vmid, address)." },
	{ "pci.monitor", m_monitor, "", 0, 1, "A:s", "session",
	    "Rescan the host now; counts of added, removed, changed." },
	{ "pci.reconcile", m_reconcile, "Aib", 0, 0, "A:sAib",
	    "session, holdings, as_of, apply",
	    "Compare this host's holdings with the frontend's view; act "
	    "only with apply (holdings, as_of, apply)." },
	{ "pci.tree", m_tree, "", 0, 0, "A:s", "session",
	    "Every function the last scan saw, offered or not, with a "
	    "bridge's buses: the host's PCI hierarchy." },
	{ "pci.version", m_version, "", 0, 0, "A:s", "session",
	    "The daemon's version." },
};

static xmlrpc_type
type_of(char t)
{
	switch (t) {
	case 'i': return XMLRPC_TYPE_INT;
	case 's': return XMLRPC_TYPE_STRING;
	case 'A': return XMLRPC_TYPE_ARRAY;
	case 'b': return XMLRPC_TYPE_BOOL;
	default: return XMLRPC_TYPE_STRUCT;
	}
}

/* Count and types, as xmlrpc-c's own faults would report them. */
static int
check_params(struct call *c, const struct method *m)
{
	size_t		 want = 1 + strlen(m->types), i;
	int		 n = xmlrpc_array_size(c->env, c->params);
	xmlrpc_value	*v;
	xmlrpc_type	 t;

	if (n < 0 || (size_t)n > want || (size_t)n + m->optional < want) {
		if (m->optional > 0)
			xmlrpc_env_set_fault_formatted(c->env,
			    XMLRPC_INDEX_ERROR, "%s takes %zu to %zu "
			    "parameters (%s), got %d", m->name,
			    want - (size_t)m->optional, want, m->params, n);
		else
			xmlrpc_env_set_fault_formatted(c->env,
			    XMLRPC_INDEX_ERROR, "%s takes %zu parameter%s "
			    "(%s), got %d", m->name, want, want > 1 ? "s" :
			    "", m->params, n);
		return -1;
	}
	for (i = 0; i < (size_t)n; i++) {
		xmlrpc_array_read_item(c->env, c->params, (unsigned)i, &v);
		t = xmlrpc_value_type(v);
		xmlrpc_DECREF(v);
		if (t != type_of(i == 0 ? 's' : m->types[i - 1])) {
			xmlrpc_env_set_fault_formatted(c->env,
			    XMLRPC_TYPE_ERROR, "%s: parameter %zu has the "
			    "wrong type", m->name, i);
			return -1;
		}
	}
	return 0;
}

static void
peer_of(void *session, char *buf, size_t len)
{
	struct abyss_unix_chaninfo	*ci = NULL;
	struct sockaddr_in		*sin;

	snprintf(buf, len, "?");
	SessionGetChannelInfo(session, (void **)&ci);
	if (ci != NULL && ci->peerAddr.sa_family == AF_INET) {
		sin = (struct sockaddr_in *)&ci->peerAddr;
		inet_ntop(AF_INET, &sin->sin_addr, buf, (socklen_t)len);
	}
}

/*
 * Session, rights and vmid of a call whose parameters check. Returns 1
 * when the call may run, else 0 with the refusal written.
 */
static int
admit(struct call *c, const struct method *m)
{
	xmlrpc_env	*env = c->env;
	xmlrpc_value	*v;
	const char	*sess;
	int		 auth, wait;

	peer_of(c->session, c->peer, sizeof(c->peer));
	if ((wait = auth_throttled(c->pd->auth, c->peer)) > 0) {
		c->auth_failed = 1;
		fail(c, PP_ERR_AUTHENTICATION, "too many failed "
		    "authentications from %s: try again in %d s", c->peer,
		    wait);
		return 0;
	}
	xmlrpc_array_read_item(env, c->params, 0, &v);
	xmlrpc_read_string(env, v, &sess);
	xmlrpc_DECREF(v);
	if (env->fault_occurred)
		return 0;
	auth = auth_check(c->pd->auth, sess, c->user, sizeof(c->user));
	free((char *)sess);
	if (auth == AUTH_NONE) {
		c->auth_failed = 1;
		auth_failed(c->pd->auth, c->peer, m->name);
		fail(c, PP_ERR_AUTHENTICATION, "authentication failed: wrong "
		    "user or secret in the session string");
		return 0;
	}
	c->rw = auth == AUTH_RW;
	if (m->writes && auth != AUTH_RW) {
		fail(c, PP_ERR_AUTHORIZATION, "user %s is read-only", c->user);
		return 0;
	}
	if (strlen(m->types) > 0 && (m->types[0] == 'i' ||
	    strcmp(m->types, "Ai") == 0) &&
	    (size_t)xmlrpc_array_size(env, c->params) > (m->types[0] == 'i' ?
	    1u : 2u)) {
		xmlrpc_array_read_item(env, c->params, m->types[0] == 'i' ? 1 :
		    2, &v);
		xmlrpc_read_int(env, v, &c->vmid);
		xmlrpc_DECREF(v);
	}
	if (c->vmid < 0) {
		fail(c, PP_ERR_API, "vmid %d: expected 0 to 2147483647",
		    c->vmid);
		return 0;
	}
	return 1;
}

/*
 * What one HTTP request may cost: a system.multicall runs every call it
 * carries on this thread, so a 1 MB body of 3,900 pci.list calls once
 * made the daemon allocate 1.7 GB for a read-only user. At most
 * MAX_CALLS calls per request, of which at most MAX_LISTINGS whole
 * listings (pci.list, pci.info, pci.probe: each the whole inventory);
 * after a failed authentication the rest of the request is refused
 * without another guess.
 */
#define MAX_CALLS	16
#define MAX_LISTINGS	1

struct budget {
	int	calls, listings, auth_failed;
};

/* 1 with the refusal written when the request has spent its budget. */
static int
over_budget(struct call *c, const struct method *m, struct budget *b)
{
	int	listing = m->fn == m_list || m->fn == m_info ||
		    m->fn == m_probe;

	if (b->auth_failed)
		return fail(c, PP_ERR_AUTHENTICATION, "authentication failed "
		    "earlier in this request"), 1;
	if (++b->calls > MAX_CALLS)
		return fail(c, PP_ERR_API, "more than %d calls in one "
		    "request (system.multicall)", MAX_CALLS), 1;
	if (listing && ++b->listings > MAX_LISTINGS)
		return fail(c, PP_ERR_API, "more than %d listing (pci.list, "
		    "pci.info, pci.probe) in one request", MAX_LISTINGS), 1;
	return 0;
}

static const struct method *
method_find(const char *name)
{
	size_t	i;

	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (strcmp(methods[i].name, name) == 0)
			return &methods[i];
	return NULL;
}

/*
 * Every pci.* call, alone or in a multicall, runs here: its answer's
 * value is left in *text (or, for a listing, as a shared answer in
 * *shared), or a fault in env. The caller frees *text.
 */
static void
run(struct pcipassd *pd, const struct method *m, xmlrpc_env *env,
    xmlrpc_value *params, void *session, struct budget *b, char **text,
    size_t *len, struct answer **shared)
{
	struct call	c = { .pd = pd, .method = m->name, .env = env,
			    .params = params, .session = session };

	*text = NULL;
	*len = 0;
	*shared = NULL;
	if ((c.out = open_memstream(text, len)) == NULL) {
		xmlrpc_faultf(env, "out of memory");
		return;
	}
	if (!over_budget(&c, m, b) && check_params(&c, m) == 0) {
		if (admit(&c, m))
			m->fn(&c);
		else
			b->auth_failed = c.auth_failed;
	}
	if (fclose(c.out) != 0 && !env->fault_occurred)
		xmlrpc_faultf(env, "out of memory");
	if (env->fault_occurred) {
		answer_put(c.shared);
		c.shared = NULL;
	}
	*shared = c.shared;
}

static int
file_write(void *fp, const char *buf, size_t n)
{
	return fwrite(buf, 1, n, fp) == n ? 0 : -1;
}

/* The value of a call that ran: its text or its shared answer. */
static void
put_value(FILE *fp, const char *text, size_t len, struct answer *shared)
{
	if (shared != NULL)
		answer_write(shared, file_write, fp);
	else
		fwrite(text, 1, len, fp);
}

static char	*registry_value(xmlrpc_env *, const char *, xmlrpc_value *,
		    void *);

/*
 * system.multicall as xmlrpc-c has it: one parameter, an array of
 * {methodName, params} structs; each result a one-element array of the
 * value or a {faultCode, faultString} struct; a malformed element or a
 * nested multicall faults the whole call. Calls run in order, on this
 * request's budget. The results go to fp; -1 with a fault in env.
 */
static int
multicall(struct pcipassd *pd, xmlrpc_env *env, xmlrpc_value *params,
    void *session, struct budget *b, FILE *fp)
{
	const struct method	*m;
	xmlrpc_value		*list = NULL, *item, *p;
	struct answer		*shared;
	const char		*name;
	char			*text;
	size_t			 len;
	xmlrpc_env		 sub;
	int			 n, i;

	/* xmlrpc-c's own words for these faults. */
	if ((n = xmlrpc_array_size(env, params)) != 1) {
		xmlrpc_env_set_fault_formatted(env, XMLRPC_PARSE_ERROR,
		    "system.multicall takes one parameter, which is an array, "
		    "each element describing one RPC.  You supplied %d "
		    "arguments", n);
		return -1;
	}
	xmlrpc_array_read_item(env, params, 0, &list);
	if (xmlrpc_value_type(list) != XMLRPC_TYPE_ARRAY) {
		xmlrpc_env_set_fault_formatted(env, XMLRPC_TYPE_ERROR,
		    "system.multicall's parameter should be an array, each "
		    "element describing one RPC.  But it is type %u instead.",
		    (unsigned)xmlrpc_value_type(list));
		xmlrpc_DECREF(list);
		return -1;
	}
	fputs("<value><array><data>\r\n", fp);
	n = xmlrpc_array_size(env, list);
	for (i = 0; i < n && !env->fault_occurred; i++) {
		xmlrpc_array_read_item(env, list, (unsigned)i, &item);
		if (xmlrpc_value_type(item) != XMLRPC_TYPE_STRUCT)
			xmlrpc_env_set_fault_formatted(env, XMLRPC_TYPE_ERROR,
			    "An element of the multicall array is type %u, but "
			    "should be a struct (with members 'methodName' and "
			    "'params')", (unsigned)xmlrpc_value_type(item));
		else
			xmlrpc_decompose_value(env, item, "{s:s,s:A,*}",
			    "methodName", &name, "params", &p);
		xmlrpc_DECREF(item);
		if (env->fault_occurred)
			break;
		xmlrpc_env_init(&sub);
		if (strcmp(name, "system.multicall") == 0)
			xmlrpc_env_set_fault_formatted(env,
			    XMLRPC_REQUEST_REFUSED_ERROR,
			    "Recursive system.multicall forbidden");
		else if ((m = method_find(name)) == NULL) {
			/* Introspection, or no such method: the registry's. */
			if ((text = registry_value(&sub, name, p, session)) !=
			    NULL) {
				fputs("<value><array><data>\r\n", fp);
				fputs(text, fp);
				fputs("\r\n</data></array></value>\r\n", fp);
				free(text);
			}
		} else {
			run(pd, m, &sub, p, session, b, &text, &len, &shared);
			if (!sub.fault_occurred) {
				fputs("<value><array><data>\r\n", fp);
				put_value(fp, text, len, shared);
				fputs("\r\n</data></array></value>\r\n", fp);
			}
			free(text);
			answer_put(shared);
		}
		if (sub.fault_occurred) {
			rv_fault(fp, sub.fault_code, sub.fault_string);
			fputs("\r\n", fp);
		}
		xmlrpc_env_clean(&sub);
		xmlrpc_DECREF(p);
		free((char *)name);
	}
	xmlrpc_DECREF(list);
	fputs("</data></array></value>", fp);
	return env->fault_occurred ? -1 : 0;
}

/*
 * A call of a multicall that is not ours (system.listMethods, ...): the
 * registry runs it as xmlrpc-c's own multicall would. Returns the
 * value's XML (to free), or NULL with the fault in env.
 */
static char *
registry_value(xmlrpc_env *env, const char *name, xmlrpc_value *params,
    void *session)
{
	xmlrpc_env		 e;
	xmlrpc_mem_block	*call, *resp = NULL;
	xmlrpc_value		*v = NULL;
	const char		*fstr = NULL;
	char			*text = NULL;
	size_t			 len = 0;
	FILE			*fp;
	int			 fcode = 0;

	xmlrpc_env_init(&e);
	call = XMLRPC_MEMBLOCK_NEW(char, &e, 0);
	if (!e.fault_occurred)
		xmlrpc_serialize_call(&e, call, name, params);
	if (!e.fault_occurred)
		xmlrpc_registry_process_call2(&e, registry,
		    XMLRPC_MEMBLOCK_CONTENTS(char, call),
		    XMLRPC_MEMBLOCK_SIZE(char, call), session, &resp);
	if (!e.fault_occurred)
		xmlrpc_parse_response2(&e, XMLRPC_MEMBLOCK_CONTENTS(char, resp),
		    XMLRPC_MEMBLOCK_SIZE(char, resp), &v, &fcode, &fstr);
	if (e.fault_occurred)
		xmlrpc_env_set_fault(env, XMLRPC_INTERNAL_ERROR, e.fault_string);
	else if (fstr != NULL)
		xmlrpc_env_set_fault(env, fcode, fstr);
	else if ((fp = open_memstream(&text, &len)) != NULL) {
		rv_value(fp, env, v);
		v = NULL;
		if (fclose(fp) != 0 || env->fault_occurred) {
			free(text);
			text = NULL;
		}
	}
	if (v != NULL)
		xmlrpc_DECREF(v);
	free((char *)fstr);
	if (call != NULL)
		XMLRPC_MEMBLOCK_FREE(char, call);
	if (resp != NULL)
		XMLRPC_MEMBLOCK_FREE(char, resp);
	xmlrpc_env_clean(&e);
	return text;
}

/* What is not ours: xmlrpc-c's registry answers it as it always has. */
static void
registry_answer(const char *body, size_t len, void *session,
    struct rpc_reply *r)
{
	xmlrpc_env		 env;
	xmlrpc_mem_block	*out = NULL;

	xmlrpc_env_init(&env);
	xmlrpc_registry_process_call2(&env, registry, body, len, session,
	    &out);
	if (env.fault_occurred) {
		log_warnx("rpc: %s", env.fault_string);
		r->status = 500;
	} else if ((r->buf = malloc(XMLRPC_MEMBLOCK_SIZE(char, out))) ==
	    NULL)
		r->status = 503;
	else {
		r->len = XMLRPC_MEMBLOCK_SIZE(char, out);
		memcpy(r->buf, XMLRPC_MEMBLOCK_CONTENTS(char, out), r->len);
	}
	if (out != NULL)
		XMLRPC_MEMBLOCK_FREE(char, out);
	xmlrpc_env_clean(&env);
}

/*
 * The answer to one checked request body. A single listing comes back as
 * r->shared, to be written between rv_head and rv_tail without a copy;
 * anything else as the whole response in r->buf. r->status is 200, or
 * an HTTP error when no XML-RPC answer could be made.
 */
void
methods_answer(struct pcipassd *pd, const char *body, size_t len,
    void *session, struct rpc_reply *r)
{
	const struct method	*m = NULL;
	struct budget		 b = { 0, 0, 0 };
	xmlrpc_env		 env;
	xmlrpc_value		*params = NULL;
	const char		*name = NULL;
	char			*text = NULL;
	size_t			 tlen;
	FILE			*fp;
	int			 multi;

	memset(r, 0, sizeof(*r));
	r->status = 200;
	xmlrpc_env_init(&env);
	xmlrpc_parse_call(&env, body, len, &name, &params);
	multi = !env.fault_occurred && strcmp(name, "system.multicall") == 0;
	if (env.fault_occurred || (!multi && (m = method_find(name)) ==
	    NULL)) {
		registry_answer(body, len, session, r);
		goto done;
	}
	if ((fp = open_memstream(&r->buf, &r->len)) == NULL) {
		r->status = 503;
		goto done;
	}
	if (multi) {
		fputs(rv_head, fp);
		if (multicall(pd, &env, params, session, &b, fp) == 0)
			fputs(rv_tail, fp);
	} else {
		run(pd, m, &env, params, session, &b, &text, &tlen,
		    &r->shared);
		if (!env.fault_occurred && r->shared == NULL) {
			fputs(rv_head, fp);
			fwrite(text, 1, tlen, fp);
			fputs(rv_tail, fp);
		}
		free(text);
	}
	if (env.fault_occurred) {
		int	closed = fclose(fp);

		answer_put(r->shared);
		r->shared = NULL;
		free(r->buf);
		r->buf = NULL;
		r->len = 0;
		if (closed != 0 ||
		    (fp = open_memstream(&r->buf, &r->len)) == NULL) {
			r->buf = NULL;
			r->status = 503;
			goto done;
		}
		rv_fault_response(fp, env.fault_code, env.fault_string);
	}
	if (fclose(fp) != 0) {
		answer_put(r->shared);
		free(r->buf);
		memset(r, 0, sizeof(*r));
		r->status = 503;
	}
done:
	/* Before the answer goes out: a slow reader holds no connection. */
	service_release(pd);
	if (params != NULL)
		xmlrpc_DECREF(params);
	free((char *)name);
	xmlrpc_env_clean(&env);
}

void
methods_reply_free(struct rpc_reply *r)
{
	answer_put(r->shared);
	free(r->buf);
	memset(r, 0, sizeof(*r));
}

/*
 * The registry knows our methods for system.listMethods, methodHelp and
 * methodSignature; their calls never reach it (methods_answer runs them),
 * so its function for them only says so.
 */
static xmlrpc_value *
not_here(xmlrpc_env *env, xmlrpc_value *params, void *info, void *session)
{
	(void)params;
	(void)session;
	xmlrpc_faultf(env, "%s reached the registry", ((const struct method *)
	    info)->name);
	return NULL;
}

int
methods_init(void)
{
	xmlrpc_env	env;
	size_t		i;

	xmlrpc_env_init(&env);
	registry = xmlrpc_registry_new(&env);
	for (i = 0; !env.fault_occurred &&
	    i < sizeof(methods) / sizeof(methods[0]); i++) {
		struct xmlrpc_method_info3	mi = {
			.methodName = methods[i].name,
			.methodFunction = not_here,
			.serverInfo = (void *)&methods[i],
			.signatureString = methods[i].signature,
			.help = methods[i].help,
		};

		xmlrpc_registry_add_method3(&env, registry, &mi);
	}
	if (env.fault_occurred) {
		log_warnx("registry: %s", env.fault_string);
		xmlrpc_env_clean(&env);
		return -1;
	}
	xmlrpc_env_clean(&env);
	return 0;
}

void
methods_free(void)
{
	if (registry != NULL)
		xmlrpc_registry_free(registry);
	registry = NULL;
}
