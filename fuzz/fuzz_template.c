/*
 * libFuzzer harness: the OpenNebula VM template reader of libpcipass
 * (client/template.c) on fuzzed text. A success gives 1 to 32 requests
 * that pass the library's own combination check; a failure is
 * PCIPASS_EINVAL with a "t:LINE: " or "t: " message. The text stops at
 * the first NUL, as a template read from a file does.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pcipass.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	pcipass_request_list	*l = NULL;
	const pcipass_error	*e;
	char			*text = malloc(size + 1);
	int			 rc;

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	rc = pcipass_template_parse(&l, "t", text);
	if (rc == 0) {
		if (l == NULL || pcipass_request_list_count(l) == 0 ||
		    pcipass_request_list_check(l) != 0)
			__builtin_trap();
	} else {
		e = pcipass_error_last();
		if (l != NULL || rc != PCIPASS_EINVAL || e->message == NULL ||
		    strncmp(e->message, "t", 1) != 0)
			__builtin_trap();
	}
	pcipass_request_list_free(l);
	pcipass_error_clear();
	free(text);
	return 0;
}
