/*
 * libFuzzer harness: filter_load() on a fuzzed pci.conf, then the
 * compiled filter against a few devices. Every error must be reported
 * (a NULL filter with no report is a bug), and matching must not crash.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pcipassd.h"

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static char	path[64];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_init(1, -1);
	log_to(fopen("/dev/null", "w"));
	snprintf(path, sizeof(path), "/tmp/fuzz-filter.%d.conf", (int)getpid());
	return 0;
}

static void
count(const char *msg, void *arg)
{
	if (msg == NULL || strncmp(msg, path, strlen(path)) != 0)
		__builtin_trap();	/* every message is FILE:LINE: ... */
	(*(int *)arg)++;
}

/* A record's catalog strings are never NULL (device_strings_init()). */
#define STRINGS(name) .device_name = (name), .vendor_name = "", \
	.class_name = "", .driver = "", .profiles = "", .creatable = "", \
	.vgpu = "", .critical = ""

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct pp_device devs[] = {
		{ .addr = PP_ADDR(0, 1, 0, 0), .vendor = 0x10de,
		  .device = 0x1db4, .class = 0x0302,
		  STRINGS("GV100GL [Tesla V100 PCIe 16GB]") },
		{ .addr = PP_ADDR(0, 0x41, 0, 7), .vendor = 0x8086,
		  .device = 0x1572, .class = 0x0200, STRINGS("") },
		{ .addr = PP_ADDR(0xffff, 0xff, 0x1f, 7), .vendor = 0xffff,
		  .device = 0, .class = 0xffff, STRINGS("") },
	};
	struct pp_filter	*f;
	FILE			*fp = fopen(path, "w");
	size_t			 i;
	int			 errors = 0;

	if (fp == NULL)
		return 0;
	fwrite(data, 1, size, fp);
	fclose(fp);
	f = filter_load(path, count, &errors);
	if (f == NULL && errors == 0)
		__builtin_trap();
	for (i = 0; f != NULL && i < sizeof(devs) / sizeof(devs[0]); i++)
		(void)filter_match(f, &devs[i]);
	filter_free(f);
	return 0;
}
