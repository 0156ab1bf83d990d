/*
 * Command-line flags as one table that both getopt_long and --help read,
 * shared by pcipassd, pcipass-host and the pcipass CLI: a flag cannot be
 * accepted without being explained, nor explained without being accepted.
 */
#ifndef PCIPASS_FLAGS_H
#define PCIPASS_FLAGS_H

#include <getopt.h>
#include <stdio.h>

struct flag {
	const char	*name;		/* long name; NULL: short only (ch) */
	int		 ch;
	const char	*arg;		/* NULL: takes none */
	const char	*help;		/* what it does, and its default */
};

/* getopt_long's table for flags (out has n + 1 entries). */
static inline void
flags_options(const struct flag *f, size_t n, struct option *out)
{
	size_t	i, k = 0;

	for (i = 0; i < n; i++)
		if (f[i].name != NULL)
			out[k++] = (struct option){ f[i].name, f[i].arg ?
			    required_argument : no_argument, NULL, f[i].ch };
	out[k] = (struct option){ NULL, 0, NULL, 0 };
}

/* One line per flag: "  --name ARG   help". */
static inline void
flags_print(FILE *fp, const struct flag *f, size_t n)
{
	char	left[48];
	size_t	i;

	for (i = 0; i < n; i++) {
		if (f[i].name == NULL)
			snprintf(left, sizeof(left), "-%c", f[i].ch);
		else
			snprintf(left, sizeof(left), "--%s%s%s", f[i].name,
			    f[i].arg ? " " : "", f[i].arg ? f[i].arg : "");
		fprintf(fp, "  %-26s %s\n", left, f[i].help);
	}
}

#endif
