/*
 * The test runner: every suite in one SRunner, so one summary line counts
 * them all. CK_RUN_SUITE=name runs one suite.
 */
#include <stdlib.h>

#include "pcipassd.h"
#include "harness.h"

static Suite *(*const suites[])(void) = {
	filter_suite,
	scan_suite,
	store_suite,
	match_suite,
	rpc_suite,
	hostile_suite,
	stress_suite,
	flags_suite,
	client_suite,
	place_suite,
	cli_suite,
	guard_suite,
	bind_suite,
	host_suite,
	rules_suite,
	reconcile_suite,
	one_suite,
	vgpu_suite,
	answer_suite,
};

int
main(void)
{
	SRunner	*sr = srunner_create(NULL);
	size_t	 i;
	int	 failed;

	log_init(1, -1);
	for (i = 0; i < sizeof(suites) / sizeof(suites[0]); i++)
		srunner_add_suite(sr, suites[i]());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
