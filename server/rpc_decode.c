/*
 * Decoding and checking RPC parameters into core types. Every problem is
 * a message for the caller that says what was wrong and what is allowed.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "rpc.h"
#include "one_attrs.h"

#define MAX_TEXT	63

static int
bad(char *err, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
bad(char *err, size_t len, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return -1;
}

/* A printable ASCII string of at most max bytes. */
static int
text_ok(const char *s, size_t max)
{
	size_t	i;

	for (i = 0; s[i] != '\0'; i++)
		if (i >= max || !isprint((unsigned char)s[i]))
			return 0;
	return 1;
}

static int
read_string(xmlrpc_env *env, xmlrpc_value *v, const char **out)
{
	if (xmlrpc_value_type(v) != XMLRPC_TYPE_STRING)
		return -1;
	xmlrpc_read_string(env, v, out);
	if (env->fault_occurred) {
		xmlrpc_env_clean(env);
		xmlrpc_env_init(env);
		return -1;
	}
	return 0;
}

struct field {
	const char	*name;
	int		(*set)(struct pp_request *, const char *, int, char *,
			    size_t);
	int		 is_int;
	int		 is_nic;
};

static int
set_hex(int *dst, const char *name, const char *s, char *err, size_t len)
{
	unsigned	v;

	if (hex_parse(s, 4, &v) < 0 || strchr(s, '\n') != NULL)
		return bad(err, len, "%s \"%.40s\": expected 1 to 4 hex digits, "
		    "optionally with 0x", name, s);
	*dst = (int)v;
	return 0;
}

static int
set_vendor(struct pp_request *r, const char *s, int i, char *e, size_t l)
{
	(void)i;
	return set_hex(&r->vendor, "VENDOR", s, e, l);
}

static int
set_device(struct pp_request *r, const char *s, int i, char *e, size_t l)
{
	(void)i;
	return set_hex(&r->device, "DEVICE", s, e, l);
}

static int
set_class(struct pp_request *r, const char *s, int i, char *e, size_t l)
{
	(void)i;
	return set_hex(&r->class, "CLASS", s, e, l);
}

static int
set_short(struct pp_request *r, const char *s, int i, char *e, size_t l)
{
	(void)i;
	if (addr_parse(s, ADDR_SHORT, &r->addr) < 0)
		return bad(e, l, "SHORT_ADDRESS \"%.40s\": expected BB:SS.F or "
		    "DDDD:BB:SS.F",
		    s);
	r->has_addr = 1;
	return 0;
}

static int
set_addr(struct pp_request *r, const char *s, int i, char *e, size_t l)
{
	(void)i;
	if (addr_parse(s, ADDR_ONE, &r->addr) < 0)
		return bad(e, l, "ADDRESS \"%.40s\": expected DDDD:BB:SS.F or "
		    "DDDD:BB:SS:F", s);
	r->has_addr = 1;
	return 0;
}

static int
set_numa(struct pp_request *r, const char *s, int i, char *e, size_t l)
{
	(void)s;
	if (i < 0 || i > 4095)
		return bad(e, l, "NUMA_NODE %d: expected 0 to 4095", i);
	r->numa = i;
	return 0;
}

static int
set_type(struct pp_request *r, const char *s, int i, char *e, size_t l)
{
	(void)i;
	if (strcmp(s, "NIC") != 0)
		return bad(e, l, "TYPE \"%.40s\": only \"NIC\" is known", s);
	r->nic.nic = 1;
	return 0;
}

static int
set_profile(struct pp_request *r, const char *s, int i, char *e, size_t l)
{
	(void)i;
	if (*s == '\0' || !text_ok(s, sizeof(r->profile) - 1))
		return bad(e, l, "PROFILE: 1 to %zu printable ASCII "
		    "characters", sizeof(r->profile) - 1);
	snprintf(r->profile, sizeof(r->profile), "%s", s);
	return 0;
}

