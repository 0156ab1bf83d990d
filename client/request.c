/*
 * Requests, checked here as the daemon checks them (server/rpc_decode.c),
 * so a malformed one is refused before anything is sent, with a message
 * that says what is allowed.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "one_attrs.h"

enum kind { K_HEX, K_SHORT, K_ADDR, K_NUMA, K_TYPE, K_NIC, K_TEXT };

static const struct key {
	const char	*name;
	enum kind	 kind;
	size_t		 max;		/* K_NIC: longest value */
} keys[] = {
	{ "VENDOR",		K_HEX,		0 },
	{ "DEVICE",		K_HEX,		0 },
	{ "CLASS",		K_HEX,		0 },
	{ "SHORT_ADDRESS",	K_SHORT,	0 },
	{ "ADDRESS",		K_ADDR,		0 },
	{ "NUMA_NODE",		K_NUMA,		0 },
	{ "TYPE",		K_TYPE,		0 },
	{ "MAC",		K_NIC,		63 },
	{ "IP",			K_NIC,		63 },
	{ "IP6",		K_NIC,		63 },
	{ "VLAN_ID",		K_NIC,		63 },
	{ "NETWORK",		K_NIC,		127 },
	{ "PROFILE",		K_TEXT,		127 },
};
#define NKEYS	(sizeof(keys) / sizeof(keys[0]))

struct request {
	char	*value[NKEYS];		/* NULL: not given */
};

struct pcipass_request_list {
	size_t		 n;
	struct request	 req[PP_MAXREQ];
};

int
pcipass_request_list_new(pcipass_request_list **out)
{
	if ((*out = calloc(1, sizeof(**out))) == NULL)
		return err_nomem();
	return 0;
}

void
pcipass_request_list_free(pcipass_request_list *l)
{
	size_t	i, k;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++)
		for (k = 0; k < NKEYS; k++)
			free(l->req[i].value[k]);
	free(l);
}

size_t
pcipass_request_list_count(const pcipass_request_list *l)
{
	return l ? l->n : 0;
}

int
pcipass_request_add(pcipass_request_list *l)
{
	if (l->n >= PP_MAXREQ)
		return err_set(PCIPASS_EINVAL, 0, "at most %d requests",
		    PP_MAXREQ);
	memset(&l->req[l->n++], 0, sizeof(l->req[0]));
	return 0;
}

static int
xdigits(const char *s, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]))
			return 0;
	return 1;
}

static int
hex_ok(const char *s)
{
	size_t	n;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	n = strlen(s);
	return n >= 1 && n <= 4 && xdigits(s, n);
}

/* BB:SS.F or DDDD:BB:SS.F, or (full) DDDD:BB:SS.F / DDDD:BB:SS:F; a
 * domain has 4 to 8 digits (VMD domains are 10000 and up). */
static int
addr_ok(const char *s, int full)
{
	size_t	dom = strcspn(s, ":");

	if (full || strlen(s) > 7) {
		if (dom < 4 || dom > 8 || !xdigits(s, dom) || s[dom] != ':')
			return 0;
		s += dom + 1;
	}
	if (strlen(s) != 7)
		return 0;
	return xdigits(s, 2) && s[2] == ':' && xdigits(s + 3, 2) &&
	    (s[5] == '.' || (full && s[5] == ':')) && s[6] >= '0' &&
	    s[6] <= '7';
}

static int
value_ok(const struct key *k, const char *v)
{
	char	*end;
	long	 n;
	size_t	 i;

	switch (k->kind) {
	case K_HEX:
		return hex_ok(v) ? 0 : err_set(PCIPASS_EINVAL, 0, "%s \"%s\": "
		    "expected 1 to 4 hex digits, optionally with 0x", k->name,
		    v);
	case K_SHORT:
		return addr_ok(v, 0) ? 0 : err_set(PCIPASS_EINVAL, 0,
		    "SHORT_ADDRESS \"%s\": expected BB:SS.F or DDDD:BB:SS.F",
		    v);
	case K_ADDR:
		return addr_ok(v, 1) ? 0 : err_set(PCIPASS_EINVAL, 0,
		    "ADDRESS \"%s\": expected DDDD:BB:SS.F or DDDD:BB:SS:F",
		    v);
	case K_NUMA:
		n = strtol(v, &end, 10);
		return *v != '\0' && *end == '\0' && n >= 0 && n <= 4095 ?
		    0 : err_set(PCIPASS_EINVAL, 0, "NUMA_NODE \"%s\": expected "
		    "0 to 4095", v);
	case K_TYPE:
		return strcmp(v, "NIC") == 0 ? 0 : err_set(PCIPASS_EINVAL, 0,
		    "TYPE \"%s\": only \"NIC\" is known", v);
	case K_TEXT:
		if (*v == '\0')
			return err_set(PCIPASS_EINVAL, 0, "%s: empty", k->name);
		/* FALLTHROUGH */
	case K_NIC:
		for (i = 0; v[i] != '\0'; i++)
			if (i >= k->max || !isprint((unsigned char)v[i]))
				return err_set(PCIPASS_EINVAL, 0, "%s: at most "
				    "%zu printable ASCII characters", k->name,
				    k->max);
		return 0;
	}
	return 0;
}

