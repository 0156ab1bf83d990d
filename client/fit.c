/*
 * pci.test answers: {FITS, REASON, FREE[]}.
 */
#include <stdlib.h>
#include <string.h>

#include "client.h"

struct pcipass_test_result {
	int	 fits;
	char	*reason;
	size_t	 n;
	int	 free[PP_MAXREQ];
};

/* *out: free with pcipass_test_result_free(). v is not consumed. */
int
test_decode(pcipass_test_result **out, xmlrpc_value *v)
{
	pcipass_test_result	*t;
	xmlrpc_env		 env;
	xmlrpc_value		*fr = NULL, *item;
	xmlrpc_bool		 fits = 0;
	const char		*reason = NULL;
	int			 i, n;

	*out = NULL;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return err_nomem();
	xmlrpc_env_init(&env);
	xmlrpc_decompose_value(&env, v, "{s:b,s:s,s:A,*}", "FITS", &fits,
	    "REASON", &reason, "FREE", &fr);
	n = env.fault_occurred ? 0 : xmlrpc_array_size(&env, fr);
	for (i = 0; i < n && i < PP_MAXREQ && !env.fault_occurred; i++) {
		xmlrpc_array_read_item(&env, fr, (unsigned)i, &item);
		if (!env.fault_occurred) {
			xmlrpc_read_int(&env, item, &t->free[i]);
			xmlrpc_DECREF(item);
		}
	}
	if (fr != NULL)
		xmlrpc_DECREF(fr);
	t->fits = fits;
	t->reason = (char *)reason;
	t->n = (size_t)i;
	if (env.fault_occurred) {
		xmlrpc_env_clean(&env);
		pcipass_test_result_free(t);
		return err_set(PCIPASS_EFAULT, 0, "pci.test: unexpected answer");
	}
	xmlrpc_env_clean(&env);
	*out = t;
	return 0;
}

int
pcipass_test_result_fits(const pcipass_test_result *t)
{
	return t->fits;
}

const char *
pcipass_test_result_reason(const pcipass_test_result *t)
{
	return t->reason ? t->reason : "";
}

size_t
pcipass_test_result_count(const pcipass_test_result *t)
{
	return t->n;
}

int
pcipass_test_result_free_count(const pcipass_test_result *t, size_t i)
{
	return i < t->n ? t->free[i] : 0;
}

void
pcipass_test_result_free(pcipass_test_result *t)
{
	if (t == NULL)
		return;
	free(t->reason);
	free(t);
}
