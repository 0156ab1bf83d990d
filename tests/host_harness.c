/*
 * pcipass-host on fake hosts: a sysfs tree from lspci2sysfs.py, a proc
 * tree next to it, a filter and a database; see harness.h.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

void
env_file(const struct host_env *e, const char *rel, const char *text)
{
	char	path[1200], cmd[1300];

	snprintf(path, sizeof(path), "%s/%s", e->dir, rel);
	snprintf(cmd, sizeof(cmd), "mkdir -p \"$(dirname '%s')\"", path);
	ck_assert_int_eq(system(cmd), 0);
	write_file(path, text);
}

void
host_env(struct host_env *e, const char *sysfs, const char *filter)
{
	char	buf[700];

	memset(e, 0, sizeof(*e));
	snprintf(buf, sizeof(buf), "%s", sysfs);
	snprintf(e->dir, sizeof(e->dir), "%s", dirname(buf));
	snprintf(e->sys, sizeof(e->sys), "%s", sysfs);
	snprintf(e->proc, sizeof(e->proc), "%s/proc", e->dir);
	snprintf(e->filter, sizeof(e->filter), "%s/pci.conf", e->dir);
	snprintf(e->db, sizeof(e->db), "%s/pcipass.db", e->dir);
	env_file(e, "proc/cpuinfo", "processor\t: 0\nvendor_id\t: "
	    "GenuineIntel\ncpu family\t: 6\n");
	env_file(e, "proc/sys/kernel/osrelease", "6.1.0-18-amd64\n");
	env_file(e, "pci.conf", filter);
}

int
host_run(const struct host_env *e, const char *args, char **out, char **err)
{
	const char	*bin = getenv("PCIPASS_HOST");
	char		*cmd, o[800], r[800];
	int		 status;

	snprintf(o, sizeof(o), "%s/host.out", e->dir);
	snprintf(r, sizeof(r), "%s/host.err", e->dir);
	ck_assert_int_gt(asprintf(&cmd, "%s --sysfs-root '%s' --proc-root "
	    "'%s' --filter '%s' --db '%s' %s >'%s' 2>'%s'", bin ? bin :
	    "build/pcipass-host", e->sys, e->proc, e->filter, e->db, args, o,
	    r), 0);
	status = system(cmd);
	free(cmd);
	ck_assert(WIFEXITED(status));
	if (out != NULL)
		*out = read_file(o);
	if (err != NULL)
		*err = read_file(r);
	return WEXITSTATUS(status);
}

char *
sysfs_writes(const char *log)
{
	char		*buf = NULL;
	size_t		 len = 0;
	const char	*p, *nl;
	FILE		*fp = open_memstream(&buf, &len);

	for (p = log; p != NULL && *p; p = nl ? nl + 1 : NULL) {
		nl = strchr(p, '\n');
		if (strncmp(p, "info: ", 6) == 0)	/* pcipassd -d */
			p += 6;
		if (strncmp(p, "sysfs: ", 7) == 0)
			fprintf(fp, "%.*s\n", (int)(nl ? nl - p : (long)strlen(p)),
			    p);
	}
	fclose(fp);
	return buf;
}
