/*
 * libFuzzer harness: oned's view for reconcile (client/view.c, libxml2)
 * on fuzzed XML. A success gives a view whose every host has a NAME; a
 * failure is PCIPASS_EINVAL with a message that names the input "v".
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pcipass.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	pcipass_view		*v = NULL;
	const pcipass_error	*e;
	size_t			 i;
	int			 rc;

	rc = pcipass_view_parse(&v, "v", (const char *)data, size);
	if (rc == 0) {
		if (v == NULL)
			__builtin_trap();
		for (i = 0; i < pcipass_view_host_count(v); i++)
			if (pcipass_view_host(v, i) == NULL ||
			    pcipass_view_host(v, i)[0] == '\0')
				__builtin_trap();
	} else {
		e = pcipass_error_last();
		if (v != NULL || rc != PCIPASS_EINVAL || e->message == NULL ||
		    strncmp(e->message, "v", 1) != 0)
			__builtin_trap();
	}
	pcipass_view_free(v);
	pcipass_error_clear();
	return 0;
}
