/*
 * The bind journal: a bind's sysfs writes come before the commit that
 * records the original drivers (bind_origin), so a process killed in
 * between would leave devices on vfio-pci with no record of where they
 * belong. Before its first write for a device, bind.c appends
 * "ADDR DRIVER" (the driver it had) to .NAME.binding beside the database
 * and syncs it; the journal is emptied once the transaction has
 * committed or been rolled back (and undone). At start, a device in the
 * journal that bind_origin does not know was bound by a call that never
 * committed: it goes back to its driver (bind_journal_mend).
 *
 * Each program keeps its own journal (pcipassd .NAME.binding,
 * pcipass-host .NAME.binding-host), so neither clears nor mends the
 * other's binds in flight.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pcipassd.h"

static const char	*suffix = "binding";	/* set once at start */

/* This program's journal: .NAME.SUFFIX. */
void
bind_journal_use(const char *s)
{
	suffix = s;
}

static int
journal_path(sqlite3 *db, char *out, size_t len)
{
	const char	*f = sqlite3_db_filename(db, "main");
	const char	*slash;

	if (f == NULL || f[0] == '\0')
		return -1;
	slash = strrchr(f, '/');
	if (slash == NULL)
		snprintf(out, len, ".%s.%s", f, suffix);
	else
		snprintf(out, len, "%.*s/.%s.%s", (int)(slash - f), f,
		    slash + 1, suffix);
	return 0;
}

/* Note that a is about to leave drv; on disk before this returns. */
int
bind_journal_add(sqlite3 *db, pp_addr a, const char *drv, char *msg,
    size_t len)
{
	char	path[PATH_MAX], line[128], s[PP_ADDR_SYSFS_LEN];
	int	fd, n;

	if (journal_path(db, path, sizeof(path)) < 0)
		return 0;
	n = snprintf(line, sizeof(line), "%s %s\n", addr_fmt(a, ADDR_SYSFS,
	    s, sizeof(s)), drv[0] ? drv : "-");
	if ((fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC |
	    O_NOFOLLOW, 0600)) < 0 || write(fd, line, (size_t)n) != n ||
	    fsync(fd) < 0) {
		snprintf(msg, len, "bind journal %s: %s", path,
		    strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* The transaction is over, committed or undone. */
void
bind_journal_clear(sqlite3 *db)
{
	char	path[PATH_MAX];

	if (journal_path(db, path, sizeof(path)) == 0 && unlink(path) < 0 &&
	    errno != ENOENT)
		log_warn("bind journal %s", path);
}

/*
 * At start: give back the devices of calls that never committed.
 * *count: devices given back. Needs the database's bind_origin.
 */
int
bind_journal_mend(const char *root, sqlite3 *db, int *count)
{
	struct bind_item	 it;
	char			 path[PATH_MAX], line[256], addr[64], drv[64];
	char			 msg[512];
	pp_addr			 a;
	FILE			*f;
	int			 rc = 0;

	*count = 0;
	if (journal_path(db, path, sizeof(path)) < 0 ||
	    (f = fopen(path, "re")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "%63s %63s", addr, drv) != 2 ||
		    addr_parse(addr, ADDR_ONE, &a) < 0) {
			log_warnx("%s: \"%.60s\": not ADDR DRIVER; skipped",
			    path, line);
			continue;
		}
		if (strcmp(drv, "-") == 0)
			drv[0] = '\0';
		else if (!sysfs_name_ok(drv)) {
			log_warnx("%s: %s: \"%.60s\" is not a driver name; "
			    "skipped", path, addr, drv);
			rc = -1;
			continue;
		}
		switch (store_origin_get(db, a, &it)) {
		case 1:		/* its call committed */
			continue;
		case 0:
			break;
		default:
			log_warnx("bind journal: %s: database error", addr);
			rc = -1;
			continue;
		}
		if (bind_restore_one(root, a, drv, msg, sizeof(msg)) < 0) {
			log_warnx("bind journal: %s: %s", addr, msg);
			rc = -1;
			continue;
		}
		log_info("bind journal: %s was bound by a call that never "
		    "committed: given back to %s", addr, drv[0] ? drv :
		    "the kernel's choice");
		(*count)++;
	}
	fclose(f);
	if (rc == 0)
		unlink(path);
	return rc;
}