int
pcipass_request_set(pcipass_request_list *l, const char *key,
    const char *value)
{
	struct request	*r;
	size_t		 k;
	int		 rc;

	if (l->n == 0)
		return err_set(PCIPASS_EINVAL, 0, "no request to set %s on",
		    key);
	r = &l->req[l->n - 1];
	for (k = 0; k < NKEYS; k++)
		if (strcmp(keys[k].name, key) == 0)
			break;
	/* OpenNebula's own attributes: taken, not sent (the daemon would
	 * ignore them too). */
	if (k == NKEYS && one_attr_ignored(key))
		return 0;
	if (k == NKEYS)
		return err_set(PCIPASS_EINVAL, 0, "unknown field \"%s\"; known: "
		    "VENDOR, DEVICE, CLASS, SHORT_ADDRESS, ADDRESS, NUMA_NODE, "
		    "TYPE, MAC, IP, IP6, VLAN_ID, NETWORK, PROFILE, and the "
		    "OpenNebula PCI attributes pcipass ignores", key);
	if (r->value[k] != NULL)
		return err_set(PCIPASS_EINVAL, 0, "%s given twice", key);
	if ((rc = value_ok(&keys[k], value)) < 0)
		return rc;
	if ((r->value[k] = strdup(value)) == NULL)
		return err_nomem();
	return 0;
}

int
pcipass_request_parse(pcipass_request_list *l, const char *spec)
{
	char	*copy, *item, *save = NULL, *eq;
	int	 rc;

	if ((rc = pcipass_request_add(l)) < 0)
		return rc;
	if ((copy = strdup(spec)) == NULL)
		return err_nomem();
	for (item = strtok_r(copy, ",", &save); item != NULL && rc == 0;
	    item = strtok_r(NULL, ",", &save)) {
		if ((eq = strchr(item, '=')) == NULL || eq == item)
			rc = err_set(PCIPASS_EINVAL, 0, "\"%s\": expected "
			    "KEY=VALUE", item);
		else {
			*eq = '\0';
			rc = pcipass_request_set(l, item, eq + 1);
		}
	}
	free(copy);
	if (rc == 0)
		rc = pcipass_request_list_check(l);
	return rc;
}

static int
has(const struct request *r, const char *name)
{
	size_t	k;

	for (k = 0; k < NKEYS; k++)
		if (strcmp(keys[k].name, name) == 0)
			return r->value[k] != NULL;
	return 0;
}

static int
check_one(const struct request *r, size_t i)
{
	int	ids = has(r, "VENDOR") || has(r, "DEVICE") || has(r, "CLASS");
	int	addr = has(r, "SHORT_ADDRESS") || has(r, "ADDRESS");
	int	nic = has(r, "MAC") || has(r, "IP") || has(r, "IP6") ||
		    has(r, "VLAN_ID") || has(r, "NETWORK");

	if (has(r, "SHORT_ADDRESS") && has(r, "ADDRESS"))
		return err_set(PCIPASS_EINVAL, 0, "request %zu: give "
		    "SHORT_ADDRESS or ADDRESS, not both", i);
	if (addr && ids)
		return err_set(PCIPASS_EINVAL, 0, "request %zu: an address "
		    "cannot be mixed with VENDOR, DEVICE or CLASS", i);
	if (!addr && !ids)
		return err_set(PCIPASS_EINVAL, 0, "request %zu: a request needs "
		    "VENDOR, DEVICE, CLASS, SHORT_ADDRESS or ADDRESS", i);
	if (nic && !has(r, "TYPE"))
		return err_set(PCIPASS_EINVAL, 0, "request %zu: MAC, IP, IP6, "
		    "VLAN_ID and NETWORK need TYPE=NIC", i);
	return 0;
}

int
pcipass_request_list_check(const pcipass_request_list *l)
{
	size_t	i;
	int	rc;

	if (l == NULL || l->n == 0)
		return err_set(PCIPASS_EINVAL, 0, "no request: give at least "
		    "one PCI request");
	for (i = 0; i < l->n; i++)
		if ((rc = check_one(&l->req[i], i)) < 0)
			return rc;
	return 0;
}

static xmlrpc_value *
request_encode(xmlrpc_env *env, const struct request *r)
{
	xmlrpc_value	*st = xmlrpc_struct_new(env), *v;
	size_t		 k;

	for (k = 0; k < NKEYS && !env->fault_occurred; k++) {
		if (r->value[k] == NULL)
			continue;
		v = keys[k].kind == K_NUMA ? xmlrpc_int_new(env,
		    atoi(r->value[k])) : xmlrpc_string_new(env, r->value[k]);
		xmlrpc_struct_set_value(env, st, keys[k].name, v);
		xmlrpc_DECREF(v);
	}
	return st;
}

/* An array of request structs, or (single) the first struct alone. */
xmlrpc_value *
requests_encode(xmlrpc_env *env, const pcipass_request_list *l, int single)
{
	xmlrpc_value	*a, *v;
	size_t		 i;

	if (single)
		return request_encode(env, &l->req[0]);
	a = xmlrpc_array_new(env);
	for (i = 0; i < l->n && !env->fault_occurred; i++) {
		v = request_encode(env, &l->req[i]);
		xmlrpc_array_append_item(env, a, v);
		xmlrpc_DECREF(v);
	}
	return a;
}
