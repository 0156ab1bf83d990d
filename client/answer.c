/*
 * What the synchronous client and placement share: endpoints, the
 * session-first parameter list, and oned-style answers
 * [ok, value, code] turned into a value or a recorded error.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"

/* "HOST[:PORT]" -> host, port (default 2634). */
int
endpoint_parse(const char *ep, char *host, size_t len, int *port)
{
	const char	*colon = strrchr(ep, ':');
	char		*end;
	long		 p = PCIPASS_DEFAULT_PORT;
	size_t		 n = colon ? (size_t)(colon - ep) : strlen(ep);

	if (colon != NULL) {
		p = strtol(colon + 1, &end, 10);
		if (colon[1] == '\0' || *end != '\0' || p < 1 || p > 65535)
			return err_set(PCIPASS_EINVAL, 0, "endpoint \"%s\": "
			    "expected HOST[:PORT], PORT 1 to 65535", ep);
	}
	if (n == 0 || n >= len || strcspn(ep, "/ @?#") < n)
		return err_set(PCIPASS_EINVAL, 0, "endpoint \"%s\": expected "
		    "HOST[:PORT]", ep);
	memcpy(host, ep, n);
	host[n] = '\0';
	*port = (int)p;
	return 0;
}

/* [session, ...] where fmt describes the rest as xmlrpc_build_value. */
xmlrpc_value *
params_new(xmlrpc_env *env, const char *session, const char *fmt, ...)
{
	xmlrpc_value	*a, *rest = NULL, *v;
	va_list		 ap;
	const char	*tail;
	int		 i, n;

	a = xmlrpc_build_value(env, "(s)", session);
	if (env->fault_occurred || fmt == NULL || *fmt == '\0')
		return a;
	va_start(ap, fmt);
	xmlrpc_build_value_va(env, fmt, ap, &rest, &tail);
	va_end(ap);
	n = env->fault_occurred ? 0 : xmlrpc_array_size(env, rest);
	for (i = 0; i < n; i++) {
		xmlrpc_array_read_item(env, rest, (unsigned)i, &v);
		xmlrpc_array_append_item(env, a, v);
		xmlrpc_DECREF(v);
	}
	if (rest != NULL)
		xmlrpc_DECREF(rest);
	return a;
}

/*
 * resp is the answer of a pci.* method. On success *out is a new
 * reference to VALUE; on failure the server's message and code are
 * this thread's last error.
 */
int
answer_decode(xmlrpc_value **out, xmlrpc_value *resp, const char *method)
{
	xmlrpc_env	 env;
	xmlrpc_value	*v = NULL;
	xmlrpc_bool	 ok = 0;
	const char	*msg = NULL;
	int		 code = 0, rc = 0;

	*out = NULL;
	xmlrpc_env_init(&env);
	if (xmlrpc_value_type(resp) != XMLRPC_TYPE_ARRAY ||
	    xmlrpc_array_size(&env, resp) != 3) {
		xmlrpc_env_clean(&env);
		return err_set(PCIPASS_EFAULT, 0, "%s: the answer is not "
		    "[ok, value, code]", method);
	}
	xmlrpc_decompose_value(&env, resp, "(bVi)", &ok, &v, &code);
	if (env.fault_occurred)
		rc = err_set(PCIPASS_EFAULT, 0, "%s: the answer is not "
		    "[ok, value, code]", method);
	else if (ok)
		*out = v;
	else {
		if (xmlrpc_value_type(v) == XMLRPC_TYPE_STRING)
			xmlrpc_read_string(&env, v, &msg);
		switch (code) {
		case 0x0100: case 0x0200: case 0x0400: case 0x0800:
		case 0x1000: case 0x2000: case 0x4000:
			rc = err_set(-code, code, "%s", msg ? msg : "?");
			break;
		default:
			rc = err_set(PCIPASS_ERROR, code, "%s", msg ? msg : "?");
		}
		free((char *)msg);
		xmlrpc_DECREF(v);
	}
	xmlrpc_env_clean(&env);
	return rc;
}
