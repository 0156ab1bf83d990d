/*
 * Reconcile across hosts: oned's view (view.c) sent to every host's
 * daemon as pci.reconcile, in parallel, each host with its own part of
 * the view (API.md "Reconcile"). The findings are kept per host in the
 * daemon's order (LEAKED, RECENT, MISSING, CONFLICT, each by address); a
 * host that does not answer, or refuses, is an error of that host alone.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "multi.h"

static const char *const classes[] = { "LEAKED", "RECENT", "MISSING",
    "CONFLICT" };
#define NCLASSES	(sizeof(classes) / sizeof(classes[0]))

struct finding {
	size_t		 host;
	const char	*class;		/* one of classes[] */
	int		 vmid;
	char		*address;
	char		*reason;
};

struct pcipass_reconciliation {
	size_t		 nhost;
	char		**name;		/* the view's NAME */
	char		**endpoint;
	char		**error;	/* NULL: the host answered */
	struct finding	*f;
	size_t		 n, cap;
};

/* The holdings array of one host: [{VMID, ADDRESS: [...]}, ...]. */
static xmlrpc_value *
holdings(xmlrpc_env *env, const struct view_host *h)
{
	xmlrpc_value	*a = xmlrpc_array_new(env), *addrs, *s, *st;
	size_t		 i, k;
	int		 seen;

	for (i = 0; i < h->n && !env->fault_occurred; i++) {
		for (k = seen = 0; k < i; k++)
			seen |= h->pci[k].vmid == h->pci[i].vmid;
		if (seen)
			continue;	/* written with its first device */
		addrs = xmlrpc_array_new(env);
		for (k = i; k < h->n && !env->fault_occurred; k++) {
			if (h->pci[k].vmid != h->pci[i].vmid)
				continue;
			s = xmlrpc_string_new(env, h->pci[k].address);
			xmlrpc_array_append_item(env, addrs, s);
			xmlrpc_DECREF(s);
		}
		st = xmlrpc_build_value(env, "{s:i,s:A}", "VMID",
		    h->pci[i].vmid, "ADDRESS", addrs);
		xmlrpc_DECREF(addrs);
		if (!env->fault_occurred) {
			xmlrpc_array_append_item(env, a, st);
			xmlrpc_DECREF(st);
		}
	}
	return a;
}

static int
add_finding(pcipass_reconciliation *r, size_t host, const char *class,
    xmlrpc_env *env, xmlrpc_value *item)
{
	xmlrpc_value	*v;
	const char	*addr = NULL, *reason = NULL;
	struct finding	*f;
	int		 vmid = -1;

	xmlrpc_struct_find_value(env, item, "VMID", &v);
	if (v != NULL) {
		xmlrpc_read_int(env, v, &vmid);
		xmlrpc_DECREF(v);
	}
	xmlrpc_struct_find_value(env, item, "ADDRESS", &v);
	if (v != NULL) {
		xmlrpc_read_string(env, v, &addr);
		xmlrpc_DECREF(v);
	}
	xmlrpc_struct_find_value(env, item, "REASON", &v);
	if (v != NULL) {
		xmlrpc_read_string(env, v, &reason);
		xmlrpc_DECREF(v);
	}
	if (env->fault_occurred || addr == NULL || reason == NULL) {
		free((char *)addr);
		free((char *)reason);
		return -1;
	}
	if (r->n == r->cap) {
		if ((f = reallocarray(r->f, r->cap ? r->cap * 2 : 16,
		    sizeof(*f))) == NULL) {
			free((char *)addr);
			free((char *)reason);
			return -1;
		}
		r->f = f;
		r->cap = r->cap ? r->cap * 2 : 16;
	}
	f = &r->f[r->n++];
	f->host = host;
	f->class = class;
	f->vmid = vmid;
	f->address = (char *)addr;
	f->reason = (char *)reason;
	return 0;
}

/* One host's answer into r; -1 when it is not the struct API.md says. */
static int
decode(pcipass_reconciliation *r, size_t host, xmlrpc_value *value)
{
	xmlrpc_env	 env;
	xmlrpc_value	*arr, *item;
	size_t		 k;
	int		 i, n, rc = 0;

	xmlrpc_env_init(&env);
	for (k = 0; k < NCLASSES && rc == 0; k++) {
		arr = NULL;
		if (xmlrpc_value_type(value) == XMLRPC_TYPE_STRUCT)
			xmlrpc_struct_find_value(&env, value, classes[k], &arr);
		if (arr == NULL || xmlrpc_value_type(arr) !=
		    XMLRPC_TYPE_ARRAY) {
			if (arr != NULL)
				xmlrpc_DECREF(arr);
			rc = -1;
			break;
		}
		n = xmlrpc_array_size(&env, arr);
		for (i = 0; i < n && rc == 0; i++) {
			item = NULL;
			xmlrpc_array_read_item(&env, arr, (unsigned)i, &item);
			rc = env.fault_occurred ? -1 : add_finding(r, host,
			    classes[k], &env, item);
			if (item != NULL)
				xmlrpc_DECREF(item);
		}
		xmlrpc_DECREF(arr);
	}
	xmlrpc_env_clean(&env);
	return rc;
}

static int
host_error(pcipass_reconciliation *r, size_t i, const char *what)
{
	if ((r->error[i] = strdup(what)) == NULL)
		return err_nomem();
	return 0;
}

