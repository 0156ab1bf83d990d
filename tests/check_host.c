#include "harness.h"
Suite *
host_suite(void)
{
	return suite_create("host");
}
