/*
 * Device structs from the daemon, kept as (name, text) pairs in the
 * daemon's order, so renderers and callers see every field, ours and
 * OpenNebula's alike.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"

size_t
pcipass_device_list_count(const pcipass_device_list *l)
{
	return l ? l->n : 0;
}

const pcipass_device *
pcipass_device_list_get(const pcipass_device_list *l, size_t i)
{
	return l && i < l->n ? &l->dev[i] : NULL;
}

static void
device_clean(struct pcipass_device *d)
{
	size_t	i;

	for (i = 0; i < d->n; i++) {
		free(d->name[i]);
		free(d->value[i]);
	}
	free(d->name);
	free(d->value);
}

void
pcipass_device_list_free(pcipass_device_list *l)
{
	size_t	i;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++)
		device_clean(&l->dev[i]);
	free(l->dev);
	free(l);
}

const char *
pcipass_device_get(const pcipass_device *d, const char *name)
{
	size_t	i;

	for (i = 0; d && i < d->n; i++)
		if (strcmp(d->name[i], name) == 0)
			return d->value[i];
	return NULL;
}

int
pcipass_device_get_int(const pcipass_device *d, const char *name, int dflt)
{
	const char	*s = pcipass_device_get(d, name);
	char		*end;
	long		 v;

	if (s == NULL || *s == '\0')
		return dflt;
	v = strtol(s, &end, 10);
	if (*end != '\0' || v < INT_MIN || v > INT_MAX)
		return dflt;
	return (int)v;
}

size_t
pcipass_device_field_count(const pcipass_device *d)
{
	return d ? d->n : 0;
}

void
pcipass_device_field(const pcipass_device *d, size_t i, const char **name,
    const char **value)
{
	*name = i < d->n ? d->name[i] : NULL;
	*value = i < d->n ? d->value[i] : NULL;
}

/* One member as text: strings as they are, ints and booleans printed. */
static char *
member_text(xmlrpc_env *env, xmlrpc_value *v)
{
	const char	*s;
	char		*out = NULL;
	xmlrpc_bool	 b;
	int		 i;

	switch (xmlrpc_value_type(v)) {
	case XMLRPC_TYPE_STRING:
		xmlrpc_read_string(env, v, &s);
		return env->fault_occurred ? NULL : (char *)s;
	case XMLRPC_TYPE_INT:
		xmlrpc_read_int(env, v, &i);
		if (asprintf(&out, "%d", i) < 0)
			return NULL;
		return out;
	case XMLRPC_TYPE_BOOL:
		xmlrpc_read_bool(env, v, &b);
		return strdup(b ? "1" : "0");
	default:
		return strdup("");
	}
}

static int
device_decode(struct pcipass_device *d, xmlrpc_env *env, xmlrpc_value *st)
{
	xmlrpc_value	*key, *val;
	const char	*k;
	int		 n, i;

	if (xmlrpc_value_type(st) != XMLRPC_TYPE_STRUCT)
		return err_set(PCIPASS_EFAULT, 0, "a device is not a struct");
	n = xmlrpc_struct_size(env, st);
	if ((d->name = calloc((size_t)n + 1, sizeof(char *))) == NULL ||
	    (d->value = calloc((size_t)n + 1, sizeof(char *))) == NULL)
		return err_nomem();
	for (i = 0; i < n; i++) {
		xmlrpc_struct_read_member(env, st, (unsigned)i, &key, &val);
		if (env->fault_occurred)
			return err_set(PCIPASS_EFAULT, 0, "unreadable device");
		xmlrpc_read_string(env, key, &k);
		d->name[d->n] = (char *)k;
		d->value[d->n] = member_text(env, val);
		xmlrpc_DECREF(key);
		xmlrpc_DECREF(val);
		if (env->fault_occurred || k == NULL ||
		    d->value[d->n] == NULL) {
			d->n += k != NULL;
			return err_set(PCIPASS_EFAULT, 0, "unreadable device");
		}
		d->n++;
	}
	return 0;
}

/* An array of device structs, or (single) one struct, into *out. */
int
devices_decode(pcipass_device_list **out, xmlrpc_env *env, xmlrpc_value *v,
    int single)
{
	pcipass_device_list	*l;
	xmlrpc_value		*item;
	int			 n, i, rc = 0;

	*out = NULL;
	if (!single && xmlrpc_value_type(v) != XMLRPC_TYPE_ARRAY)
		return err_set(PCIPASS_EFAULT, 0, "expected an array of "
		    "devices");
	n = single ? 1 : xmlrpc_array_size(env, v);
	if ((l = calloc(1, sizeof(*l))) == NULL ||
	    (l->dev = calloc((size_t)n + 1, sizeof(*l->dev))) == NULL) {
		free(l);
		return err_nomem();
	}
	for (i = 0; i < n && rc == 0; i++) {
		if (single)
			rc = device_decode(&l->dev[l->n++], env, v);
		else {
			xmlrpc_array_read_item(env, v, (unsigned)i, &item);
			rc = device_decode(&l->dev[l->n++], env, item);
			xmlrpc_DECREF(item);
		}
	}
	if (rc < 0) {
		pcipass_device_list_free(l);
		return rc;
	}
	*out = l;
	return 0;
}