static int
run(pcipass_reconciliation *r, const pcipass_view *v, struct job *job,
    const char *session, long long as_of, int apply, int deadline_ms)
{
	struct job	**jobs;
	xmlrpc_env	 env;
	xmlrpc_value	*p, *h;
	size_t		 i;
	int		 rc = 0;

	if ((jobs = calloc(v->nhost ? v->nhost : 1, sizeof(*jobs))) == NULL)
		return err_nomem();
	for (i = 0; i < v->nhost && rc == 0; i++) {
		jobs[i] = &job[i];
		xmlrpc_env_init(&env);
		h = holdings(&env, &v->host[i]);
		p = env.fault_occurred ? NULL : params_new(&env, session,
		    "(Vib)", h, (int)as_of, (xmlrpc_bool)(apply != 0));
		rc = env.fault_occurred ? err_set(PCIPASS_ERROR, 0, "%s",
		    env.fault_string) : job_body(&job[i], "pci.reconcile", p);
		if (p != NULL)
			xmlrpc_DECREF(p);
		xmlrpc_DECREF(h);
		xmlrpc_env_clean(&env);
	}
	if (rc == 0)
		rc = jobs_run(jobs, v->nhost, now_ms() + deadline_ms);
	for (i = 0; i < v->nhost && rc == 0; i++) {
		if (job[i].rc < 0)
			rc = host_error(r, i, job[i].rc == PCIPASS_ETIMEOUT ?
			    "no answer in time" : job[i].error ? job[i].error :
			    "error");
		else if (decode(r, i, job[i].value) < 0)
			rc = host_error(r, i, "the answer is not "
			    "pci.reconcile's struct");
	}
	free(jobs);
	return rc;
}

int
pcipass_reconcile(pcipass_reconciliation **out, const pcipass_view *v,
    const char *const *endpoints, const char *session, long long as_of,
    int apply, int deadline_ms)
{
	pcipass_reconciliation	*r;
	struct job		*job;
	char			*own = NULL, name[256];
	size_t			 i;
	int			 rc = 0, port;

	*out = NULL;
	lib_init();
	if (as_of < 0 || as_of > 2147483647LL)
		return err_set(PCIPASS_EINVAL, 0, "as_of %lld: expected Unix "
		    "seconds, 0 to 2147483647", as_of);
	if (session == NULL && (rc = pcipass_session_load(&own)) < 0)
		return rc;
	r = calloc(1, sizeof(*r));
	job = calloc(v->nhost ? v->nhost : 1, sizeof(*job));
	if (r == NULL || job == NULL || (r->name = calloc(v->nhost + 1,
	    sizeof(char *))) == NULL || (r->endpoint = calloc(v->nhost + 1,
	    sizeof(char *))) == NULL || (r->error = calloc(v->nhost + 1,
	    sizeof(char *))) == NULL) {
		rc = err_nomem();
		goto out;
	}
	r->nhost = v->nhost;
	for (i = 0; i < v->nhost && rc == 0; i++) {
		const char	*ep = endpoints != NULL && endpoints[i] != NULL ?
				    endpoints[i] : v->host[i].name;

		if ((rc = endpoint_parse(ep, name, sizeof(name), &port)) < 0)
			break;
		job_init(&job[i], name, port);
		if ((r->name[i] = strdup(v->host[i].name)) == NULL ||
		    (r->endpoint[i] = strdup(job[i].endpoint)) == NULL)
			rc = err_nomem();
	}
	if (rc == 0)
		rc = run(r, v, job, session ? session : own, as_of, apply,
		    deadline_ms > 0 ? deadline_ms : 30000);
out:
	for (i = 0; job != NULL && i < v->nhost; i++)
		job_reset(&job[i]);
	free(job);
	free(own);
	if (rc < 0) {
		pcipass_reconciliation_free(r);
		return rc;
	}
	*out = r;
	return 0;
}

size_t
pcipass_reconciliation_hosts(const pcipass_reconciliation *r)
{
	return r->nhost;
}

void
pcipass_reconciliation_host(const pcipass_reconciliation *r, size_t i,
    const char **name, const char **endpoint, const char **error)
{
	*name = r->name[i];
	*endpoint = r->endpoint[i];
	*error = r->error[i];
}

size_t
pcipass_reconciliation_count(const pcipass_reconciliation *r)
{
	return r->n;
}

void
pcipass_reconciliation_get(const pcipass_reconciliation *r, size_t i,
    size_t *host, const char **class, int *vmid, const char **address,
    const char **reason)
{
	*host = r->f[i].host;
	*class = r->f[i].class;
	*vmid = r->f[i].vmid;
	*address = r->f[i].address;
	*reason = r->f[i].reason;
}

void
pcipass_reconciliation_free(pcipass_reconciliation *r)
{
	size_t	i;

	if (r == NULL)
		return;
	for (i = 0; i < r->nhost; i++) {
		free(r->name[i]);
		free(r->endpoint[i]);
		free(r->error[i]);
	}
	for (i = 0; i < r->n; i++) {
		free(r->f[i].address);
		free(r->f[i].reason);
	}
	free(r->name);
	free(r->endpoint);
	free(r->error);
	free(r->f);
	free(r);
}
