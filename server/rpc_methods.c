/*
 * The method table and thin handlers: decode parameters, call the core
 * (ops.c), encode the answer as oned does: [true, VALUE, 0] or
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
	const char	*method;
	xmlrpc_env	*env;
	xmlrpc_value	*params;
	void		*session;	/* Abyss TSession */
	char		 user[128];
	char		 peer[64];
	int		 vmid;
	int		 rw;		/* the user may change state */
	int		 auth_failed;	/* this call failed authentication */
	int		 uncounted;	/* a failure is counted elsewhere */
};

/* What a method needs: its parameter types after the session. */
struct method {
	const char	*name;
	xmlrpc_value	*(*fn)(struct call *);
	const char	*types;		/* after the session: i s A S */
	int		 optional;	/* trailing parameters that may lack */
	int		 writes;
	const char	*signature;
	const char	*params;	/* their names, for count faults */
	const char	*help;
};

static xmlrpc_value *
ok(struct call *c, xmlrpc_value *v)
{
	xmlrpc_value	*r;

	if (v == NULL)
		return NULL;
	r = xmlrpc_build_value(c->env, "(bVi)", 1, v, 0);
	xmlrpc_DECREF(v);
	return r;
}

static xmlrpc_value *
fail(struct call *c, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static xmlrpc_value *
fail(struct call *c, int code, const char *fmt, ...)
{
	char	msg[4096], full[4200];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(full, sizeof(full), "[%s] %s", c->method, msg);
	return xmlrpc_build_value(c->env, "(bsi)", 0, full, code);
}

static xmlrpc_value *
fail_res(struct call *c, const struct pp_result *res)
{
	return fail(c, res->err, "%s", res->msg);
}

static xmlrpc_value *
encode_device(xmlrpc_env *env, const struct pp_device *d)
{
	struct pp_field	 f[PP_MAXFIELDS];
	xmlrpc_value	*st, *v;
	size_t		 n, i;

	n = device_fields(d, f);
	st = xmlrpc_struct_new(env);
	for (i = 0; i < n && !env->fault_occurred; i++) {
		v = f[i].kind == F_INT ? xmlrpc_int_new(env, f[i].ival) :
		    xmlrpc_string_new(env, f[i].text);
		xmlrpc_struct_set_value(env, st, f[i].name, v);
		xmlrpc_DECREF(v);
	}
	return st;
}

static xmlrpc_value *
encode_list(struct call *c, const struct pp_inventory *inv,
    const size_t *idx, size_t nidx, int vmid)
{
	xmlrpc_value	*a = xmlrpc_array_new(c->env), *v;
	size_t		 i;

	for (i = 0; i < (idx ? nidx : inv->ndev); i++) {
		const struct pp_device	*d = &inv->dev[idx ? idx[i] : i];

		if (idx == NULL && (vmid >= 0 ? d->vmid != vmid :
		    !device_listed(d)))
			continue;
		v = encode_device(c->env, d);
		xmlrpc_array_append_item(c->env, a, v);
		xmlrpc_DECREF(v);
	}
	return a;
}

static sqlite3 *
db_or_fail(struct call *c, xmlrpc_value **err)
{
	sqlite3	*db = service_db();

	if (db == NULL)
		*err = fail(c, PP_ERR_INTERNAL, "cannot open the database");
	return db;
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

/* The listed devices, or those vmid holds when vmid >= 0. */
static xmlrpc_value *
devices(struct call *c, int vmid)
{
	struct pp_result	 res;
	xmlrpc_value		*v, *err = NULL;
	sqlite3			*db;

	if ((db = db_or_fail(c, &err)) == NULL)
		return err;
	if (op_snapshot(db, service_flags(), &res) < 0)
		return fail_res(c, &res);
	v = encode_list(c, &res.inv, NULL, 0, vmid);
	result_free(&res);
	return ok(c, v);
}

static xmlrpc_value *
m_list(struct call *c)
{
	return devices(c, -1);
}

static xmlrpc_value *
m_vm(struct call *c)
{
	return devices(c, c->vmid);
}

static xmlrpc_value *
text_answer(struct call *c, int probe)
{
	struct pp_result	 res;
	xmlrpc_value		*err = NULL;
	sqlite3			*db;
	char			*buf = NULL;
	size_t			 len = 0;
	FILE			*fp;

	if ((db = db_or_fail(c, &err)) == NULL)
		return err;
	if (op_snapshot(db, service_flags(), &res) < 0)
		return fail_res(c, &res);
	if (probe) {
		if ((fp = open_memstream(&buf, &len)) != NULL) {
			format_probe(fp, &res.inv);
			if (fclose(fp) != 0) {
				free(buf);
				buf = NULL;
			}
		}
	} else
		buf = format_info(&res.inv);
	result_free(&res);
	if (buf == NULL)
		return fail(c, PP_ERR_INTERNAL, "out of memory");
	err = ok(c, xmlrpc_string_new(c->env, buf));
	free(buf);
	return err;
}

static xmlrpc_value *
m_info(struct call *c)
{
	return text_answer(c, 0);
}

static xmlrpc_value *
m_probe(struct call *c)
{
	return text_answer(c, 1);
}

static xmlrpc_value *
m_version(struct call *c)
{
	return ok(c, xmlrpc_string_new(c->env, "pcipass " PCIPASS_VERSION));
}

static xmlrpc_value *
m_test(struct call *c)
{
	struct pp_request	 req[PP_MAXREQ];
	struct pp_test		 t;
	struct pp_result	 res;
	xmlrpc_value		*v, *fr, *err = NULL;
	size_t			 n, i;
	char			 msg[512];
	sqlite3			*db;
	int			 vmid = -1;

	xmlrpc_array_read_item(c->env, c->params, 1, &v);
	i = (size_t)decode_requests(c->env, v, req, &n, msg, sizeof(msg));
	xmlrpc_DECREF(v);
	if ((int)i < 0)
		return fail(c, PP_ERR_API, "%s", msg);
	if (xmlrpc_array_size(c->env, c->params) > 2)
		vmid = c->vmid;
	if ((db = db_or_fail(c, &err)) == NULL)
		return err;
	if (op_test(db, vmid, req, n, service_flags(), &t, &res) < 0) {
		err = fail_res(c, &res);
		result_free(&res);
		return err;
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

static xmlrpc_value *
m_allocate(struct call *c)
{
	struct pp_request	 req[PP_MAXREQ];
	struct pp_result	 res;
	xmlrpc_value		*v, *err = NULL;
	size_t			 n;
	char			 msg[512];
	sqlite3			*db;
	int			 rc;

	xmlrpc_array_read_item(c->env, c->params, 2, &v);
	rc = decode_requests(c->env, v, req, &n, msg, sizeof(msg));
	xmlrpc_DECREF(v);
	if (rc < 0)
		return fail(c, PP_ERR_API, "%s", msg);
	if ((db = db_or_fail(c, &err)) == NULL)
		return err;
	if (op_allocate(db, c->vmid, req, n, service_flags(), &res) < 0) {
		log_info("allocate: VM %d refused (%s) for %s@%s", c->vmid,
		    res.msg, c->user, c->peer);
		err = fail_res(c, &res);
	} else {
		log_devices(c, "allocate", &res);
		err = ok(c, encode_list(c, &res.inv, res.idx, res.nidx, -1));
	}
	result_free(&res);
	return err;
}

static xmlrpc_value *
m_attach(struct call *c)
{
	struct pp_request	 req;
	struct pp_result	 res;
	xmlrpc_value		*v, *err = NULL;
	char			 msg[512];
	sqlite3			*db;
	int			 rc;

	xmlrpc_array_read_item(c->env, c->params, 2, &v);
	rc = decode_request(c->env, v, &req, msg, sizeof(msg));
	xmlrpc_DECREF(v);
	if (rc < 0)
		return fail(c, PP_ERR_API, "%s", msg);
	if ((db = db_or_fail(c, &err)) == NULL)
		return err;
	if (op_attach(db, c->vmid, &req, service_flags(), &res) < 0)
		err = fail_res(c, &res);
	else {
		log_devices(c, "attach", &res);
		err = ok(c, encode_device(c->env,
		    &res.inv.dev[res.idx[0]]));
	}
	result_free(&res);
	return err;
}

static xmlrpc_value *
m_detach(struct call *c)
{
	struct pp_result	 res;
	xmlrpc_value		*v, *err = NULL;
	const char		*s;
	char			 buf[PP_ADDR_SYSFS_LEN];
	pp_addr			 a;
	sqlite3			*db;
	int			 rc;

	xmlrpc_array_read_item(c->env, c->params, 2, &v);
	xmlrpc_read_string(c->env, v, &s);
	xmlrpc_DECREF(v);
	rc = addr_parse(s, ADDR_ONE, &a);
	if (rc < 0) {
		err = fail(c, PP_ERR_API, "address \"%.40s\": expected "
		    "DDDD:BB:SS.F or DDDD:BB:SS:F", s);
		free((char *)s);
		return err;
	}
	free((char *)s);
	if ((db = db_or_fail(c, &err)) == NULL)
		return err;
	if (op_detach(db, c->vmid, a, &res) < 0)
		return fail_res(c, &res);
	log_info("detach: VM %d: %s by %s@%s", c->vmid, addr_fmt(a,
	    ADDR_SYSFS, buf, sizeof(buf)), c->user, c->peer);
	return ok(c, xmlrpc_bool_new(c->env, 1));
}

static xmlrpc_value *
m_release(struct call *c)
{
	struct pp_result	 res;
	xmlrpc_value		*err = NULL;
	sqlite3			*db;

	if ((db = db_or_fail(c, &err)) == NULL)
		return err;
	if (op_release(db, c->vmid, &res) < 0)
		return fail_res(c, &res);
	log_info("release: VM %d: %d device(s) by %s@%s", c->vmid, res.count,
	    c->user, c->peer);
	return ok(c, xmlrpc_int_new(c->env, res.count));
}

static xmlrpc_value *
m_monitor(struct call *c)
{
	struct sync_counts	n;

	if (service_rescan(&n) < 0)
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

static xmlrpc_value *
m_reconcile(struct call *c)
{
	struct rc_holding	*view;
	struct rc_plan		 plan;
	struct pp_result	 res;
	xmlrpc_value		*v, *l, *r, *mi, *co, *err = NULL;
	xmlrpc_bool		 apply;
	size_t			 nh;
	char			 msg[512];
	sqlite3			*db;
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
	if ((db = db_or_fail(c, &err)) == NULL) {
		free(view);
		return err;
	}
	rc = op_reconcile(db, view, nh, as_of, apply, service_flags(), &plan,
	    &res);
	free(view);
	if (rc < 0) {
		err = fail_res(c, &res);
		result_free(&res);
		return err;
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
 * Parameters, session, rights and vmid of a call. Returns 1 when the call
 * may run; otherwise 0 with *answer set to the error answer, or NULL
 * with a fault in the environment.
 */
static int
check_call_answer(struct call *c, const struct method *m,
    xmlrpc_value **answer)
{
	xmlrpc_env	*env = c->env;
	xmlrpc_value	*v;
	const char	*sess;
	int		 auth, wait;

	*answer = NULL;
	if (check_params(c, m) < 0)
		return 0;
	peer_of(c->session, c->peer, sizeof(c->peer));
	if ((wait = auth_throttled(c->peer)) > 0) {
		c->auth_failed = 1;
		*answer = fail(c, PP_ERR_AUTHENTICATION, "too many failed "
		    "authentications from %s: try again in %d s", c->peer,
		    wait);
		return 0;
	}
	xmlrpc_array_read_item(env, c->params, 0, &v);
	xmlrpc_read_string(env, v, &sess);
	xmlrpc_DECREF(v);
	if (env->fault_occurred)
		return 0;
	auth = auth_check(sess, c->user, sizeof(c->user));
	free((char *)sess);
	if (auth == AUTH_NONE) {
		c->auth_failed = 1;
		if (!c->uncounted)
			auth_failed(c->peer, m->name);
		*answer = fail(c, PP_ERR_AUTHENTICATION, "authentication "
		    "failed: wrong user or secret in the session string");
		return 0;
	}
	c->rw = auth == AUTH_RW;
	if (m->writes && auth != AUTH_RW) {
		*answer = fail(c, PP_ERR_AUTHORIZATION, "user %s is read-only",
		    c->user);
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
		*answer = fail(c, PP_ERR_API, "vmid %d: expected 0 to "
		    "2147483647", c->vmid);
		return 0;
	}
	return 1;
}

static int
check_call(struct call *c, const struct method *m)
{
	xmlrpc_value	*answer;
	int		 ok = check_call_answer(c, m, &answer);

	if (answer != NULL)
		xmlrpc_DECREF(answer);
	return ok;
}

/*
 * What one HTTP request may cost: system.multicall runs every call it
 * carries on this thread, so a 1 MB body of 3,900 pci.list calls once
 * made the daemon allocate 1.7 GB for a read-only user. At most
 * MAX_CALLS calls per request, of which at most MAX_LISTINGS whole
 * listings (pci.list, pci.info, pci.probe: each the whole inventory);
 * after a failed authentication the rest of the request is refused
 * without another guess. rpc.c starts each request's budget.
 */
#define MAX_CALLS	16
#define MAX_LISTINGS	1

static __thread struct budget {
	int	calls, listings, auth_failed;
} budget;

void
methods_request_begin(void)
{
	memset(&budget, 0, sizeof(budget));
}

static xmlrpc_value *
over_budget(struct call *c, const struct method *m)
{
	int	listing = m->fn == m_list || m->fn == m_info ||
		    m->fn == m_probe;

	if (budget.auth_failed)
		return fail(c, PP_ERR_AUTHENTICATION, "authentication failed "
		    "earlier in this request");
	if (++budget.calls > MAX_CALLS)
		return fail(c, PP_ERR_API, "more than %d calls in one "
		    "request (system.multicall)", MAX_CALLS);
	if (listing && ++budget.listings > MAX_LISTINGS)
		return fail(c, PP_ERR_API, "more than %d listing (pci.list, "
		    "pci.info, pci.probe) in one request", MAX_LISTINGS);
	return NULL;
}

/* Every pci.* call comes through here. */
static xmlrpc_value *
dispatch(xmlrpc_env *env, xmlrpc_value *params, void *info, void *session)
{
	const struct method	*m = info;
	struct call		 c = { .method = m->name, .env = env,
				    .params = params, .session = session };
	xmlrpc_value		*answer;

	if ((answer = over_budget(&c, m)) != NULL)
		return answer;
	if (!check_call_answer(&c, m, &answer)) {
		budget.auth_failed = c.auth_failed;
		return answer;
	}
	return m->fn(&c);
}

static int	check_call(struct call *, const struct method *);

/*
 * The shared-answer path for pci.list, pci.info and pci.probe (answer.c).
 * Returns a reference to the answer to write, or NULL when the call must
 * take the ordinary path (another method, bad parameters, a failed
 * session: the registry then answers with the right fault or error).
 */
struct answer *
methods_cached(const char *body, size_t len, void *session)
{
	static const char	*names[ANSWER_N] = { "pci.list", "pci.info",
				    "pci.probe" };
	xmlrpc_env		 env;
	xmlrpc_value		*params = NULL;
	const char		*name = NULL;
	const struct method	*m = NULL;
	struct answer		*a = NULL;
	struct call		 c;
	sqlite3			*db;
	size_t			 i, j;

	/* Most calls are not these: skip the parse the registry will do. */
	for (i = 0; i < ANSWER_N; i++) {
		char	tag[64];

		snprintf(tag, sizeof(tag), "<methodName>%s</methodName>",
		    names[i]);
		if (memmem(body, len, tag, strlen(tag)) != NULL)
			break;
	}
	if (i == ANSWER_N)
		return NULL;
	xmlrpc_env_init(&env);
	xmlrpc_parse_call(&env, body, len, &name, &params);
	for (i = 0; !env.fault_occurred && i < ANSWER_N; i++)
		if (strcmp(name, names[i]) == 0)
			break;
	for (j = 0; !env.fault_occurred && i < ANSWER_N &&
	    j < sizeof(methods) / sizeof(methods[0]); j++)
		if (strcmp(methods[j].name, name) == 0)
			m = &methods[j];
	if (m != NULL) {
		memset(&c, 0, sizeof(c));
		c.method = m->name;
		c.env = &env;
		c.params = params;
		c.session = session;
		/* A failure here goes on to dispatch(), which counts it. */
		c.uncounted = 1;
		if (check_call(&c, m) == 1 && (db = service_db()) != NULL)
			a = answer_get(db, (int)i, service_flags());
	}
	if (params != NULL)
		xmlrpc_DECREF(params);
	free((char *)name);
	xmlrpc_env_clean(&env);
	return a;
}

int
methods_register(xmlrpc_env *env, xmlrpc_registry *reg)
{
	size_t	i;

	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		struct xmlrpc_method_info3	mi = {
			.methodName = methods[i].name,
			.methodFunction = dispatch,
			.serverInfo = (void *)&methods[i],
			.stackSize = 512 * 1024,
			.signatureString = methods[i].signature,
			.help = methods[i].help,
		};

		xmlrpc_registry_add_method3(env, reg, &mi);
		if (env->fault_occurred)
			return -1;
	}
	return 0;
}