#define NIC_SETTER(fn, member, label)					\
static int								\
fn(struct pp_request *r, const char *s, int i, char *e, size_t l)	\
{									\
	(void)i;							\
	if (!text_ok(s, sizeof(r->nic.member) - 1))			\
		return bad(e, l, label ": at most %zu printable ASCII "	\
		    "characters", sizeof(r->nic.member) - 1);		\
	snprintf(r->nic.member, sizeof(r->nic.member), "%s", s);	\
	return 0;							\
}
NIC_SETTER(set_mac, mac, "MAC")
NIC_SETTER(set_ip, ip, "IP")
NIC_SETTER(set_ip6, ip6, "IP6")
NIC_SETTER(set_vlan, vlan_id, "VLAN_ID")
NIC_SETTER(set_network, network, "NETWORK")

static const struct field fields[] = {
	{ "VENDOR",		set_vendor,	0, 0 },
	{ "DEVICE",		set_device,	0, 0 },
	{ "CLASS",		set_class,	0, 0 },
	{ "SHORT_ADDRESS",	set_short,	0, 0 },
	{ "ADDRESS",		set_addr,	0, 0 },
	{ "NUMA_NODE",		set_numa,	1, 0 },
	{ "TYPE",		set_type,	0, 0 },
	{ "MAC",		set_mac,	0, 1 },
	{ "IP",			set_ip,		0, 1 },
	{ "IP6",		set_ip6,	0, 1 },
	{ "VLAN_ID",		set_vlan,	0, 1 },
	{ "NETWORK",		set_network,	0, 1 },
	{ "PROFILE",		set_profile,	0, 0 },
};

static int
member(xmlrpc_env *env, const char *key, xmlrpc_value *v,
    struct pp_request *r, unsigned *seen, char *err, size_t len)
{
	const char	*s = NULL;
	size_t		 i;
	int		 n = 0, rc;

	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (strcmp(key, fields[i].name) == 0)
			break;
	if (i == sizeof(fields) / sizeof(fields[0])) {
		if (one_attr_ignored(key))
			return 0;
		return bad(err, len, "unknown field \"%.40s\"; known: VENDOR, "
		    "DEVICE, CLASS, SHORT_ADDRESS, ADDRESS, NUMA_NODE, TYPE, "
		    "MAC, IP, IP6, VLAN_ID, NETWORK, PROFILE, and the "
		    "OpenNebula PCI attributes pcipass ignores "
		    "(server/one_attrs.h)", key);
	}
	*seen |= 1u << i;
	if (fields[i].is_int) {
		if (xmlrpc_value_type(v) != XMLRPC_TYPE_INT)
			return bad(err, len, "%s must be an int", key);
		xmlrpc_read_int(env, v, &n);
	} else if (read_string(env, v, &s) < 0)
		return bad(err, len, "%s must be a string", key);
	rc = fields[i].set(r, s, n, err, len);
	free((char *)s);
	return rc;
}

static int
seen_field(unsigned seen, const char *name)
{
	size_t	i;

	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (strcmp(fields[i].name, name) == 0)
			return (seen & (1u << i)) != 0;
	return 0;
}

static int
seen_nic(unsigned seen)
{
	size_t	i;

	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (fields[i].is_nic && (seen & (1u << i)))
			return 1;
	return 0;
}

/* The combinations API.md allows. */
static int
check_request(const struct pp_request *r, unsigned seen, char *err,
    size_t len)
{
	int	ids = r->vendor >= 0 || r->device >= 0 || r->class >= 0;
	int	nicf = seen_nic(seen);

	if (seen_field(seen, "SHORT_ADDRESS") && seen_field(seen, "ADDRESS"))
		return bad(err, len, "give SHORT_ADDRESS or ADDRESS, not both");
	if (r->has_addr && ids)
		return bad(err, len, "an address cannot be mixed with VENDOR, "
		    "DEVICE or CLASS");
	if (!r->has_addr && !ids)
		return bad(err, len, "a request needs VENDOR, DEVICE, CLASS, "
		    "SHORT_ADDRESS or ADDRESS");
	if (nicf && !r->nic.nic)
		return bad(err, len, "MAC, IP, IP6, VLAN_ID and NETWORK need "
		    "TYPE = \"NIC\"");
	return 0;
}

