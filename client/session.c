/*
 * The session "user:secret": $PCIPASS_AUTH, else ~/.pcipass/auth, the
 * first line of a file that only its owner may read (as the daemon's
 * auth file). No curl client here: pcipass-probe links this file
 * without it.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"

/* Returns 0 and *out = NULL when path does not exist. */
static int
session_file(char **out, const char *path)
{
	FILE	*f;
	char	*line = NULL;
	size_t	 cap = 0;
	ssize_t	 n;

	struct stat	 st;

	*out = NULL;
	if ((f = fopen(path, "r")) == NULL) {
		if (errno == ENOENT)
			return 0;
		return err_set(PCIPASS_EINVAL, 0, "%s: %s", path,
		    strerror(errno));
	}
	/* The secret is the user's alone, as the daemon's auth file is. */
	if (fstat(fileno(f), &st) == 0 && (st.st_mode & 0077)) {
		fclose(f);
		return err_set(PCIPASS_EINVAL, 0, "%s: mode %04o lets others "
		    "read the secret; chmod 600 it", path,
		    (unsigned)(st.st_mode & 07777));
	}
	n = getline(&line, &cap, f);
	fclose(f);
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r' ||
	    line[n - 1] == ' ' || line[n - 1] == '\t'))
		line[--n] = '\0';
	if (n <= 0 || strchr(line, ':') == NULL) {
		free(line);
		return err_set(PCIPASS_EINVAL, 0, "%s: expected user:secret on "
		    "the first line", path);
	}
	*out = line;
	return 0;
}

int
pcipass_session_load(char **out)
{
	const char	*env = getenv("PCIPASS_AUTH"), *home;
	char		 path[4096];
	int		 rc;

	*out = NULL;
	if (env != NULL && *env != '\0') {
		if ((rc = session_file(out, env)) < 0)
			return rc;
		return *out ? 0 : err_set(PCIPASS_EINVAL, 0, "%s (from "
		    "PCIPASS_AUTH): no such file", env);
	}
	if ((home = getenv("HOME")) == NULL)
		home = "";
	snprintf(path, sizeof(path), "%s/.pcipass/auth", home);
	if ((rc = session_file(out, path)) < 0)
		return rc;
	return *out ? 0 : err_set(PCIPASS_EINVAL, 0, "no session: set "
	    "PCIPASS_AUTH to a file holding user:secret, or create %s", path);
}

