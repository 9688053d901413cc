/*
 * suite.c - what the conformance suites' runners share: reading a backend
 * option given on the command line as KEY=VALUE.
 */
#include <string.h>

#include "suite.h"

int mkv_conformance_parse_option(char *arg, struct mkv_option *out)
{
	char *eq = strchr(arg, '=');

	if (!eq || eq == arg)
		return MKV_E_INVAL;
	*eq = '\0';
	out->key = arg;
	out->value = eq + 1;
	return 0;
}