/* One request struct. */
int
decode_request(xmlrpc_env *env, xmlrpc_value *v, struct pp_request *r,
    char *err, size_t len)
{
	xmlrpc_value	*key, *val;
	const char	*k;
	unsigned	 seen = 0;
	int		 i, n, rc = 0;

	memset(r, 0, sizeof(*r));
	r->vendor = r->device = r->class = r->numa = -1;
	if (xmlrpc_value_type(v) != XMLRPC_TYPE_STRUCT)
		return bad(err, len, "a request must be a struct");
	n = xmlrpc_struct_size(env, v);
	for (i = 0; rc == 0 && i < n; i++) {
		xmlrpc_struct_read_member(env, v, (unsigned)i, &key, &val);
		if (env->fault_occurred)
			return bad(err, len, "unreadable request");
		xmlrpc_read_string(env, key, &k);
		rc = member(env, k, val, r, &seen, err, len);
		free((char *)k);
		xmlrpc_DECREF(key);
		xmlrpc_DECREF(val);
	}
	return rc < 0 ? -1 : check_request(r, seen, err, len);
}

/* An array of 1 to PP_MAXREQ requests, with no address twice. */
int
decode_requests(xmlrpc_env *env, xmlrpc_value *v, struct pp_request *r,
    size_t *nr, char *err, size_t len)
{
	xmlrpc_value	*item;
	char		 sub[512];
	int		 i, j, n;

	if (xmlrpc_value_type(v) != XMLRPC_TYPE_ARRAY)
		return bad(err, len, "requests must be an array of structs");
	n = xmlrpc_array_size(env, v);
	if (n < 1 || n > PP_MAXREQ)
		return bad(err, len, "%d requests: give 1 to %d", n, PP_MAXREQ);
	for (i = 0; i < n; i++) {
		xmlrpc_array_read_item(env, v, (unsigned)i, &item);
		j = decode_request(env, item, &r[i], sub, sizeof(sub));
		xmlrpc_DECREF(item);
		if (j < 0)
			return bad(err, len, "request %d: %s", i, sub);
		for (j = 0; j < i; j++)
			if (r[i].has_addr && r[j].has_addr &&
			    r[i].addr == r[j].addr)
				return bad(err, len, "requests %d and %d ask "
				    "for the same address", j, i);
	}
	*nr = (size_t)n;
	return 0;
}

static int
addr_order(const void *x, const void *y)
{
	const struct rc_holding	*a = x, *b = y;

	return a->addr < b->addr ? -1 : a->addr > b->addr;
}

