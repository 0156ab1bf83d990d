/*
 * libFuzzer harness: what OpenNebula writes for a VM (client/fromxml.c,
 * libxml2), a deployment file or a VM XML, on fuzzed bytes, read from a
 * file as the driver's wrappers give it, with no daemon (an mdev is then
 * an error). A success gives a list that passes the library's own
 * combination check; a failure is PCIPASS_EINVAL naming the file.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pcipass.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char		 path[64];
	pcipass_request_list	*l = NULL;
	const pcipass_error	*e;
	FILE			*f;
	int			 rc;

	if (path[0] == '\0')
		snprintf(path, sizeof(path), "/tmp/fuzz-fromxml.%d",
		    (int)getpid());
	if ((f = fopen(path, "w")) == NULL)
		return 0;
	fwrite(data, 1, size, f);
	fclose(f);
	rc = pcipass_requests_from_xml(&l, path, NULL, NULL, size % 2);
	if (rc == 0) {
		if (l == NULL || (pcipass_request_list_count(l) > 0 &&
		    pcipass_request_list_check(l) != 0))
			__builtin_trap();
	} else {
		e = pcipass_error_last();
		if (l != NULL || rc != PCIPASS_EINVAL || e->message == NULL ||
		    strncmp(e->message, path, strlen(path)) != 0)
			__builtin_trap();
	}
	pcipass_request_list_free(l);
	pcipass_error_clear();
	return 0;
}
