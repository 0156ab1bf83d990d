/*
 * libpcipass: a connection to one daemon over xmlrpc-c's curl client, and
 * one function per pci.* method.
 */
#include <sys/stat.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xmlrpc-c/client.h>

#include "client.h"

static pthread_once_t	once = PTHREAD_ONCE_INIT;

static void
init_once(void)
{
	xmlrpc_env	env;

	/*
	 * xmlrpc-c refuses XML over 512 KiB, in both directions and for
	 * the whole process; a pci.list of a big host is larger.
	 */
	xmlrpc_limit_set(XMLRPC_XML_SIZE_LIMIT_ID, PCIPASS_XML_LIMIT);
	xmlrpc_env_init(&env);
	xmlrpc_client_setup_global_const(&env);
	xmlrpc_env_clean(&env);
}

/* Idempotent and thread-safe; every entry point that talks calls it. */
void
lib_init(void)
{
	pthread_once(&once, init_once);
}

struct pcipass_client {
	char			 endpoint[300];	/* host:port */
	char			 url[320];
	char			*session;
	int			 timeout_ms;
	xmlrpc_client		*xc;		/* made on first call */
	xmlrpc_server_info	*server;
};

int
pcipass_client_new(pcipass_client **out, const char *endpoint,
    const char *session)
{
	pcipass_client	*c;
	char		 host[256];
	int		 port, rc;

	*out = NULL;
	lib_init();
	if ((rc = endpoint_parse(endpoint, host, sizeof(host), &port)) < 0)
		return rc;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return err_nomem();
	snprintf(c->endpoint, sizeof(c->endpoint), "%s:%d", host, port);
	snprintf(c->url, sizeof(c->url), "http://%s:%d/RPC2", host, port);
	c->timeout_ms = 30000;
	if (session != NULL)
		c->session = strdup(session);
	else if ((rc = pcipass_session_load(&c->session)) < 0) {
		free(c);
		return rc;
	}
	if (c->session == NULL) {
		free(c);
		return err_nomem();
	}
	*out = c;
	return 0;
}

static void
drop_transport(pcipass_client *c)
{
	if (c->xc != NULL)
		xmlrpc_client_destroy(c->xc);
	if (c->server != NULL)
		xmlrpc_server_info_free(c->server);
	c->xc = NULL;
	c->server = NULL;
}

void
pcipass_client_set_timeout(pcipass_client *c, int ms)
{
	c->timeout_ms = ms > 0 ? ms : 30000;
	drop_transport(c);
}

const char *
pcipass_client_endpoint(const pcipass_client *c)
{
	return c->endpoint;
}

void
pcipass_client_free(pcipass_client *c)
{
	if (c == NULL)
		return;
	drop_transport(c);
	free(c->session);
	free(c);
}

static int
transport(pcipass_client *c)
{
	struct xmlrpc_curl_xportparms	 cp;
	struct xmlrpc_clientparms	 p;
	xmlrpc_env			 env;
	int				 rc = 0;

	if (c->xc != NULL)
		return 0;
	memset(&cp, 0, sizeof(cp));
	memset(&p, 0, sizeof(p));
	cp.timeout = (unsigned)c->timeout_ms;
	cp.dont_advertise = 1;
	p.transport = "curl";
	p.transportparmsP = &cp;
	p.transportparm_size = XMLRPC_CXPSIZE(dont_advertise);
	xmlrpc_env_init(&env);
	xmlrpc_client_create(&env, XMLRPC_CLIENT_NO_FLAGS, "pcipass", "0.1",
	    &p, XMLRPC_CPSIZE(transportparm_size), &c->xc);
	if (!env.fault_occurred)
		c->server = xmlrpc_server_info_new(&env, c->url);
	if (env.fault_occurred) {
		rc = err_from_env(&env, "client");
		drop_transport(c);
	}
	xmlrpc_env_clean(&env);
	return rc;
}

/*
 * One call; fmt/... are the parameters after the session. On success
 * *out is a new reference to the answer's VALUE.
 */