/* One {VMID: int, ADDRESS: array of strings} of pci.reconcile. */
static int
decode_holding(xmlrpc_env *env, xmlrpc_value *v, struct rc_holding *h,
    size_t *nh, size_t max, char *err, size_t len)
{
	xmlrpc_value	*key, *val, *addrs = NULL, *item;
	const char	*k, *s;
	int		 i, n, vmid = -1, rc = 0, na;

	if (xmlrpc_value_type(v) != XMLRPC_TYPE_STRUCT)
		return bad(err, len, "a holding must be a struct {VMID, "
		    "ADDRESS}");
	n = xmlrpc_struct_size(env, v);
	for (i = 0; rc == 0 && i < n; i++) {
		xmlrpc_struct_read_member(env, v, (unsigned)i, &key, &val);
		if (env->fault_occurred)
			return bad(err, len, "unreadable holding");
		xmlrpc_read_string(env, key, &k);
		if (strcmp(k, "VMID") == 0) {
			if (xmlrpc_value_type(val) != XMLRPC_TYPE_INT)
				rc = bad(err, len, "VMID must be an int");
			else {
				xmlrpc_read_int(env, val, &vmid);
				if (vmid < 0)
					rc = bad(err, len, "VMID %d: expected "
					    "0 to 2147483647", vmid);
			}
		} else if (strcmp(k, "ADDRESS") == 0) {
			if (xmlrpc_value_type(val) != XMLRPC_TYPE_ARRAY)
				rc = bad(err, len, "ADDRESS must be an array "
				    "of strings");
			else if (addrs == NULL) {
				addrs = val;
				xmlrpc_INCREF(addrs);
			}
		} else
			rc = bad(err, len, "unknown field \"%.40s\"; known: "
			    "VMID, ADDRESS", k);
		free((char *)k);
		xmlrpc_DECREF(key);
		xmlrpc_DECREF(val);
	}
	if (rc == 0 && (vmid < 0 || addrs == NULL))
		rc = bad(err, len, "a holding needs VMID and ADDRESS");
	na = rc == 0 ? xmlrpc_array_size(env, addrs) : 0;
	for (i = 0; rc == 0 && i < na; i++) {
		if (*nh >= max) {
			rc = bad(err, len, "more than %zu addresses", max);
			break;
		}
		xmlrpc_array_read_item(env, addrs, (unsigned)i, &item);
		if (read_string(env, item, &s) < 0)
			rc = bad(err, len, "VM %d: ADDRESS %d is not a string",
			    vmid, i);
		else {
			if (addr_parse(s, ADDR_ONE, &h[*nh].addr) < 0)
				rc = bad(err, len, "VM %d: ADDRESS \"%.40s\": "
				    "expected DDDD:BB:SS.F or DDDD:BB:SS:F",
				    vmid, s);
			h[(*nh)++].vmid = vmid;
			free((char *)s);
		}
		xmlrpc_DECREF(item);
	}
	if (addrs != NULL)
		xmlrpc_DECREF(addrs);
	return rc;
}

/*
 * pci.reconcile's holdings: an array of {VMID, ADDRESS: [...]}, at most
 * max addresses in all, no address twice (a VM given twice holds what
 * both name). *out: free(), ascending by address.
 */
int
decode_holdings(xmlrpc_env *env, xmlrpc_value *v, struct rc_holding **out,
    size_t *nout, size_t max, char *err, size_t len)
{
	struct rc_holding	*h;
	xmlrpc_value		*item;
	char			 sub[512], buf[PP_ADDR_SYSFS_LEN];
	size_t			 nh = 0, k;
	int			 i, n, rc = 0;

	*out = NULL;
	*nout = 0;
	if (xmlrpc_value_type(v) != XMLRPC_TYPE_ARRAY)
		return bad(err, len, "holdings must be an array of structs");
	if ((h = calloc(max ? max : 1, sizeof(*h))) == NULL)
		return bad(err, len, "out of memory");
	n = xmlrpc_array_size(env, v);
	for (i = 0; rc == 0 && i < n; i++) {
		xmlrpc_array_read_item(env, v, (unsigned)i, &item);
		if (decode_holding(env, item, h, &nh, max, sub,
		    sizeof(sub)) < 0)
			rc = bad(err, len, "holding %d: %s", i, sub);
		xmlrpc_DECREF(item);
	}
	qsort(h, nh, sizeof(*h), addr_order);
	for (k = 1; rc == 0 && k < nh; k++)
		if (h[k].addr == h[k - 1].addr)
			rc = bad(err, len, "address %s given twice (VMs %d and "
			    "%d)", addr_fmt(h[k].addr, ADDR_ONE, buf,
			    sizeof(buf)), h[k - 1].vmid, h[k].vmid);
	if (rc < 0) {
		free(h);
		return -1;
	}
	*out = h;
	*nout = nh;
	return 0;
}
