/*
 * The ledger must not vanish silently. A database deleted or truncated
 * under the daemon used to come back empty at the next start, and every
 * VM's holdings were gone without a word. So:
 *
 * - Beside the database DIR/NAME lives the mark DIR/.NAME.ledger, which
 *   `rm NAME*` and a glob of DIR leave alone. It says a ledger is kept here.
 * - A start that finds the mark but no database, an empty one, or one
 *   without the schema refuses, saying how to reset on purpose (remove
 *   the mark). A fresh path with neither starts empty (the state
 *   directory made if missing), and writes the mark; a database from
 *   before the mark is taken as it is, and the mark written.
 * - The daemon remembers which file it opened, and a write finds out when
 *   the path no longer names that file (moved, deleted, replaced): it is
 *   refused (INTERNAL) and logged, never acknowledged into the void.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "pcipassd.h"

static char	opened[PATH_MAX];	/* the database this process opened */
static dev_t	opened_dev;
static ino_t	opened_ino;
static int	warned;

void
store_mark_path(const char *db, char *out, size_t len)
{
	char	d[PATH_MAX], b[PATH_MAX];

	snprintf(d, sizeof(d), "%s", db);
	snprintf(b, sizeof(b), "%s", db);
	snprintf(out, len, "%s/.%s.ledger", dirname(d), basename(b));
}

/* mkdir -p of path's directory, 0700 for what it makes. */
int
store_make_dir(const char *path)
{
	char	tmp[PATH_MAX], d[PATH_MAX], *p;

	snprintf(tmp, sizeof(tmp), "%s", path);
	snprintf(d, sizeof(d), "%s", dirname(tmp));
	for (p = d + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(d, 0700) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return mkdir(d, 0700) < 0 && errno != EEXIST ? -1 : 0;
}

/*
 * Before the database is opened to be made or migrated: 0 to go on, with
 * *marked set when the mark is there; -1, logged, to refuse.
 */
int
store_mark_check(const char *path, int *marked)
{
	char		mark[PATH_MAX];
	struct stat	st;
	int		have_db;

	store_mark_path(path, mark, sizeof(mark));
	*marked = stat(mark, &st) == 0;
	have_db = stat(path, &st) == 0;
	if (*marked && (!have_db || st.st_size == 0)) {
		log_warnx("store: %s: the ledger is gone: %s says one was kept "
		    "here, and the database is %s. Restore it from a backup; "
		    "to start an empty ledger on purpose, remove %s", path,
		    mark, have_db ? "empty" : "missing", mark);
		return -1;
	}
	if (!have_db && store_make_dir(path) < 0) {
		log_warn("store: %s: cannot make its directory", path);
		return -1;
	}
	return 0;
}

/* The mark, on disk before the daemon goes on (file and directory). */
int
store_mark_write(const char *path)
{
	char	mark[PATH_MAX], d[PATH_MAX], text[PATH_MAX + 64];
	int	fd, dfd, n;

	store_mark_path(path, mark, sizeof(mark));
	if ((fd = open(mark, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0600)) < 0)
		return errno == EEXIST ? 0 : (log_warn("store: %s", mark), -1);
	n = snprintf(text, sizeof(text), "pcipass keeps its ledger in %s; "
	    "without it, pcipassd refuses to start empty.\n", path);
	if (write(fd, text, (size_t)n) != n || fsync(fd) < 0) {
		log_warn("store: %s", mark);
		close(fd);
		unlink(mark);
		return -1;
	}
	close(fd);
	snprintf(d, sizeof(d), "%s", mark);
	if ((dfd = open(dirname(d), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		fsync(dfd);
		close(dfd);
	}
	log_info("store: %s: ledger mark %s written", path, mark);
	return 0;
}

/* Remember the file the daemon opened. */
void
store_mark_opened(const char *path)
{
	struct stat	st;

	if (stat(path, &st) < 0)
		return;
	snprintf(opened, sizeof(opened), "%s", path);
	opened_dev = st.st_dev;
	opened_ino = st.st_ino;
	warned = 0;
}

/* Does the path still name the file opened? 0 yes, -1 (logged once) no. */
int
store_mark_same(void)
{
	struct stat	st;

	if (opened[0] == '\0')
		return 0;
	if (stat(opened, &st) == 0 && st.st_dev == opened_dev &&
	    st.st_ino == opened_ino && st.st_size > 0)
		return 0;
	if (!__atomic_exchange_n(&warned, 1, __ATOMIC_ACQ_REL))
		log_warnx("store: %s is no longer the database this daemon "
		    "opened (moved, deleted, truncated or replaced): every "
		    "write is refused; restore it and restart pcipassd",
		    opened);
	return -1;
}