static int
call(xmlrpc_value **out, pcipass_client *c, const char *method,
    const char *fmt, ...)
{
	xmlrpc_env	 env;
	xmlrpc_value	*params = NULL, *resp = NULL, *rest = NULL, *v;
	va_list		 ap;
	const char	*tail;
	int		 rc, i, n;

	*out = NULL;
	if ((rc = transport(c)) < 0)
		return rc;
	xmlrpc_env_init(&env);
	params = params_new(&env, c->session, NULL);
	if (fmt != NULL && !env.fault_occurred) {
		va_start(ap, fmt);
		xmlrpc_build_value_va(&env, fmt, ap, &rest, &tail);
		va_end(ap);
		n = env.fault_occurred ? 0 : xmlrpc_array_size(&env, rest);
		for (i = 0; i < n; i++) {
			xmlrpc_array_read_item(&env, rest, (unsigned)i, &v);
			xmlrpc_array_append_item(&env, params, v);
			xmlrpc_DECREF(v);
		}
	}
	if (!env.fault_occurred)
		xmlrpc_client_call2(&env, c->xc, c->server, method, params,
		    &resp);
	if (env.fault_occurred && env.fault_code == XMLRPC_NETWORK_ERROR &&
	    env.fault_string != NULL && (strstr(env.fault_string,
	    "Couldn't connect") != NULL || strstr(env.fault_string,
	    "Failed to connect") != NULL))
		/* Ours, not libcurl's: what is wrong and where. */
		rc = err_set(PCIPASS_ECONNECT, env.fault_code, "%s: no pcipassd "
		    "answers at %s (connection refused): is it running, and "
		    "listening there?", method, c->endpoint);
	else if (env.fault_occurred)
		rc = err_from_env(&env, method);
	else
		rc = answer_decode(out, resp, method);
	if (rest != NULL)
		xmlrpc_DECREF(rest);
	if (params != NULL)
		xmlrpc_DECREF(params);
	if (resp != NULL)
		xmlrpc_DECREF(resp);
	xmlrpc_env_clean(&env);
	return rc;
}

static int
devices(pcipass_device_list **out, xmlrpc_value *v, int single)
{
	xmlrpc_env	env;
	int		rc;

	xmlrpc_env_init(&env);
	rc = devices_decode(out, &env, v, single);
	xmlrpc_env_clean(&env);
	xmlrpc_DECREF(v);
	return rc;
}

static int
text(char **out, xmlrpc_value *v, const char *method)
{
	xmlrpc_env	 env;
	const char	*s = NULL;
	int		 rc = 0;

	xmlrpc_env_init(&env);
	xmlrpc_read_string(&env, v, &s);
	if (env.fault_occurred)
		rc = err_set(PCIPASS_EFAULT, 0, "%s: expected a string", method);
	*out = (char *)s;
	xmlrpc_env_clean(&env);
	xmlrpc_DECREF(v);
	return rc;
}

int
pcipass_list(pcipass_device_list **out, pcipass_client *c)
{
	xmlrpc_value	*v;
	int		 rc;

	*out = NULL;
	if ((rc = call(&v, c, "pci.list", NULL)) < 0)
		return rc;
	return devices(out, v, 0);
}

int
pcipass_tree(pcipass_device_list **out, pcipass_client *c)
{
	xmlrpc_value	*v;
	int		 rc;

	*out = NULL;
	if ((rc = call(&v, c, "pci.tree", NULL)) < 0)
		return rc;
	return devices(out, v, 0);
}

int
pcipass_vm(pcipass_device_list **out, pcipass_client *c, int vmid)
{
	xmlrpc_value	*v;
	int		 rc;

	*out = NULL;
	if ((rc = call(&v, c, "pci.vm", "(i)", vmid)) < 0)
		return rc;
	return devices(out, v, 0);
}

static int
text_call(char **out, pcipass_client *c, const char *method)
{
	xmlrpc_value	*v;
	int		 rc;

	*out = NULL;
	if ((rc = call(&v, c, method, NULL)) < 0)
		return rc;
	return text(out, v, method);
}

int
pcipass_info(char **out, pcipass_client *c)
{
	return text_call(out, c, "pci.info");
}

int
pcipass_probe(char **out, pcipass_client *c)
{
	return text_call(out, c, "pci.probe");
}

int
pcipass_version(char **out, pcipass_client *c)
{
	return text_call(out, c, "pci.version");
}

/* pci.allocate or pci.attach (one request, sent as a struct). */
static int
requests_call(pcipass_device_list **out, pcipass_client *c,
    const char *method, int vmid, const pcipass_request_list *reqs,
    int single)
{
	xmlrpc_env	 env;
	xmlrpc_value	*r, *v;
	int		 rc;

	*out = NULL;
	if ((rc = pcipass_request_list_check(reqs)) < 0)
		return rc;
	if (single && pcipass_request_list_count(reqs) != 1)
		return err_set(PCIPASS_EINVAL, 0, "attach takes one request");
	xmlrpc_env_init(&env);
	r = requests_encode(&env, reqs, single);
	xmlrpc_env_clean(&env);
	rc = call(&v, c, method, "(iV)", vmid, r);
	xmlrpc_DECREF(r);
	return rc < 0 ? rc : devices(out, v, single);
}

int
pcipass_allocate(pcipass_device_list **out, pcipass_client *c, int vmid,
    const pcipass_request_list *reqs)
{
	return requests_call(out, c, "pci.allocate", vmid, reqs, 0);
}

int
pcipass_attach(pcipass_device_list **out, pcipass_client *c, int vmid,
    const pcipass_request_list *reqs)
{
	return requests_call(out, c, "pci.attach", vmid, reqs, 1);
}

int
pcipass_release(int *out_count, pcipass_client *c, int vmid)
{
	xmlrpc_env	 env;
	xmlrpc_value	*v;
	int		 rc, n = 0;

	if ((rc = call(&v, c, "pci.release", "(i)", vmid)) < 0)
		return rc;
	xmlrpc_env_init(&env);
	xmlrpc_read_int(&env, v, &n);
	if (env.fault_occurred)
		rc = err_set(PCIPASS_EFAULT, 0, "pci.release: expected an int");
	xmlrpc_env_clean(&env);
	xmlrpc_DECREF(v);
	if (out_count != NULL)
		*out_count = n;
	return rc;
}

int
pcipass_detach(pcipass_client *c, int vmid, const char *address)
{
	xmlrpc_value	*v;
	int		 rc;

	if ((rc = call(&v, c, "pci.detach", "(is)", vmid, address)) < 0)
		return rc;
	xmlrpc_DECREF(v);
	return 0;
}

int
pcipass_monitor(int *added, int *removed, int *changed, pcipass_client *c)
{
	xmlrpc_env	 env;
	xmlrpc_value	*v;
	int		 rc;

	if ((rc = call(&v, c, "pci.monitor", NULL)) < 0)
		return rc;
	xmlrpc_env_init(&env);
	xmlrpc_decompose_value(&env, v, "{s:i,s:i,s:i,*}", "ADDED", added,
	    "REMOVED", removed, "CHANGED", changed);
	if (env.fault_occurred)
		rc = err_set(PCIPASS_EFAULT, 0, "pci.monitor: unexpected "
		    "answer");
	xmlrpc_env_clean(&env);
	xmlrpc_DECREF(v);
	return rc;
}

int
pcipass_test(pcipass_test_result **out, pcipass_client *c,
    const pcipass_request_list *reqs, int vmid)
{
	xmlrpc_env	 env;
	xmlrpc_value	*r, *v;
	int		 rc;

	*out = NULL;
	if ((rc = pcipass_request_list_check(reqs)) < 0)
		return rc;
	xmlrpc_env_init(&env);
	r = requests_encode(&env, reqs, 0);
	xmlrpc_env_clean(&env);
	if (vmid >= 0)
		rc = call(&v, c, "pci.test", "(Vi)", r, vmid);
	else
		rc = call(&v, c, "pci.test", "(V)", r);
	xmlrpc_DECREF(r);
	if (rc < 0)
		return rc;
	rc = test_decode(out, v);
	xmlrpc_DECREF(v);
	return rc;
}
